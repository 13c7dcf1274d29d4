"""The run and sweep reports: built from the folders alone, self-contained, non-blank figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.image import imread

from sim.cli.main import cli
from sim.config_io import load_config
from sim.report.sweep import pareto_mask
from sim.report.write import write_report, write_run_report
from sim.runner import run as do_run

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "baseline.yaml"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    cfg = load_config(CONFIG, ["horizon_h=2", "policy.name=lp"])
    do_run(cfg, str(CONFIG), out, base_dir=CONFIG.parent)
    # the report must need nothing but the folder's files
    return out


@pytest.fixture(scope="module")
def run_report(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("copied") / "run"
    shutil.copytree(run_dir, folder)
    return write_run_report(folder)


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    rng = np.random.default_rng(1)
    rows = []
    for price in (0, 100, 200):
        for policy in ("nearest", "lp"):
            for rep in range(3):
                cost = 5e6 + 1e4 * price * (1.2 if policy == "nearest" else 1.0) + rng.normal(0, 5e4)
                rows.append(
                    {
                        "run_id": f"r{len(rows)}",
                        "energy.carbon_price_cny_per_t": price,
                        "policy.name": policy,
                        "replication": rep,
                        "seed": rep,
                        "status": "ok",
                        "cost_cny": cost,
                        "tco2": 8000 - 10 * price + rng.normal(0, 50),
                        "energy_kwh": 1.7e7 + rng.normal(0, 1e5),
                        "jobs_dropped": 100 + rep,
                        "east_west.west.share_of_served_compute": 0.4 + price / 1000,
                        "classes.fin.latency_ms.p95": 3 + price / 50 + rep,
                        "classes.fin.slo_ms": 5.0,
                        "classes.fin.slo_violation_rate": 0.01,
                        "classes.fin.jobs": 1000,
                        "classes.batch.latency_ms.p95": 4e6,
                        "classes.batch.slo_violation_rate": 0.0,
                        "classes.batch.jobs": 200,
                    }
                )
    rows.append({**rows[0], "run_id": "bad", "status": "failed", "cost_cny": np.nan})
    pd.DataFrame(rows).to_parquet(folder / "summary.parquet")
    spec = {
        "base": "configs/baseline.yaml",
        "replications": 3,
        "axes": {"energy.carbon_price_cny_per_t": [0, 100, 200], "policy.name": ["nearest", "lp"]},
    }
    (folder / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return write_report(folder)


def _check_html(report: Path, min_figures: int) -> None:
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", text, re.I)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower()
    pngs = sorted(report.parent.glob("*.png"))
    assert len(pngs) >= min_figures
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(embedded) == len(pngs)
    import base64

    on_disk = {p.read_bytes() for p in pngs}
    assert {base64.b64decode(e) for e in embedded} == on_disk
    for png in pngs:
        assert _variance(png) > 1e-3, f"{png.name} looks blank"


def _variance(png: Path) -> float:
    img = imread(png)
    return float(np.asarray(img[..., :3], dtype=float).var())


def test_run_report_from_folder_alone(run_report: Path) -> None:
    names = {p.name for p in run_report.parent.glob("*.png")}
    assert {
        "map_east_west.png",
        "utilisation_heatmap.png",
        "latency_cdf.png",
        "latency_over_time.png",
        "energy_cost_carbon.png",
        "plan_vs_realised.png",
        "shadow_prices.png",
        "carbon_signal_load.png",
    } <= names
    _check_html(run_report, 8)
    text = run_report.read_text(encoding="utf-8")
    for word in ("SLO compliance", "solver status", "zhangjiakou", "wall time", "Carbon signal and load"):
        assert word in text


def test_sweep_report(sweep_report: Path) -> None:
    _check_html(sweep_report, 3)
    assert (sweep_report.parent / "sweep_fronts.png").is_file()
    assert (sweep_report.parent / "sweep_energy_carbon_price_cny_per_t.png").is_file()


def test_pareto_mask() -> None:
    x = np.array([1.0, 2.0, 3.0, 2.5])
    y = np.array([3.0, 1.0, 0.5, 2.0])
    assert pareto_mask(x, y).tolist() == [True, True, True, False]


def test_cli_report_out_dir_and_bad_folder(run_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rep" / "report.html").is_file()
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert "not a run folder" in res.output


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless browser test needs Debian's chromium at /usr/bin/chromium "
    "(.ci/run installs it with apt-get when it can)",
)
@pytest.mark.parametrize("which", ["run", "sweep"])
def test_report_in_headless_chromium(
    which: str, run_report: Path, sweep_report: Path, tmp_path: Path
) -> None:
    report = run_report if which == "run" else sweep_report
    shot = tmp_path / "shot.png"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'prof'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1400,3000",
        report.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-2000:]
    assert "Uncaught" not in log, log[-2000:]
    assert not re.search(r"CONSOLE\(\d+\)\].*(error|failed)", log, re.I), log[-2000:]
    assert shot.is_file(), log[-2000:]
    assert _variance(shot) > 1e-3


def test_latency_cdf_starts_at_zero_and_shows_a_single_bin() -> None:
    """The CDF drawn from latency_hist.parquet rises from 0 at the first bin's lower edge to 1
    at the last bin's upper edge: a class whose requests all fall in one bin is a visible step."""
    from types import SimpleNamespace

    from sim.report.run import _hist_cdf

    one = pd.DataFrame({"class": ["web"], "lo_ms": [1.999], "hi_ms": [2.004], "requests": [4e7]})
    xs, ys = _hist_cdf(SimpleNamespace(latency_hist=one), "web")  # type: ignore[arg-type]
    assert xs.tolist() == [1.999, 2.004] and ys.tolist() == [0.0, 1.0]
    three = pd.DataFrame(
        {"class": ["a"] * 3, "lo_ms": [0.0, 1.0, 2.0], "hi_ms": [1.0, 2.0, 4.0], "requests": [1.0, 2.0, 1.0]}
    )
    xs, ys = _hist_cdf(SimpleNamespace(latency_hist=three), "a")  # type: ignore[arg-type]
    assert xs.tolist() == [1e-3, 1.0, 2.0, 4.0]  # the log axis's floor for a lower edge of 0
    assert ys.tolist() == [0.0, 0.25, 0.75, 1.0]


def test_batch_percentiles_count_real_jobs() -> None:
    """Rows of a pooled run stand for different numbers of real jobs: the drawn distribution
    weighs each by its job_scale (by hand: 1 row of 1 job at 1 h, 1 row of 3 jobs at 5 h)."""
    from sim.report.run import real_cdf, real_quantiles_by

    xs, ys = real_cdf(np.array([5.0, 1.0]), np.array([3.0, 1.0]))
    np.testing.assert_array_equal(xs, [1.0, 5.0])
    np.testing.assert_allclose(ys, [0.25, 1.0])
    df = pd.DataFrame({"hour": [0, 0, 1], "r": [5.0, 1.0, 2.0], "job_scale": [3, 1, 2]})
    q = real_quantiles_by(df, "hour", "r", (0.2, 0.5))
    np.testing.assert_array_equal(q.loc[0].to_numpy(), [1.0, 5.0])  # a quarter of real jobs at 1 h
    np.testing.assert_array_equal(q.loc[1].to_numpy(), [2.0, 2.0])
    # one weight: pandas' own quantiles, as before
    same = pd.DataFrame({"hour": [0, 0], "r": [1.0, 3.0], "job_scale": [5, 5]})
    assert real_quantiles_by(same, "hour", "r", (0.5,)).loc[0, 0.5] == 2.0
