"""Pausing Python's cyclic garbage collector while a run steps its events.

A run allocates millions of short-lived objects (jobs, scheduled calls, step-log
samples). Each 700 allocations CPython's cyclic collector scans the young
objects, and as the survivors pile up it scans every object of the process: on
the national day 620 collections took about 0.3 s of 2.5 s. The engine makes no
reference cycles (``tests/sim/engine/test_gcpause.py`` runs four national hours
with the collector off and finds no cyclic garbage), so reference counting frees
all of its garbage and the collector has nothing to find. :func:`paused_gc` turns
it off for the run (and ``sim.runner`` for building the scenario and summarising
the run, whose few cycles are collected once it is back on); :func:`collect_young`
(once a simulated day) still collects what a user's policy might leave in cycles,
at the cost of a young-generation pass.

Runs in several threads at once share the process's one collector: it is off
while any of them runs and back on (if it was on) when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collect_young", "paused_gc"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Turn the cyclic garbage collector off inside the block (re-entrant, thread-safe)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def collect_young() -> None:
    """Collect cycles among the objects made since the last collection (generations 0 and 1)."""
    gc.collect(1)
