"""Engine speed and scale, measured side by side in one run.

1. Cost per job against a bare simpy M/M/c loop (a Resource, a process per
   job, timeouts; no routing, no records) driven by the same arrivals and
   service times. Prints both rates and the ratio (goal: <= 1.5).
2. The national scenario for a simulated week (goal: >= 1 million jobs in
   <= 60 s wall on 2 cores) and for a simulated year with a coarser job
   scale (goal: <= 5 minutes), each in its own process, with its peak RSS
   (memory should stay flat in horizon).

    python benchmarks/bench_engine.py [--jobs N] [--skip-year]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]


def bare_simpy(arrival: np.ndarray, service: np.ndarray, servers: int) -> float:
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=servers)

    def job(s: float) -> Any:
        with res.request() as req:
            yield req
            yield env.timeout(s)

    def source() -> Any:
        arr = arrival.tolist()
        svc = service.tolist()
        for t, s in zip(arr, svc, strict=True):
            yield env.timeout(t - env.now)
            env.process(job(s))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def edwc_engine(arrival: np.ndarray, service: np.ndarray, servers: int) -> float:
    from models.demand.workload import Jobs
    from sim.config_io import validate_config
    from sim.engine.kernel import Engine
    from sim.engine.records import JobSink
    from sim.policies import make_policy
    from sim.scenario import build_scenario

    n = arrival.size
    horizon_h = float(arrival[-1] + 50 * service.mean()) / 3600 + 1
    doc = {
        "name": "bench",
        "horizon_h": horizon_h,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": servers}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {"name": "w", "kind": "batch", "rate_per_h": 1, "service": {"mean_s": 1}, "deadline_h": 1e6}
        ],
    }
    scn = build_scenario(validate_config(doc, "bench"), "bench")
    jobs = Jobs(
        arrival_s=arrival,
        region=np.zeros(n, dtype=np.int32),
        klass=np.zeros(n, dtype=np.int32),
        service_s=service,
        data_gb=np.zeros(n),
    )
    sink = JobSink(scn)
    t0 = time.perf_counter()
    # includes the per-job records and the time-series logs
    Engine(scn, sink, make_policy(scn), jobs=[jobs]).run()
    sink.close()
    return time.perf_counter() - t0


def engine_vs_bare(n_jobs: int) -> None:
    rng = np.random.default_rng(1)
    servers, lam, mean_s = 100, 90 / 60.0, 60.0  # rho = 0.9
    arrival = np.cumsum(rng.exponential(1 / lam, n_jobs))
    service = rng.exponential(mean_s, n_jobs)
    bare = min(bare_simpy(arrival, service, servers) for _ in range(2))
    ours = min(edwc_engine(arrival, service, servers) for _ in range(2))
    print(f"M/M/{servers} at rho=0.9, {n_jobs:,} jobs (best of 2 each)")
    print(f"  bare simpy loop : {n_jobs / bare:10,.0f} jobs/s  ({bare:.2f} s)")
    print(f"  edwc engine     : {n_jobs / ours:10,.0f} jobs/s  ({ours:.2f} s)")
    print(f"  cost ratio edwc / bare = {ours / bare:.2f}   (goal <= 1.5)")


def national(horizon_h: float, scale_factor: int) -> dict[str, Any]:
    """Run inside a child process; print a JSON line."""
    from models.paths import configs_dir
    from sim.config_io import load_config
    from sim.runner import run

    sets = [f"horizon_h={horizon_h}", f"engine.job_scale={2000 * scale_factor}", "engine.max_jobs=1000000000"]
    cfg = load_config(configs_dir() / "baseline.yaml", sets)
    for w in cfg.workloads:
        if w.job_scale is not None:
            w.job_scale *= scale_factor
    out = Path("/tmp") / f"edwc-bench-{int(horizon_h)}h"
    t0 = time.perf_counter()
    res = run(cfg, "baseline", out)
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"jobs": res.summary["jobs_total"], "wall_s": wall, "rss_mb": rss_mb, "scale": 2000 * scale_factor}


def child(horizon_h: float, scale_factor: int) -> dict[str, Any]:
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_engine import national; "
        f"print(json.dumps(national({horizon_h!r}, {scale_factor!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=200_000)
    ap.add_argument("--skip-year", action="store_true")
    args = ap.parse_args()
    engine_vs_bare(args.jobs)
    print()
    print("national baseline (configs/baseline.yaml), each run in its own process")
    print(f"  {'horizon':>8} {'job_scale':>10} {'jobs':>12} {'wall s':>8} {'jobs/s':>9} {'peak RSS MB':>12}")
    cases = [(24.0, 1), (168.0, 1)] + ([] if args.skip_year else [(8760.0, 20)])
    for h, f in cases:
        r = child(h, f)
        print(
            f"  {h:>7.0f}h {r['scale']:>10,} {r['jobs']:>12,} {r['wall_s']:>8.1f} "
            f"{r['jobs'] / r['wall_s']:>9,.0f} {r['rss_mb']:>12,.0f}"
        )
    print("goals: week >= 1,000,000 jobs in <= 60 s; year <= 300 s; RSS flat in horizon")


if __name__ == "__main__":
    main()
