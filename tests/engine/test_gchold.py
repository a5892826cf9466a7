"""engine/gchold.py: the collector hold shared by the engine and the server."""
from __future__ import annotations

import gc
import threading

from keras_migrate.engine.gchold import GcHold


def test_gc_hold_nests_across_threads_and_restores_the_collector():

    hold = GcHold()
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other():
        with hold:
            entered.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    entered.wait(5)
    try:
        with hold:
            assert not gc.isenabled()
        assert not gc.isenabled()  # the other holder is still inside
    finally:
        release.set()
        t.join(5)
    assert gc.isenabled()
    try:  # an exception inside gives it back too
        with hold:
            raise ValueError
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()  # a collector the process turned off stays off
    try:
        with hold:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
