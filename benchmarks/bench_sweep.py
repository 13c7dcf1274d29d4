"""Sweep speed-up and overhead, measured side by side in one invocation.

The same sweep (16 runs of a small two-site config whose horizon is tuned so
one run takes about ``--run-s`` seconds) is run with 1 local worker (in this
process) and with 2 local worker processes (cold: the workers start inside
the measurement). Prints

- the speed-up T(1 worker) / T(2 workers)           (goal: >= 1.8)
- the overhead per run: (workers x sweep wall - sum of the runs' wall_s) / runs,
  as a % of the mean run time                         (goal: <= 5 %)

and checks that both sweeps give the same summary.parquet (timings aside).

    python benchmarks/bench_sweep.py [--runs 16] [--run-s 1.5] [--dask]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.config_io import read_yaml_mapping, validate_config  # noqa: E402
from sim.runner import run  # noqa: E402
from sim.sweeps.args import spec_from_cli  # noqa: E402
from sim.sweeps.driver import run_sweep  # noqa: E402
from tests.helpers import two_site_config  # noqa: E402

TIMING = re.compile(r"(^|\.)(wall|simulation|solve|solver|elapsed|time)[a-z_]*_s$")
POLICIES = "nearest,cheapest,greenest,spill_west"


def calibrate(folder: Path, run_s: float) -> float:
    """The horizon (h) at which one run of the config takes about ``run_s`` seconds."""
    horizon = 6.0
    for _ in range(3):
        cfg = validate_config(two_site_config(horizon_h=horizon), "bench")
        t = run(cfg, "bench", folder / f"cal{horizon:g}").summary["wall_s"]
        horizon = max(0.5, round(horizon * run_s / t, 1))
    return horizon


def sweep(base: Path, out: Path, runs: int, workers: int, scheduler: str | None = None) -> tuple[float, Any]:
    reps = max(1, runs // 4)
    spec = spec_from_cli(
        base, read_yaml_mapping(base), {"--grid": [f"policy.name={POLICIES}"]}, [], replications=reps
    )
    t0 = time.perf_counter()
    res = run_sweep(spec, out, workers=workers, scheduler=scheduler)
    wall = time.perf_counter() - t0
    assert res.failed == 0, res.failures
    return wall, pd.read_parquet(out / "summary.parquet")


def report(label: str, workers: int, wall: float, df: pd.DataFrame) -> None:
    total = float(df["wall_s"].sum())
    mean = total / len(df)
    over = (workers * wall - total) / len(df)
    print(
        f"{label:<26} {len(df)} runs  sweep wall {wall:6.2f} s  runs' wall_s sum {total:6.2f} s  "
        f"mean run {mean:.2f} s  overhead/run {over * 1000:6.0f} ms = {over / mean:6.1%} of a run"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--run-s", type=float, default=1.5, help="target seconds per run (>= 1)")
    ap.add_argument("--dask", action="store_true", help="also time a 2-worker distributed.LocalCluster")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        folder = Path(tmp)
        horizon = calibrate(folder, args.run_s)
        base = folder / "base.yaml"
        base.write_text(yaml.safe_dump(two_site_config(horizon_h=horizon), sort_keys=False))
        print(f"two-site config, horizon {horizon:g} h, policies {POLICIES}, {args.runs} runs")
        w1, df1 = sweep(base, folder / "w1", args.runs, 1)
        report("1 worker (in process)", 1, w1, df1)
        w2, df2 = sweep(base, folder / "w2", args.runs, 2)
        report("2 workers (loky, cold)", 2, w2, df2)
        same = df1.drop(columns=[c for c in df1 if TIMING.search(c)]).equals(
            df2.drop(columns=[c for c in df2 if TIMING.search(c)])
        )
        print(f"speed-up 2 workers vs 1: {w1 / w2:.2f}x (goal >= 1.8x); identical summaries: {same}")
        if args.dask:
            w3, df3 = sweep(base, folder / "w3", args.runs, 2, scheduler="local")
            report("2 workers (LocalCluster)", 2, w3, df3)
            print(f"speed-up LocalCluster vs 1 worker: {w1 / w3:.2f}x")


if __name__ == "__main__":
    main()
