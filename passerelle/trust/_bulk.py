"""Loading a large list without the cyclic garbage collector walking it as it grows.

Parsing a 100,000-record registry allocates about a million objects (the JSON tree,
then the records and their index). Each time allocations outrun frees by a threshold,
CPython's collector runs, and every few runs it traverses the whole heap, the growing
document included: a third of parsing the records went there, a tenth to a fifth of
the whole load (bench/_inprocess.py, ``registry_curve``). What a load builds is kept,
not garbage, so there is nothing for the collector to find until the load ends; it is
paused meanwhile and runs again on its own schedule afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_paused = 0
"""Loads under way in any thread; the collector is paused while there is one."""
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block, in any number of threads at once; it
    is enabled again when the last block ends, if it was enabled when the first began."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
