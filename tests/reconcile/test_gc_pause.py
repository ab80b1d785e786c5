"""The GC pause the engine and the exception store take around their bulk object work."""

from __future__ import annotations

import gc
import threading

from reconcile.engine.build import gc_paused


def test_pauses_in_two_threads_end_with_the_last() -> None:
    """Two runs at once (the scheduler runs jobs on threads): the GC stays off until both
    pauses ended, and comes back on after the last, whichever ends first."""
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=other)
    with gc_paused():
        worker.start()
        assert entered.wait(10)
    assert not gc.isenabled()  # this thread's pause ended; the other's still holds
    release.set()
    worker.join(10)
    assert gc.isenabled()


def test_a_pause_leaves_the_gc_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
