"""Stopping long loops cleanly on Ctrl-C.

``deferred_sigint()`` is a context manager: inside it, Ctrl-C (SIGINT) only raises a flag, read by calling the
function it yields, so a training loop can finish the item in progress, save a consistent checkpoint, and
then raise ``KeyboardInterrupt`` itself. Outside the main thread (where Python cannot install signal handlers)
the flag simply never rises.

    >>> with deferred_sigint() as interrupted:       # doctest: +SKIP
    ...     for batch in batches:
    ...         learn(batch)
    ...         if interrupted():
    ...             save(); raise KeyboardInterrupt
"""
from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def deferred_sigint():
    """Within the block Ctrl-C sets a flag instead of raising; the previous handler is restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield lambda: bool(caught)
    finally:
        signal.signal(signal.SIGINT, previous)
