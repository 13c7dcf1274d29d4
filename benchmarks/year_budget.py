"""What a simulated year of the national baseline in a minute needs: its budgets, measured.

``bench_engine.py`` measures the year as the engine runs it. This script measures what any
design must still pay, and how many batch jobs bundling at each pool leaves against one
bundle size per server type:

1. **The latency flows alone.** The baseline for ``--flow-days`` simulated days without its
   batch classes, so that its simulation time is the flow steps' (routing, admission, waiting
   laws, request counts, records). Per step, times the year's steps: the flows' part of a
   year, whatever the batch engine, at least: with batch work beside them the policy's shares
   change more often (``spill_west`` reads the clusters' utilisation), and each new
   (routing, admission) law costs a millisecond or two. (Batch bundled out of the way by a
   huge scale instead is no measure: a few giant bundles swing the utilisations, and with
   them the shares, step after step.)
2. **Batch pools, each at a scale of its own.** With bundling at arrival a batch job is
   bundled before it is routed, so every pool of a server type shares one scale and the
   smallest busy pool sets it (``bench_engine.py``'s one-stream check, climbed pool by pool
   here). With ``engine.bundling: pool`` each pool takes the largest scale its own check
   allows, fed by its own (class) streams (``edwc pool-scales``, on a pooled day);
   the simulated jobs a year: each pool's real jobs of the day / its scale x 365.
3. **Those jobs alone**, queued by the bare simpy loop and by the FCFS recursion of
   ``bench_engine.py`` at the rates measured here.

The runs use the edwc this Python has installed (``bench_engine.py``'s first line says which).

    python benchmarks/year_budget.py [--flow-days 30] [--jobs 100000]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: an installed (compiled) edwc is not shadowed

from benchmarks.bench_engine import (  # noqa: E402
    _mm100,
    bare_loop_rate,
    child,
    engine_kind,
    fcfs_recursion,
    in_child,
)
from benchmarks.scale_check import batch_loads, scale_check  # noqa: E402
from models.demand.bundle_check import LADDER  # noqa: E402
from sim.report.pool_scales import pool_scales, scale_table  # noqa: E402


def flows_alone(horizon_h: float) -> dict[str, Any]:
    """The baseline without its batch classes (in a child process: :func:`flows_child`)."""
    from models.paths import configs_dir
    from sim.config_io import load_config
    from sim.runner import run

    cfg = load_config(configs_dir() / "baseline.yaml", [f"horizon_h={horizon_h}"])
    cfg = cfg.model_copy(update={"workloads": [w for w in cfg.workloads if w.kind == "latency"]})
    res = run(cfg, "baseline", Path("/tmp") / f"edwc-flows-{int(horizon_h)}h", force=True)
    return {"sim_s": res.summary["simulation_s"], "requests": res.summary["requests_total"]}


def flows_child(horizon_h: float) -> dict[str, Any]:
    """:func:`flows_alone` in a process of its own, on the edwc this Python has installed."""
    return in_child("year_budget", "flows_alone", horizon_h)


YEAR_H = 8760.0
GOAL_S = 60.0


def own_scale(load: tuple[str, float, float, float, float, int]) -> int | None:
    """Largest scale of :data:`LADDER`, climbed until the first that fails, whose bundled pool
    is within 2 % of Erlang C at this pool's loads and keeps a simulated server (None: not even
    the first)."""
    best = None
    for s in LADDER:
        if s > load[1]:
            break
        err, _ = scale_check([load], s)
        if err > 0.02:
            break
        best = s
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flow-days", type=int, default=30, help="simulated days of the flows-alone run")
    ap.add_argument("--jobs", type=int, default=100_000, help="jobs of the bare loop and the recursion")
    args = ap.parse_args()
    import yaml

    print(f"engine: {engine_kind()}")
    engine_cfg = yaml.safe_load((ROOT / "configs" / "baseline.yaml").read_text())["engine"]
    step_s = float(engine_cfg["timestep_s"])
    year_steps = math.ceil(YEAR_H * 3600.0 / step_s)

    # 1. the latency flows alone
    hours = 24.0 * args.flow_days
    flows = flows_child(hours)
    steps = math.ceil(hours * 3600.0 / step_s)
    per_step = flows["sim_s"] / steps
    flows_year = per_step * year_steps
    print()
    print(
        f"latency flows alone (configs/baseline.yaml without its batch classes: {flows['requests']:.3g} "
        "requests)"
    )
    print(
        f"  {hours:,.0f} h, {steps:,} steps of {step_s:.0f} s: {flows['sim_s']:.2f} s, "
        f"{1000 * per_step:.3f} ms a step -> {flows_year:,.0f} s for the year's {year_steps:,} steps "
        f"({flows_year / GOAL_S:.1f}x a {GOAL_S:.0f} s year)"
    )

    # 2. batch pools at scales of their own: one scale per server type (bundling at arrival, the
    # smallest busy pool's, by the one-stream check) vs each pool's own (bundling: pool, each
    # pool fed by its own streams)
    base_cpu = int(engine_cfg["job_scale"])
    base_gpu = int(engine_cfg.get("gpu_job_scale", base_cpu))
    pday = child(24.0, base_cpu, base_gpu, ["engine.bundling=pool"])
    checked = pool_scales(Path(pday["out"]))
    print()
    print(
        f"batch pools (a pooled day at engine.job_scale {base_cpu:,}, gpu {base_gpu:,}; the check of "
        "edwc pool-scales)"
    )
    print(scale_table(checked))
    own = sum(365 * p.jobs_per_day for p in checked if p.scale)
    smallest: dict[str, int] = {}
    per_type_real = {"cpu": 0.0, "gpu": 0.0}
    by_pool = {p.load.pool: p.load for p in checked}
    for kind in ("cpu", "gpu"):
        for load in batch_loads(Path(pday["out"]), kind):
            n_real = by_pool[load[0]].real_jobs
            per_type_real[kind] += n_real
            s = own_scale(load)
            if n_real > 0:
                smallest[kind] = min(smallest.get(kind, s or 1), s or 1)
    one = sum(per_type_real[k] * 365 / smallest.get(k, 1) for k in ("cpu", "gpu"))
    print(
        f"  one scale per server type (the smallest busy pool's, one stream: CPU {smallest.get('cpu', 1):,}, "
        f"GPU {smallest.get('gpu', 1):,}): {one:,.0f} batch jobs a year; a scale per pool: {own:,.0f} "
        f"({one / own:.0f}x fewer)"
    )

    # 3. those jobs alone
    bare = bare_loop_rate(args.jobs)
    arrival, service, servers = _mm100(args.jobs)
    recursion = args.jobs / min(fcfs_recursion(arrival, service, servers)[0] for _ in range(2))
    print()
    print(f"bare simpy loop {bare:,.0f} jobs/s, FCFS recursion {recursion:,.0f} jobs/s (M/M/100, rho 0.9)")
    for label, n in (("one scale per server type", one), ("a scale per pool", own)):
        bare_s, recursion_s = n / bare, n / recursion
        print(f"  {label:>26}: {n:>12,.0f} jobs: bare loop {bare_s:7,.1f} s, recursion {recursion_s:5,.2f} s")
    print(
        f"a year in {GOAL_S:.0f} s: the flows alone take {flows_year:,.0f} s at today's cost per step (more "
        f"where batch work moves the shares); the batch jobs at a scale per pool, {own / bare:,.0f} s even "
        "in the bare simpy loop"
    )


if __name__ == "__main__":
    main()
