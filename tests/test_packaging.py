"""A wheel built with `pip wheel` carries the reference data and the scenario library."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installed_elsewhere_finds_seeds_and_configs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (whl,) = wheels.glob("edwc-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert "models/_seeds/clusters.yaml" in names
    assert "sim/_configs/baseline.yaml" in names
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(whl)],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = (
        "import models, sim; from models.paths import seeds_dir, configs_dir; "
        "from models.reference import load_reference; r = load_reference(); "
        "print(models.__file__); print(seeds_dir()); print(configs_dir()); print(len(r.clusters))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    ).stdout.split("\n")
    assert out[0].startswith(str(site)), out  # the installed copy, not the source tree
    assert out[1] == str(site / "models" / "_seeds")
    assert out[2] == str(site / "sim" / "_configs")
    assert out[3] == "10"
    # and the CLI's default config resolves from the installed copy
    info = subprocess.run(
        [sys.executable, "-m", "sim.cli.main", "validate", str(site / "sim" / "_configs" / "baseline.yaml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert info.returncode == 0, info.stderr
