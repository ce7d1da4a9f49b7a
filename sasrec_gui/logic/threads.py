"""How many CPU threads torch uses on which thread of the app (Qt-free).

torch's intra-op thread count is per thread (OpenMP): a thread started later inherits the
value its creator set last. The interface thread computes single recommendations, similar
items and attention maps: one small forward pass each, which on a busy two-core machine took
half a second with two OpenMP threads fighting for the cores and one millisecond with one.
So the interface thread (and, by inheritance, every worker) uses one thread; a background job
that does heavy work raises its own count (``worker_threads``; training: ``training_job``).
"""
from __future__ import annotations

import os

import torch


def use_interface_threads() -> int:
    """Make the calling (interface) thread, and threads it starts later, use one torch thread; returns 1."""
    torch.set_num_threads(1)
    return 1


def worker_threads() -> int:
    """Threads for a background job's torch work: all cores but one, which stays free for the interface."""
    return max(1, (os.cpu_count() or 2) - 1)


def use_worker_threads() -> int:
    """Give the calling background thread ``worker_threads()`` torch threads; returns that number."""
    n = worker_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
