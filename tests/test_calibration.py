"""Calibration: the national baseline reproduces published cluster energy within tolerance.

The targets and their sources are in seeds/calibration.yaml (listed in seeds/README.md).
Each runs configs/baseline.yaml for one day of the matching period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.config_io import load_config
from sim.runner import run

ROOT = Path(__file__).resolve().parents[1]
_DOC = yaml.safe_load((ROOT / "seeds" / "calibration.yaml").read_text())
TARGETS: list[dict[str, Any]] = _DOC["calibration"]


@pytest.mark.parametrize("target", TARGETS, ids=[t["cluster"] for t in TARGETS])
def test_baseline_daily_energy_matches_measurement(target: dict[str, Any], tmp_path: Path) -> None:
    cfg = load_config(ROOT / "configs" / "baseline.yaml", [f"start={target['start']}", "horizon_h=24"])
    summary = run(cfg, "baseline.yaml", tmp_path / "run").summary
    # the site's energy: its CPU and GPU pools together (server types)
    site = target["cluster"]
    pools = [v for k, v in summary["clusters"].items() if v.get("site", k) == site]
    assert len(pools) == 2, pools
    sim_gwh = sum(v["energy_kwh"] for v in pools) / 1e6
    measured = float(target["measured_gwh_per_day"]["value"])
    assert abs(sim_gwh / measured - 1.0) <= float(target["tolerance"]), (target["cluster"], sim_gwh, measured)


def test_targets_cite_known_sources() -> None:
    sources = {s["id"] for s in yaml.safe_load((ROOT / "seeds" / "sources.yaml").read_text())["sources"]}
    for t in TARGETS:
        assert t["measured_gwh_per_day"]["source"] in sources
        assert 0 < t["tolerance"] <= 0.25
