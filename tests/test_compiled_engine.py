"""The compiled engine (``hatch_build.py``, mypyc) gives the interpreted engine's outputs, byte for byte.

``.ci/run`` builds the wheel as ``pip install .`` does, installs it into a folder and
names that folder in ``EDWC_COMPILED_SITE``. Each case runs once on the compiled
modules and once on the interpreted ones (this source tree) and compares every
Parquet file and ``summary.json`` (less its wall-clock timings). Without
``EDWC_COMPILED_SITE`` (a developer's editable install) the test is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import without_timings

ROOT = Path(__file__).resolve().parents[1]
SITE = os.environ.get("EDWC_COMPILED_SITE")

CASES = {
    # spill_west, priority queue, always on: the national day's code paths
    "baseline": ["configs/baseline.yaml", "--set", "horizon_h=4"],
    # an outage (eviction, re-routing, re-admission of the flows) at 19:00
    "outage": ["configs/outage_zhangjiakou.yaml", "--set", "horizon_h=21", "--set", "engine.job_scale=20000"],
    # processor sharing, reactive power management (boots, idle timeouts), nearest
    "ps_reactive": [
        "configs/baseline.yaml",
        "--set",
        "horizon_h=3",
        "--set",
        "engine.queue=ps",
        "--set",
        "energy.power_management=reactive",
        "--set",
        "policy.name=nearest",
    ],
    # bundling at each pool (shares a step, pools of different scales), through an outage
    "pooled_outage": [
        "configs/outage_zhangjiakou.yaml",
        "--set",
        "horizon_h=21",
        "--set",
        "engine.bundling=pool",
        "--set",
        "engine.pool_job_scale={zhangjiakou: 100000, beijing_metro: 200000, qingyang: 2000}",
    ],
}

_WHICH = "import sim.engine.kernel as k, sys; print(k.__file__)"

# a user's policy that speaks numpy: clusters as numpy integers, to the engine and back
_NUMPY_POLICY = """
import sys
import numpy as np
from sim import api
from sim.policies import Policy, register_policy

@register_policy
class LeastBusy(Policy):
    name = "least_busy_numpy"

    def route(self, region, klass, now_s):
        cand = self.scenario.candidates[klass][region]  # an int64 array
        util = np.array([self.engine.utilisation(c) for c in cand])
        self.engine.busy_servers(cand[0]), self.engine.online(cand[0])
        return cand[int(np.argmin(util))]  # a numpy integer

    def release_s(self, job, now_s):
        return np.float64(now_s)

api.run(sys.argv[1], set=["policy.name=least_busy_numpy", "horizon_h=3"], out=sys.argv[2])
"""
_RUN = "import sys; from sim.cli import main; sys.exit(main())"


def _python(site: str | None) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a Python whose ``sim`` is the compiled wheel's (``site``)
    or this source tree's (``-P``: the working folder is not put first on the path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = site if site else str(ROOT)
    return [sys.executable, "-P"], env


def _run(site: str | None, args: list[str], out: Path) -> None:
    cmd, env = _python(site)
    config, *sets = args
    run = [*cmd, "-c", _RUN, "run", str(ROOT / config), *sets, "--out", str(out), "--no-report", "--quiet"]
    subprocess.run(run, cwd=out.parent, env=env, check=True)


def _assert_same_outputs(compiled: Path, interpreted: Path) -> None:
    """Every Parquet file byte for byte, and the summary but for its wall-clock timings."""
    files = sorted(p.name for p in interpreted.glob("*.parquet"))
    assert files and files == sorted(p.name for p in compiled.glob("*.parquet"))
    for name in files:
        assert (compiled / name).read_bytes() == (interpreted / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (compiled, interpreted))
    assert without_timings(a) == without_timings(b)


pytestmark = pytest.mark.skipif(SITE is None, reason="EDWC_COMPILED_SITE unset (.ci/run sets it)")


def test_the_compiled_site_holds_compiled_modules() -> None:
    def kernel_file(site: str | None) -> str:
        cmd, env = _python(site)
        out = subprocess.run([*cmd, "-c", _WHICH], env=env, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    compiled, interpreted = kernel_file(SITE), kernel_file(None)
    assert compiled.startswith(str(SITE)) and not compiled.endswith(".py"), compiled  # mypyc built it
    assert interpreted == str(ROOT / "sim" / "engine" / "kernel.py"), interpreted


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_and_interpreted_engines_write_the_same_bytes(case: str, tmp_path: Path) -> None:
    args = CASES[case]
    compiled, interpreted = tmp_path / "compiled", tmp_path / "interpreted"
    _run(SITE, args, compiled)
    _run(None, args, interpreted)
    _assert_same_outputs(compiled, interpreted)


def test_a_policy_speaking_numpy_runs_alike_on_both_engines(tmp_path: Path) -> None:
    """Numpy integers for clusters (to ``utilisation``, ``busy_servers``, ``online``, and back
    from ``route``) work on the compiled engine as on the interpreted one."""
    outs = {}
    for label, site in (("compiled", SITE), ("interpreted", None)):
        cmd, env = _python(site)
        out = tmp_path / label
        config = str(ROOT / "configs" / "baseline.yaml")
        subprocess.run([*cmd, "-c", _NUMPY_POLICY, config, str(out)], cwd=tmp_path, env=env, check=True)
        outs[label] = out
    _assert_same_outputs(outs["compiled"], outs["interpreted"])
