"""edwc table: mean ± 95 % CI per (policy, power mode), paired power savings, decomposition, by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.main import cli
from sim.report.table import comparison_table, decomposition_table, mean_ci, read_sweep_summary, t975


def _frame() -> pd.DataFrame:
    rows = []
    costs = {
        ("spill_west", "always_on"): [200.0, 220.0, 240.0],
        ("spill_west", "reactive"): [150.0, 165.0, 180.0],
        ("lp", "always_on"): [100.0, 110.0, 120.0],
        ("lp", "reactive"): [80.0, 88.0, 96.0],
    }
    for (pol, mode), cs in costs.items():
        for r, c in enumerate(cs):
            rows.append(
                {
                    "run_id": f"{pol}-{mode}-{r}",
                    "policy.name": pol,
                    "energy.power_management": mode,
                    "replication": r,
                    "status": "ok",
                    "cost_cny": c * 1e6,
                    "slo_met_share.latency_real": [0.8, 0.9, 1.0][r],
                }
            )
    rows.append({"run_id": "bad", "policy.name": "lp", "energy.power_management": "planned", "replication": 0,
                 "status": "failed", "cost_cny": float("nan")})  # fmt: skip
    return pd.DataFrame(rows)


def test_mean_ci_by_hand() -> None:
    mean, half, n = mean_ci([10.0, 12.0, 14.0])
    assert (mean, n) == (12.0, 3)
    assert half == pytest.approx(4.303 * 2.0 / math.sqrt(3))
    assert math.isnan(mean_ci([5.0])[1]) and mean_ci([])[2] == 0
    assert t975(1) == 12.706 and t975(1000) == 1.96


def test_comparison_table_cells_and_power_savings(tmp_path: Path) -> None:
    df = _frame()
    df.to_parquet(tmp_path / "summary.parquet")
    ok = read_sweep_summary(tmp_path)
    assert len(ok) == 12  # the failed run is left out
    md = comparison_table(ok, columns=["cost M CNY", "latency SLO met (real requests) %"])
    lines = md.strip().splitlines()
    assert lines[0].startswith("| policy | power | n | cost M CNY | latency SLO met (real requests) % |")
    row = {ln.split("|")[1].strip() + " " + ln.split("|")[2].strip(): ln for ln in lines[2:]}
    half = 4.303 * 10.0 / math.sqrt(3)
    assert f"| 110.00 ± {half:.2f} |" in row["`lp` always_on"]
    assert "| 90.0 ± 24.8 |" in row["`lp` always_on"]  # 4.303 x 10 / sqrt 3 = 24.84
    # lp reactive costs 20 % less than lp always_on in every replication: 20.0 ± 0.0
    assert row["`lp` reactive"].rstrip().endswith("| 20.0 ± 0.0 |")
    assert row["`spill_west` reactive"].rstrip().endswith("| 25.0 ± 0.0 |")
    assert row["`lp` always_on"].rstrip().endswith("| – |")


def test_decomposition_splits_placement_and_power_management() -> None:
    md = decomposition_table(_frame().query("status == 'ok'"), "spill_west")
    row = next(ln for ln in md.splitlines() if ln.startswith("| `lp` | reactive"))
    # total -60 % = placement -50 % (lp vs spill_west, both always_on) + power -10 % (1/6 of the saving)
    assert "| -60.0 ± 0.0 | -50.0 ± 0.0 | -10.0 ± 0.0 | 17 % |" in row


def test_edwc_table_prints_markdown_and_rejects_a_non_sweep(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "summary.parquet")
    res = CliRunner().invoke(cli, ["table", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "| `lp` | reactive | 3 |" in res.output and "placement %" in res.output
    brief = CliRunner().invoke(cli, ["table", str(tmp_path), "--brief"])
    assert "boots M" not in brief.output and "CNY / served server-h" in brief.output
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = CliRunner().invoke(cli, ["table", str(empty)])
    assert bad.exit_code == 2 and "summary.parquet" in bad.output
