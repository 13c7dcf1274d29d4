"""The scenario library: every config in configs/ validates, each run config runs on a short horizon."""

from __future__ import annotations

import importlib
import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sim.cli.main import cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SCENARIOS = [
    "baseline",
    "east_only",
    "west_expansion_2025",
    "shaoguan_realtime",
    "outage_zhangjiakou",
    "ai_training_surge",
    "summer_heatwave",
]


def _doc(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), path
    return doc


def _is_sweep(path: Path) -> bool:
    doc = _doc(path)
    return "axes" in doc or "base" in doc


ALL = sorted(CONFIGS.glob("*.yaml"))
RUNS = [p for p in ALL if not _is_sweep(p)]
SWEEPS = [p for p in ALL if _is_sweep(p)]


def test_library_is_complete() -> None:
    names = {p.stem for p in RUNS}
    assert set(SCENARIOS) <= names, set(SCENARIOS) - names


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_config_has_question_header(path: Path) -> None:
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("#"), f"{path.name} needs a comment header saying what question it answers"


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.stem)
def test_run_config_validates(path: Path) -> None:
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.stem)
def test_run_config_runs_short(path: Path, tmp_path: Path) -> None:
    args = ["run", str(path), "--set", "horizon_h=1", "--out", str(tmp_path / "run"), "-q"]
    for i, _ in enumerate(_doc(path).get("faults") or []):
        args += ["--set", f"faults.{i}.start_h=0", "--set", f"faults.{i}.duration_h=0.5"]  # inside the hour
    run_cmd = cli.commands["run"]  # type: ignore[attr-defined]
    if any("--no-report" in getattr(p, "opts", []) for p in run_cmd.params):
        args.append("--no-report")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "summary.json").is_file()


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_spec_expands(path: Path) -> None:
    if importlib.util.find_spec("sim.sweeps.spec") is None:
        pytest.skip("sim.sweeps.spec is not there: sweep specs are checked once it is")
    ss = importlib.import_module("sim.sweeps.spec")
    if not all(hasattr(ss, f) for f in ("parse_spec", "plan_runs")):
        pytest.skip("sim.sweeps.spec has no parse_spec/plan_runs to expand the spec with")
    spec = ss.parse_spec(_doc(path), path)
    sizes = [len(a.values or ()) for a in spec.axes]
    if spec.mode == "random":
        points = int(spec.samples or 0)
    elif spec.mode == "zip":
        points = sizes[0] if sizes else 1
    else:
        points = math.prod(sizes)
    runs = ss.plan_runs(spec, check=False)
    assert len(runs) == points * spec.replications > 0
