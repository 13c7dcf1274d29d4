"""From Python: run the national baseline under two policies, compare them with pandas, plot one figure.

    python examples/compare_policies.py [OUT_DIR]      # default OUT_DIR: runs/example

Each run writes an ordinary run folder (``OUT_DIR/<policy>/``, the same files
as ``edwc run``); :func:`sim.run` returns a :class:`sim.Result` whose tables
are pandas DataFrames. The script prints one row per policy and draws
``OUT_DIR/west_share.png``: the share of busy servers in the western
clusters, step by step. Three simulated hours keep it quick (a few seconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed

import matplotlib.pyplot as plt
import pandas as pd

from models.paths import configs_dir
from sim import run

POLICIES = ("nearest", "spill_west")


def compare(out: Path, horizon_h: float = 3.0) -> tuple[pd.DataFrame, Path]:
    """Run each policy, return a table of outcomes and the path of the figure."""
    rows = []
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for policy in POLICIES:
        res = run(
            configs_dir() / "baseline.yaml",
            set={"policy.name": policy, "horizon_h": horizon_h},
            out=out / policy,
        )
        # timeseries: one row per cluster and 5-minute step
        ts = res.timeseries
        side = {cid: c["side"] for cid, c in res.summary["clusters"].items()}
        ts["side"] = ts["cluster"].astype(str).map(side)
        busy = ts.pivot_table(index="time_s", columns="side", values="busy_servers", aggfunc="sum")
        west_share = busy["west"] / busy.sum(axis=1)
        ax.plot(west_share.index / 3600.0, 100 * west_share.to_numpy(), label=policy)

        # latency classes are request flows: flows.parquet counts requests per step, region,
        # class and cluster; the summary has each class's percentiles (from its histogram)
        flows = res.flows
        web = res.summary["classes"]["industrial_internet"]
        rows.append(
            {
                "policy": policy,
                "batch jobs": len(res.jobs),
                "latency requests rejected": f"{flows['rejected'].sum() / flows['requests'].sum():.1%}",
                "industrial internet p95 network + wait (ms)": round(
                    float(web["added_latency_ms"]["p95"]), 1
                ),
                "energy (MWh)": round(res.summary["energy_kwh"] / 1e3, 1),
                "cost (k CNY)": round(res.summary["cost_cny"] / 1e3, 1),
                "west share of compute": f"{res.summary['east_west']['west']['share_of_served_compute']:.0%}",
            }
        )
    ax.set_xlabel("hour of the run")
    ax.set_ylabel("busy servers in the west (%)")
    ax.set_title("Where the work runs: west share of busy servers")
    ax.legend()
    fig.tight_layout()
    png = out / "west_share.png"
    fig.savefig(png)
    plt.close(fig)
    return pd.DataFrame(rows).set_index("policy"), png


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs") / "example"
    table, figure = compare(out_dir)
    print(table.to_string())
    print(f"figure: {figure}")
