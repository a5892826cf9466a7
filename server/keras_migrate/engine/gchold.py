"""Python's cyclic garbage collector held off while an analysis runs.

An analysis allocates ~20 objects per line of source (the ``ast`` tree, the walk's buckets and
parent map, findings), almost all freed by reference counting.  Each allocation still counts
towards a collection, and a full collection walks every object alive in the process: in a
language server with open documents, or a benchmark holding earlier trees, ``ast.parse`` of an
18,000-line file triggered collections costing more than the parse itself, and the cost per
line grew with the file (the collections it triggers grow with it too).  Holding the collector
off for the analysis makes its cost linear; the collector runs at the next allocation after.
"""
from __future__ import annotations

import gc
import threading


class GcHold:
    """Keeps Python's cyclic collector off while at least one holder is inside (re-entrant
    across coroutines and threads); the collector's state before the first holder is restored
    after the last one leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = True

    def __enter__(self) -> "GcHold":
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._was_enabled:
                gc.enable()


GC_HOLD = GcHold()  # the one the engine and the server share, so holds nest
