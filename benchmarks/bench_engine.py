"""Engine speed and scale, measured side by side in one run.

1. Cost per job against a bare simpy M/M/c loop (a Resource, a process per
   job, timeouts; no routing, no records) driven by the same arrivals and
   service times. Prints both rates and the ratio (goal: <= 1.5). Beside them,
   the FCFS recursion (each job takes the server that frees first; no events,
   no simpy): what queueing alone costs outside an event loop, and its mean wait
   beside the engine's (equal: the same queue).
2. The national baseline (configs/baseline.yaml) for a simulated day at its own
   batch ``engine.job_scale`` (goal: simulation <= 2 s on 2 cores; the median of
   five runs, each printed) and
   for a simulated year (goal: <= 60 s), each in its own process, with its peak RSS.
   The year (``--year-bundling pool``, the default) bundles batch work at each pool
   (``engine.bundling: pool``), each pool at the largest scale its own check allows
   (``edwc pool-scales`` on a pooled day: its batch servers, loads and streams; the
   table is printed); ``--year-bundling arrival`` bundles it where it arrives, at the
   one scale per server type chosen by the check below (or ``--year-scale``).
   Latency classes are request flows and do not depend on the scale. Beside
   the year, its floor: the time the bare loop of (1) would take to queue the
   year's batch jobs and nothing else, at its rate measured before and after the
   year (the mean; the machine's speed may drift over the year's minutes). The
   day is also given in bare-loop jobs (its time x the bare loop's rate), which
   the drift leaves alone. Last, the time the FCFS recursion of (1) would take to
   queue the year's batch jobs: the bound of a batch engine without an event loop.
3. The scale check: bundling S real batch jobs into one simulated job on
   ``servers / S`` simulated servers keeps the real pool's queueing only if the
   bundles keep its variability (models/demand/bundles.py: every S-th real
   arrival, the mean of S service times). For every cluster, at the servers
   latency work leaves to batch and at the batch load of the day run (its
   mean, and its busiest hour), the mean batch response time (wait + service)
   of the bundled pool (simulated here, FCFS, exponential real service times,
   about 100k bundles) is compared with Erlang C for the real pool; beside it,
   the error Poisson bundles (an M/M/(n/S) pool) would have. The year uses the
   largest S (of a ladder) whose error stays within 2 % everywhere.
   Cluster-hours where batch work is saturated (rho >= 0.98, queueing by
   backlog, not by Erlang C) are counted apart. Server types: the CPU pools
   are checked for ``engine.job_scale``, the GPU pools (``<site>_gpu``) for
   ``engine.gpu_job_scale``, each with its own ladder.

The runs use the edwc this Python has installed, and the first line says which engine
that is: compiled with mypyc (a wheel, ``pip install .``: ``hatch_build.py``) or
interpreted (an editable install, or ``EDWC_PURE_PYTHON=1``).

    python benchmarks/bench_engine.py [--jobs N] [--skip-year] [--year-bundling pool|arrival]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: an installed (compiled) edwc is not shadowed

from benchmarks.scale_check import batch_loads, scale_check  # noqa: E402

DAY_RUNS = 5  # the national day's runs; the median is reported


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


def fcfs_recursion(arrival: np.ndarray, service: np.ndarray, servers: int) -> tuple[float, float]:
    """FCFS on ``servers`` servers without events: each job, in arrival order, takes the
    server that frees first (a heap of the servers' free times; Kiefer and Wolfowitz).

    Queueing with nothing else, outside simpy: what a batch engine without an event loop
    could cost at least, in interpreted Python. Returns (seconds, mean wait).
    """
    import heapq

    arr, svc = arrival.tolist(), service.tolist()
    t0 = time.perf_counter()
    free = [0.0] * servers  # a valid heap
    wait = 0.0
    for a, s in zip(arr, svc, strict=True):
        f = free[0]
        start = a if a > f else f
        wait += start - a
        heapq.heapreplace(free, start + s)
    return time.perf_counter() - t0, wait / len(arr)


def edwc_engine(arrival: np.ndarray, service: np.ndarray, servers: int) -> tuple[float, float]:
    """The edwc engine on these jobs (one region, one cluster, no network): (seconds, mean wait)."""
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
    elapsed = time.perf_counter() - t0
    st = sink.stats[0]
    return elapsed, st.wait_sum_s / st.completed


def engine_kind() -> str:
    """Which engine this Python imports: compiled by the wheel's build hook, or interpreted."""
    import sim.engine.kernel

    where = Path(sim.engine.kernel.__file__ or "")
    if where.suffix == ".py":
        return f"interpreted ({where.parent}; an editable or EDWC_PURE_PYTHON install)"
    return f"compiled with mypyc (hatch_build.py; {where.parent})"


def _mm100(n_jobs: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The bench's M/M/100 jobs at rho = 0.9: arrival times, service times, servers."""
    rng = np.random.default_rng(1)
    servers, lam, mean_s = 100, 90 / 60.0, 60.0
    return np.cumsum(rng.exponential(1 / lam, n_jobs)), rng.exponential(mean_s, n_jobs), servers


def bare_loop_rate(n_jobs: int) -> float:
    """The bare simpy loop's jobs per second on the bench's M/M/100 jobs (best of 2)."""
    arrival, service, servers = _mm100(n_jobs)
    return n_jobs / min(bare_simpy(arrival, service, servers) for _ in range(2))


def engine_vs_bare(n_jobs: int) -> tuple[float, float]:
    """Print the rates and their ratios; return the jobs per second of the bare loop and of the
    FCFS recursion."""
    arrival, service, servers = _mm100(n_jobs)
    bare = n_jobs / bare_loop_rate(n_jobs)
    ours, wait_ours = min(edwc_engine(arrival, service, servers) for _ in range(2))
    rec, wait_rec = min(fcfs_recursion(arrival, service, servers) for _ in range(2))
    print(f"M/M/{servers} at rho=0.9, {n_jobs:,} jobs (best of 2 each)")
    print(f"  bare simpy loop : {n_jobs / bare:10,.0f} jobs/s  ({bare:.2f} s)")
    print(f"  edwc engine     : {n_jobs / ours:10,.0f} jobs/s  ({ours:.2f} s)")
    print(f"  cost ratio edwc / bare = {ours / bare:.2f}   (goal <= 1.5)")
    print(
        f"  FCFS recursion  : {n_jobs / rec:10,.0f} jobs/s  ({rec:.2f} s; no events, no simpy: "
        f"{bare / rec:.0f}x the bare loop)"
    )
    print(f"  mean wait: edwc engine {wait_ours:.6f} s, FCFS recursion {wait_rec:.6f} s (the same queue)")
    return n_jobs / bare, n_jobs / rec


def national(
    horizon_h: float, job_scale: int, gpu_scale: int, extra: list[str] | None = None
) -> dict[str, Any]:
    """Run inside a child process; print a JSON line. ``extra``: more ``key=value`` settings."""
    from models.paths import configs_dir
    from sim.config_io import load_config
    from sim.runner import run

    sets = [
        f"horizon_h={horizon_h}",
        f"engine.job_scale={job_scale}",
        f"engine.gpu_job_scale={gpu_scale}",
        "engine.max_jobs=1000000000",
        *(extra or []),
    ]
    cfg = load_config(configs_dir() / "baseline.yaml", sets)
    out = Path("/tmp") / f"edwc-bench-{int(horizon_h)}h{'-pool' if extra else ''}"
    t0 = time.perf_counter()
    res = run(cfg, "baseline", out, force=True)
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = res.summary
    return {
        "jobs": s["jobs_total"],
        "requests": s.get("requests_total", 0),
        "sim_s": s.get("simulation_s", wall),
        "wall_s": wall,
        "rss_mb": rss_mb,
        "scale": job_scale,
        "gpu_scale": gpu_scale,
        # simulated jobs of the GPU classes (they bundle engine.gpu_job_scale real ones)
        "gpu_jobs": sum(_jobs(s["classes"][w.name]) for w in cfg.workloads if w.server_type == "gpu"),
        "out": str(out),
        "engine": engine_kind(),
    }


def _jobs(cls: Mapping[str, Any]) -> int:
    """Simulated jobs of a batch class summary (0 for a latency class)."""
    return int(cls.get("jobs", 0))


def child(horizon_h: float, job_scale: int, gpu_scale: int, extra: list[str] | None = None) -> dict[str, Any]:
    """:func:`national` in a process of its own."""
    return in_child("bench_engine", "national", horizon_h, job_scale, gpu_scale, extra)


def in_child(module: str, func: str, *args: Any) -> dict[str, Any]:
    """``benchmarks.<module>.<func>(*args)`` in a process of its own, on the edwc this Python has
    installed; the function returns a JSON-able dict, printed as the child's last line."""
    # ROOT last: the run imports the installed edwc (compiled or not), the bench code from ROOT
    call = ", ".join(repr(a) for a in args)
    code = (
        f"import json, sys; sys.path.append({str(ROOT)!r}); from benchmarks.{module} import {func}; "
        f"print(json.dumps({func}({call})))"
    )
    # -P: the working folder (ROOT) is not put first on the path, so its sources do not shadow
    # an installed (compiled) edwc
    cmd = [sys.executable, "-P", "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=200_000)
    ap.add_argument("--skip-year", action="store_true")
    ap.add_argument(
        "--year-scale",
        type=int,
        default=None,
        help="batch engine.job_scale of the year (default: the check's choice, if it keeps the year "
        "under ~5 million batch jobs; else 20,000, with its error printed)",
    )
    ap.add_argument(
        "--year-bundling",
        choices=["pool", "arrival"],
        default="pool",
        help="how the year bundles batch jobs: at each pool, at its own checked scale (engine.bundling: "
        "pool, the default), or where they arrive at one scale per server type (--year-scale, "
        "--year-gpu-scale)",
    )
    ap.add_argument(
        "--year-gpu-scale",
        type=int,
        default=None,
        help="engine.gpu_job_scale of the year (default: the check's choice)",
    )
    args = ap.parse_args()
    print(f"engine: {engine_kind()}")
    print()
    bare_rate, recursion_rate = engine_vs_bare(args.jobs)
    print()
    print("national baseline (configs/baseline.yaml), each run in its own process")
    head = (
        f"  {'horizon':>8} {'job_scale':>10} {'batch jobs':>11} {'requests':>10} {'sim s':>7} {'wall s':>7}"
    )
    print(head + f" {'peak RSS MB':>12}")

    def show(h: float, r: dict[str, Any]) -> None:
        print(
            f"  {h:>7.0f}h {r['scale']:>10,} {r['jobs']:>11,} {r['requests']:>10.3g} {r['sim_s']:>7.1f} "
            f"{r['wall_s']:>7.1f} {r['rss_mb']:>12,.0f}"
        )

    import yaml

    engine_cfg = yaml.safe_load((ROOT / "configs" / "baseline.yaml").read_text())["engine"]
    base_scale = int(engine_cfg["job_scale"])
    base_gpu = int(engine_cfg.get("gpu_job_scale", base_scale))
    # the day is short enough to be at the machine's mercy: the median of DAY_RUNS runs
    days = [child(24.0, base_scale, base_gpu) for _ in range(DAY_RUNS)]
    if any(d["engine"] != engine_kind() for d in days):
        raise SystemExit(f"a day ran another engine: {days[0]['engine']}")
    days.sort(key=lambda d: d["sim_s"])
    day = days[len(days) // 2]
    show(24.0, day)
    runs = ", ".join(f"{d['sim_s']:.2f}" for d in days)
    print(f"  (median of {DAY_RUNS} runs, each in its own process; sim s: {runs})")
    print("goal: a day's simulation <= 2 s")
    # the machine's speed drifts: the day in units of the bare loop's work does not
    bare_jobs = day["sim_s"] * bare_rate
    print(
        f"the day costs what {bare_jobs:,.0f} bare-loop jobs cost: it meets 2 s wherever the bare loop "
        f"runs at >= {bare_jobs / 2.0:,.0f} jobs/s"
    )
    ladder = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]
    chosen: dict[str, int] = {}
    errors: dict[str, dict[int, float]] = {}
    loads: dict[str, list[tuple[str, float, float, float, float, int]]] = {}
    gpu_jobs = day["gpu_jobs"] * base_gpu * 365  # real GPU batch jobs in a year
    for kind, key, base, real_jobs in (
        ("cpu", "engine.job_scale", base_scale, (day["jobs"] - day["gpu_jobs"]) * base_scale * 365),
        ("gpu", "engine.gpu_job_scale", base_gpu, gpu_jobs),
    ):
        print()
        loads[kind] = batch_loads(Path(day["out"]), kind)
        print(f"batch scale check ({kind.upper()} pools, {key}): mean batch response (wait + service) of the")
        print(
            "simulated pool vs Erlang C for the real pool, at each pool's servers left to batch and its load"
        )
        print(f"  {'cluster':>19} {'batch servers':>14} {'rho mean':>9} {'rho peak':>9} {'saturated h':>12}")
        for cid, cap, rm, rp, _cp, sat in loads[kind]:
            print(f"  {cid:>19} {cap:>14,.0f} {rm:>9.3f} {rp:>9.3f} {sat:>12}")
        print(f"  {'scale':>10} {'worst error':>12} {'Poisson bundles':>16} {'batch jobs / year':>18}")
        chosen[kind], errors[kind] = 1, {}
        for s in ladder:
            err, err_poisson = scale_check(loads[kind], s)
            errors[kind][s] = err
            print(f"  {s:>10,} {100 * err:>11.2f}% {100 * err_poisson:>15.2f}% {real_jobs / s:>18,.0f}")
            if err <= 0.02:
                chosen[kind] = s
        print(f"  -> largest {key} within 2 %: {chosen[kind]:,} (the baseline uses {base:,})")
    if args.skip_year:
        return
    if args.year_bundling == "pool":
        year = pooled_year(base_scale, base_gpu, show)
    else:
        year_scale = args.year_scale
        cpu_jobs = (day["jobs"] - day["gpu_jobs"]) * base_scale * 365
        if year_scale is None:
            year_scale = chosen["cpu"] if cpu_jobs / chosen["cpu"] <= 5e6 else 20000
        gpu_scale = args.year_gpu_scale if args.year_gpu_scale is not None else chosen["gpu"]
        print()
        for kind, s in (("cpu", year_scale), ("gpu", gpu_scale)):
            err = errors[kind].get(s, scale_check(loads[kind], s)[0])
            verdict = "within" if err <= 0.02 else "NOT within"
            print(
                f"year at {kind.upper()} scale {s:,}: batch response error {100 * err:.1f}% ({verdict} 2 %)"
            )
        year = child(8760.0, year_scale, gpu_scale)
        show(8760.0, year)
        print(f"  (GPU scale {gpu_scale:,}: {year['gpu_jobs']:,} of the batch jobs)")
    print("goal: a simulated year <= 60 s")
    # the machine's speed may drift over the year's minutes: the bare loop again, after it
    after = bare_loop_rate(args.jobs)
    mean_rate = 0.5 * (bare_rate + after)
    floor = year["jobs"] / mean_rate
    print(
        f"floor: the bare simpy loop, at {mean_rate:,.0f} jobs/s (the mean of its {bare_rate:,.0f} before "
        f"the year and {after:,.0f} after), would take {floor:,.0f} s to queue these batch jobs alone "
        "(no routing, network, flows or records)"
    )
    print(f"the year costs {year['sim_s'] / floor:.1f}x its floor")
    print(
        f"without an event loop: the FCFS recursion, at {recursion_rate:,.0f} jobs/s, would queue them "
        f"in {year['jobs'] / recursion_rate:,.1f} s (queueing alone, on fixed servers)"
    )


def pooled_year(
    base_scale: int, base_gpu: int, show: Callable[[float, dict[str, Any]], None]
) -> dict[str, Any]:
    """The year with ``engine.bundling: pool``, each pool at the scale its own check allows.

    A pooled day at the baseline's scales gives each pool's batch servers, loads and
    streams, and the check (:mod:`sim.report.pool_scales`, ``edwc pool-scales``) each pool's
    scale; the check is printed, then the year runs.
    """
    from sim.report.pool_scales import pool_scales, scale_table, scales_yaml

    print()
    print("batch scale check per pool (engine.bundling: pool): mean batch response (wait + service) of")
    print("each pool, fed by its own (class) streams bundled apart at the scale, vs Erlang C for")
    print("the real pool, at its batch servers and loads of a pooled day (the largest scale within 2 %)")
    pday = child(24.0, base_scale, base_gpu, ["engine.bundling=pool"])
    checked = pool_scales(Path(pday["out"]))
    print(scale_table(checked))
    for p in checked:
        if p.scale == 0:
            print(f"  {p.load.pool}: no scale within 2 %: its type's ({base_scale:,} / {base_gpu:,})")
    extra = ["engine.bundling=pool", f"engine.pool_job_scale={scales_yaml(checked)}"]
    print()
    print(f"year: engine.bundling pool, engine.pool_job_scale {scales_yaml(checked)}")
    year = child(8760.0, base_scale, base_gpu, extra)
    show(8760.0, year)
    print(f"  ({year['gpu_jobs']:,} of the batch jobs GPU bundles; the scale column: the pools' own, above)")
    return year


if __name__ == "__main__":
    main()
