"""The cyclic garbage collector is paused while a run steps its events, and the run leaves no
cyclic garbage for it to find (so pausing it frees no less memory)."""

from __future__ import annotations

import gc
import math
import threading

import pytest

from models.paths import configs_dir
from sim.config_io import load_config
from sim.engine.flowrecords import FlowSink
from sim.engine.gcpause import paused_gc
from sim.engine.kernel import Engine
from sim.engine.records import JobSink
from sim.policies import make_policy
from sim.scenario import build_scenario


@pytest.fixture
def gc_on() -> object:
    was = gc.isenabled()
    gc.enable()
    yield None
    if not was:
        gc.disable()


def test_paused_inside_restored_after_even_on_error(gc_on: object) -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # re-entrant
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("a failing run")
    assert gc.isenabled()


def test_left_off_if_it_was_off(gc_on: object) -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_runs_in_threads_turn_it_back_on_once_the_last_ends(gc_on: object) -> None:
    a_in, b_in, a_go, b_go = (threading.Event() for _ in range(4))
    seen: list[bool] = []

    def run(entered: threading.Event, go: threading.Event) -> None:
        with paused_gc():
            entered.set()
            go.wait(5)
        seen.append(gc.isenabled())

    ta = threading.Thread(target=run, args=(a_in, a_go))
    tb = threading.Thread(target=run, args=(b_in, b_go))
    ta.start()
    a_in.wait(5)
    tb.start()
    b_in.wait(5)
    a_go.set()  # the first run ends while the second still steps
    ta.join(5)
    assert seen == [False] and not gc.isenabled()
    b_go.set()
    tb.join(5)
    assert seen == [False, True] and gc.isenabled()


def test_a_national_run_makes_no_reference_cycles(gc_on: object) -> None:
    """Four hours of the national baseline (every engine path of the day: routing, transfers,
    priority preemption, flows, records) with the collector off: afterwards it finds nothing."""
    cfg = load_config(configs_dir() / "baseline.yaml", ["horizon_h=4"])
    scn = build_scenario(cfg, "baseline.yaml")
    steps = math.ceil(scn.horizon_s / scn.config.engine.timestep_s)
    engine = Engine(scn, JobSink(scn, None), make_policy(scn), flow_sink=FlowSink(scn, steps, None))
    gc.collect()
    gc.disable()
    try:
        engine.run()
        assert not gc.isenabled()  # the run leaves it as it found it
        found = gc.collect()
    finally:
        gc.enable()
    assert engine._next_id > 1000  # the run did simulate jobs
    assert found == 0
