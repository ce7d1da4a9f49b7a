"""Giving freed memory back to the system (Qt-free): the C allocator's settings and a trim.

At KION size the app's jobs make and drop arrays of 5-40 MB on worker threads (a load, a
filter change, user histories, a hold-out split, training sequences). glibc's malloc serves
an allocation from the heap of the thread's arena, not from a fresh ``mmap``, once it is
below the "mmap threshold"; that threshold starts at 128 KB and grows to the size of every
mmapped block freed (up to 32 MB), so after a few jobs most of those arrays land in arena
heaps. Freed there, the memory stays with the process (each worker thread may use another
arena, and a heap only shrinks from its top): measured at KION size, 600-800 MB of freed
arrays stayed resident after one beyond-accuracy measurement and a training run.

``configure_allocator`` fixes the threshold at ``MMAP_THRESHOLD`` (blocks of that size or
more are mapped and unmapped on their own: freed, they leave at once), and
``release_free_memory`` asks malloc to hand back what its heaps hold free (``malloc_trim``),
which a worker calls when its job ends. Both do nothing where the C library is not glibc.

A training step makes and drops the same 16-32 MB tensors (logits over the catalog and their
gradients) every step: mapped afresh each time, their pages are faulted in again, which cost
15 % of a step's CPU time at KION size. ``training_allocator`` therefore raises the threshold
to glibc's own ceiling (``TRAINING_MMAP_THRESHOLD``, where its dynamic threshold settles) for
as long as a run trains, and puts it back after.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Iterator
from functools import cache

#: Allocations of this many bytes or more get their own mapping (returned when freed).
MMAP_THRESHOLD = 4 << 20
#: The threshold while a run trains (glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems).
TRAINING_MMAP_THRESHOLD = 32 << 20
_M_MMAP_THRESHOLD = -3  # mallopt parameter numbers (malloc.h)
_state = {"threshold": None, "training": 0}  # the threshold configure_allocator set; runs training now
_lock = threading.Lock()


@cache
def _libc() -> ctypes.CDLL | None:
    """glibc, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")  # CDLL: calls release the GIL
        libc.mallopt  # noqa: B018 - glibc (and musl lacks malloc_trim)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def configure_allocator(mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``mmap_threshold`` bytes (see the module); call once at
    start-up. False where it does not apply (not glibc) or malloc refused."""
    libc = _libc()
    if libc is None:
        return False
    with _lock:
        done = bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)))
        if done:
            _state["threshold"] = int(mmap_threshold)
        return done


@contextlib.contextmanager
def training_allocator() -> Iterator[None]:
    """While the block runs (a training run), the mmap threshold is ``TRAINING_MMAP_THRESHOLD``
    (see the module); after the last of overlapping blocks ends, the one ``configure_allocator``
    set. Nothing changes when ``configure_allocator`` was not called (or does not apply)."""
    libc = _libc()
    with _lock:
        active = libc is not None and _state["threshold"] is not None
        if active:
            _state["training"] += 1
            if _state["training"] == 1:
                libc.mallopt(_M_MMAP_THRESHOLD, TRAINING_MMAP_THRESHOLD)
    try:
        yield
    finally:
        if active:
            with _lock:
                _state["training"] -= 1
                if _state["training"] == 0 and _state["threshold"] is not None:
                    libc.mallopt(_M_MMAP_THRESHOLD, _state["threshold"])


def release_free_memory() -> bool:
    """Return the free memory of malloc's heaps to the system (``malloc_trim(0)``; a few
    milliseconds, without the GIL). True when some was returned; False where it does not apply."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
