"""How many CPU threads torch uses on which thread of the app, and keeping the garbage
collector off the start-up objects (Qt-free).

torch's intra-op thread count is per thread (OpenMP): a thread started later inherits the
value its creator set last. The interface thread computes single recommendations, similar
items and attention maps: one small forward pass each, which on a busy two-core machine took
half a second with two OpenMP threads fighting for the cores and one millisecond with one.
So the interface thread (and, by inheritance, every worker) uses one thread; a background job
that does heavy work raises its own count (``worker_threads``; training: ``training_job``).
"""
from __future__ import annotations

import gc
import os
import sys
import threading

import torch


def use_interface_threads() -> int:
    """Make the calling (interface) thread, and threads it starts later, use one torch thread; returns 1."""
    torch.set_num_threads(1)
    return 1


#: How far below the interface thread a worker thread is scheduled (a Linux nice value, 0-19).
WORKER_NICENESS = 5


def lower_worker_priority(niceness: int = WORKER_NICENESS) -> int | None:
    """Schedule the calling (worker) thread ``niceness`` steps below the process (Linux, where a
    thread has a nice value of its own); returns the thread's new nice value, None elsewhere
    or when the system refuses.

    On two cores a chart drawn on one worker and a measurement on another take both CPUs; the
    interface thread, woken by a timer or a paint, then waited for a core as well as for the
    GIL. A nicer worker gives way to it at once and loses nothing while the interface is idle.
    Threads the worker starts (torch's OpenMP team) inherit the value.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        tid = threading.get_native_id()
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + niceness)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (OSError, AttributeError):
        return None


def setup_worker_thread() -> int:
    """What every worker thread does first (``services.workers.set_thread_setup``): a lower
    scheduling priority than the interface (``lower_worker_priority``) and ``worker_threads()``
    torch threads; returns the torch thread count."""
    lower_worker_priority()
    return use_worker_threads()


def worker_threads() -> int:
    """Threads for a background job's torch work: all cores but one, which stays free for the interface."""
    return max(1, (os.cpu_count() or 2) - 1)


def use_worker_threads() -> int:
    """Give the calling background thread ``worker_threads()`` torch threads; returns that number."""
    n = worker_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


#: How long (seconds) a thread may hold the GIL while another waits for it (Python's default: 5 ms).
GIL_SWITCH_INTERVAL_S = 0.0005


def favour_interface_thread(interval_s: float = GIL_SWITCH_INTERVAL_S) -> float:
    """Shorten Python's GIL switch interval (``sys.setswitchinterval``) so the interface thread
    gets the GIL back soon while a worker runs Python code (a chart drawn with matplotlib, a
    pandas step); returns the previous interval.

    Qt calls into Python many times per repaint (every table cell's ``data``, every event
    filter, every timer), and each call must take the GIL from the busy worker: up to one
    switch interval each. At the default 5 ms a repaint of a table beside a worker drawing a
    chart took 100-300 ms; at 0.5 ms it stays under 100 ms (``benchmarks/ui_stalls.py``).
    Workers lose a little throughput to the extra switches only while the interface also wants
    the GIL; torch releases the GIL in its kernels, so training steps are unaffected.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    return previous


_freezing = {"enabled": False}


def enable_freezing(enabled: bool = True) -> None:
    """Let ``freeze_long_lived`` work: the app's entry point does (``sasrec-gui``), tests do not
    (a test process makes and drops many windows, whose cycles must stay collectable)."""
    _freezing["enabled"] = enabled


def freezing_enabled() -> bool:
    """Whether ``enable_freezing`` was called (the app's entry point, the UI benchmark)."""
    return _freezing["enabled"]


def freeze_long_lived() -> int:
    """Put every object alive now out of the cyclic garbage collector's reach (``gc.freeze``);
    returns how many are frozen.

    After start-up the process holds ~280k long-lived objects (the modules, classes and
    functions of torch, pandas, matplotlib and Qt); a full collection walks them all, about
    150 ms with the GIL held: a freeze of the interface at random moments. Frozen objects are
    still freed by reference counting; only cycles among them would stay (start-up objects do
    not become garbage). Called once the window is built and again after the torch warm-up.
    """
    if _freezing["enabled"]:
        gc.freeze()
    return gc.get_freeze_count()
