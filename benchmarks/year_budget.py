"""What a simulated year of the national baseline in a minute needs: its budgets, measured.

``bench_engine.py`` measures the year as the engine runs it (15.1 million batch jobs at the
honest scales, 105,120 flow steps: 7-10 minutes). This script measures what any faster
design must still pay, and how many batch jobs bundling at each pool would leave:

1. **The latency flows alone.** The baseline for ``--flow-days`` simulated days without its
   batch classes, so that its simulation time is the flow steps' (routing, admission, waiting
   laws, request counts, records). Per step, times the year's steps: the flows' part of a
   year, whatever the batch engine, at least: with batch work beside them the policy's shares
   change more often (``spill_west`` reads the clusters' utilisation), and each new
   (routing, admission) law costs a millisecond or two. (Batch bundled out of the way by a
   huge scale instead is no measure: a few giant bundles swing the utilisations, and with
   them the shares, step after step.)
2. **Batch pools, each at a scale of its own.** A batch job is bundled where it arrives,
   before it is routed, so every pool of a server type shares one scale and the smallest
   busy pool sets it (``bench_engine.py``'s scale check). Here each pool gets the largest
   scale of the ladder (climbed until the first that fails) whose bundled pool stays within
   2 % of Erlang C at that pool's own batch servers and loads, the day run's mean and
   busiest hour (``bench_engine.scale_check``), keeping at least one simulated server; and
   the simulated jobs it would hold in a year, its real jobs of the day / its scale x 365.
   Beside it, the same at one scale per server type (the smallest pool's). Bundling after
   routing would simulate that many: batch classes routed per step as shares, as the
   latency flows are, then bundled at each pool.
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
    batch_loads,
    child,
    engine_kind,
    fcfs_recursion,
    in_child,
    scale_check,
)


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
LADDER = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
          1_000_000)  # fmt: skip


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
    import pandas as pd
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

    # 2. batch pools at scales of their own
    base_cpu = int(engine_cfg["job_scale"])
    base_gpu = int(engine_cfg.get("gpu_job_scale", base_cpu))
    day = child(24.0, base_cpu, base_gpu)
    run = Path(day["out"])
    jobs = pd.read_parquet(run / "jobs.parquet", columns=["cluster", "job_scale"]).dropna()
    real = jobs.groupby("cluster", observed=True)["job_scale"].sum()
    print()
    print(
        f"batch pools (the day run at engine.job_scale {base_cpu:,}, gpu {base_gpu:,}: each pool's batch "
        "servers and loads, and its real batch jobs)"
    )
    head = f"  {'pool':>19} {'batch servers':>14} {'rho mean':>9} {'rho peak':>9} {'real jobs/day':>14}"
    print(head + f" {'own scale':>10} {'jobs/year':>12}")
    total = {"cpu": 0.0, "gpu": 0.0}
    smallest: dict[str, int] = {}
    per_type_real = {"cpu": 0.0, "gpu": 0.0}
    for kind in ("cpu", "gpu"):
        for load in batch_loads(run, kind):
            cid, cap, rho_mean, rho_peak = load[0], load[1], load[2], load[3]
            n_real = float(real.get(cid, 0.0))
            s = own_scale(load)
            scale = s if s is not None else 1
            per_type_real[kind] += n_real
            total[kind] += n_real * 365 / scale
            if n_real > 0:
                smallest[kind] = min(smallest.get(kind, scale), scale)
            shown = f"{s:,}" if s is not None else "none"
            print(
                f"  {cid:>19} {cap:>14,.0f} {rho_mean:>9.3f} {rho_peak:>9.3f} {n_real:>14,.0f} {shown:>10} "
                f"{n_real * 365 / scale:>12,.0f}"
            )
    own = total["cpu"] + total["gpu"]
    one = sum(per_type_real[k] * 365 / smallest.get(k, 1) for k in ("cpu", "gpu"))
    print(
        f"  one scale per server type (the smallest pool's: CPU {smallest.get('cpu', 1):,}, GPU "
        f"{smallest.get('gpu', 1):,}): {one:,.0f} batch jobs a year"
    )
    print(f"  a scale per pool: {own:,.0f} batch jobs a year ({one / own:.0f}x fewer)")

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
