"""From Python: carbon-aware temporal shifting compared, with 95 % confidence intervals.

    python examples/carbon_shifting.py [SWEEP_DIR] [--quick]   # default SWEEP_DIR: sweeps/carbon_shifting

Runs the sweep ``configs/carbon_shifting_sweep.yaml`` (five policies x three
replications of four simulated days; complete runs in SWEEP_DIR are reused)
and prints one Markdown row per policy: carbon (tCO2) with its 95 % confidence
interval over replications, the change against ``nearest`` (paired: every
policy's replication r sees the same jobs), the carbon intensity of the energy
used, the batch deadlines met and the mean time a batch job waited. ``--quick``
runs one simulated hour and two replications (what the tests run).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from models.paths import configs_dir
from sim import sweep

BATCH = ("offline_analytics", "ai_training")
# Student's t 0.975 quantiles for 1..30 degrees of freedom (then the normal 1.96)
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)  # fmt: skip


def label(row: pd.Series) -> str:
    """A policy's name in the table: carbon_aware shows its forecast error."""
    name = str(row["policy.name"])
    if name == "carbon_aware":
        params = json.loads(str(row["policy.params"]))  # the swept axis, as JSON text
        return f"carbon_aware (forecast error σ = {float(params.get('forecast_error', 0.0)):g})"
    return name


def ci95(x: np.ndarray) -> float:
    """Half-width of the 95 % t confidence interval of the mean of ``x``."""
    if len(x) < 2:
        return float("nan")
    t = T975[len(x) - 2] if len(x) - 1 <= len(T975) else 1.96
    return float(t * x.std(ddof=1) / np.sqrt(len(x)))


def table(df: pd.DataFrame) -> str:
    """The Markdown table of a carbon_shifting sweep's summary.parquet."""
    df = df.copy()
    df["policy"] = df.apply(label, axis=1)
    df["kg_per_kwh"] = df["tco2"] * 1000.0 / df["energy_kwh"]
    jobs = sum(df[f"classes.{k}.completed"] + df[f"classes.{k}.dropped"] for k in BATCH)
    late = sum(
        (df[f"classes.{k}.completed"] + df[f"classes.{k}.dropped"]) * df[f"classes.{k}.slo_violation_rate"]
        for k in BATCH
    )
    df["deadlines_met"] = 1.0 - late / jobs
    waits = sum(df[f"classes.{k}.mean_wait_s"] * df[f"classes.{k}.completed"] for k in BATCH)
    df["batch_wait_h"] = waits / sum(df[f"classes.{k}.completed"] for k in BATCH) / 3600.0
    base = df[df["policy.name"] == "nearest"].set_index("replication")["tco2"]
    df["change"] = df["tco2"] / df["replication"].map(base) - 1.0
    lines = [
        "| policy | tCO2 (± 95 % CI) | vs nearest (± 95 % CI) | kgCO2/kWh | batch deadlines met "
        "| mean batch wait |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for policy, g in df.groupby("policy", sort=False):
        t, ch = g["tco2"].to_numpy(), g["change"].to_numpy()
        lines.append(
            f"| `{policy}` | {t.mean():,.0f} ± {ci95(t):,.0f} "
            f"| {100 * ch.mean():+.1f} % ± {100 * ci95(ch):.1f} | "
            f"{g['kg_per_kwh'].mean():.4f} | {100 * g['deadlines_met'].mean():.1f} % | "
            f"{g['batch_wait_h'].mean():.1f} h |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    args = [a for a in argv if a != "--quick"]
    out = Path(args[0]) if args else Path("sweeps/carbon_shifting")
    spec = configs_dir() / "carbon_shifting_sweep.yaml"
    quick_set = {"horizon_h": 1}
    df = sweep(spec, set=quick_set, replications=2, out=out) if quick else sweep(spec, out=out)
    print(table(df))


if __name__ == "__main__":
    main(sys.argv[1:])
