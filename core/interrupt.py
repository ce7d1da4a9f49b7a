"""Ctrl-C as a request to stop: the first SIGINT sets a flag the training loop polls."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_sigint(on_first: Callable[[], None] | None = None) -> Iterator[threading.Event]:
    """While the block runs, the first Ctrl-C (SIGINT) sets the yielded event instead of raising
    ``KeyboardInterrupt`` and calls ``on_first``; a second Ctrl-C raises ``KeyboardInterrupt``.

    Pass ``event.is_set`` as ``core.train.fit``'s ``should_stop``: training then stops within
    one step and keeps the last completed epoch. Outside the main thread (where Python cannot
    install signal handlers) nothing is installed and the event is never set by a signal.
    The previous handler is restored on exit.
    """
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        if on_first is not None:
            on_first()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)
