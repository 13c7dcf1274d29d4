"""The examples under ``examples/`` run (as a user would run them) and produce what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compare_policies_example_runs_and_draws_its_figure(tmp_path: Path) -> None:
    out = tmp_path / "example"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "compare_policies.py"), str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "nearest" in proc.stdout and "spill_west" in proc.stdout
    png = out / "west_share.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    for policy in ("nearest", "spill_west"):
        assert (out / policy / "summary.json").is_file()


def test_carbon_shifting_example_prints_a_row_per_policy_with_intervals(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "carbon_shifting.py"), str(out), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == [
        "nearest",
        "greenest",
        "carbon_aware (forecast error σ = 0)",
        "carbon_aware (forecast error σ = 0.3)",
        "lp",
    ]
    assert all("±" in r for r in rows)
    assert (out / "summary.parquet").is_file()
