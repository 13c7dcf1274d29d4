"""The planner's view of the engine: the backlog it hands the LP.

Independent truth: a job that arrived at 9.5 h with a 24 h deadline is due at the end
of hour 34 (ceil(33.5)); at a window starting at hour 10 it has 23.5 h left, so its
work sits in the window's hour bucket 23 (ceil(23.5) - 1), in real server-hours
(simulated server-seconds x the class's real servers per simulated one / 3600), at
the cluster whose queue holds it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.policies.lp_params import LpParams
from sim.policies.planning import make_planner
from tests.helpers import scenario_of, two_site_config


class _QueuesOnly:
    """An engine view that has nothing but the queued work the planner reads."""

    def __init__(self, work: dict[tuple[int, int, int, int], float]) -> None:
        self.work = work

    def waiting_work(self) -> dict[tuple[int, int, int, int], float]:
        return self.work


def test_the_backlog_is_bucketed_by_the_hours_left_to_each_job_s_deadline() -> None:
    scn = scenario_of(two_site_config(policy="lp"))
    planner = make_planner(scn, LpParams.parse({}), np.random.default_rng(0))
    web, etl = 0, 1
    assert scn.classes[etl].deadline_h == 24
    due = math.ceil(9.5 + 24)  # 34
    late = math.ceil(2.0 + 24)  # 26: arrived at 2 h, 16 h left at hour 10
    overdue = math.ceil(-20.0 + 24)  # 4: past its deadline, due now
    east, west = 0, 1
    view = _QueuesOnly(
        {
            (west, 0, etl, due): 7200.0,
            (east, 1, etl, late): 3600.0,
            (west, 1, etl, overdue): 1800.0,
            (east, 0, web, due): 99.0,
        }
    )
    out = planner._backlog(view, 10, 24)  # type: ignore[arg-type]
    per = scn.classes[etl].slot_servers / 3600.0
    want = np.zeros((2, 2, 2, 24))  # region, class, cluster, hour
    want[0, etl, west, 23] = 7200.0 * per
    want[1, etl, east, 15] = 3600.0 * per
    want[1, etl, west, 0] = 1800.0 * per
    assert out == pytest.approx(want)  # latency work is no backlog: flows are not queued jobs
    short = planner._backlog(view, 10, 12)  # type: ignore[arg-type]
    assert short[0, etl, west, 11] == pytest.approx(7200.0 * per)  # beyond the window: its last hour


def test_the_run_keeps_only_the_executed_hours_of_each_plan() -> None:
    """Hourly replans of 24 h windows: each kept record holds its one executed hour, so a
    year of them stays small (the whole plans are ~2 MB each on the national baseline),
    and plan.parquet has one hour of each solve, every hour once."""
    from tests.helpers import run_in_memory

    doc = two_site_config(policy="lp", horizon_h=6.0)
    doc["policy"]["replan_h"] = 1
    scn, out = run_in_memory(doc)
    executed = out.engine.policy.planner.executed  # type: ignore[attr-defined]
    assert [ex.t0_hour for ex in executed] == list(range(6))
    for ex in executed:
        assert ex.hours == 1 and ex.n_hours == 6 - ex.t0_hour  # the window runs to the horizon
        assert all(v.shape == (scn.topology.n_clusters, 1) for v in ex.hourly.values())
        assert set(ex.rows["hour"].tolist()) <= {ex.t0_hour}
    plan = out.policy.tables["plan.parquet"]
    assert sorted(set(plan.hour)) == list(range(6))
