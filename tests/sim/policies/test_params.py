"""Typed policy parameters and objective weights: the planner's names, defaults in one place, exit 2."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from models.plan.inputs import PlanInputs, PlanWeights
from models.plan.planner import RollingPlanner
from sim.cli.main import cli
from sim.config_io import resolved_yaml, validate_config
from sim.config_policy import DEPRECATED_WEIGHT_NAMES, ObjectiveWeights
from sim.expansion.year import expansion_weights
from sim.policies.carbon_aware import CarbonAware
from sim.policies.lp import LpPolicy
from sim.policies.lp_params import LpParams
from sim.policies.params import CarbonAwareParams, SpillWestParams
from sim.policies.planning import plan_weights
from sim.policies.spill_west import SpillWest
from tests.helpers import scenario_of, two_site_config

EXTREMES = ["0", "-1", "1e30", "2e308", ".nan", ".inf", "-.inf", "0.5", "true", "'x'"]


def _default(cls: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def test_lp_params_take_the_planners_names_and_defaults() -> None:
    p = LpParams()
    for cap in ("min_green_share", "max_tco2", "min_west_share", "hub_quota_sh"):
        assert cap in {f.name for f in dataclasses.fields(PlanWeights)}
        assert getattr(p, cap) == _default(PlanWeights, cap)
    assert p.rho_max == _default(PlanInputs, "rho_max")
    assert p.solver == _default(RollingPlanner, "solver")
    assert p.time_limit_s == _default(RollingPlanner, "time_limit_s")
    # the policies' params mappings are their models' defaults
    assert dict(LpPolicy.params) == p.model_dump()
    assert dict(SpillWest.params) == SpillWestParams().model_dump()
    assert dict(CarbonAware.params) == CarbonAwareParams().model_dump()


def test_weights_are_plan_weights_fields_and_unset_ones_keep_the_planners_defaults() -> None:
    fields = {f.name for f in dataclasses.fields(PlanWeights)}
    assert set(ObjectiveWeights.model_fields) <= fields
    assert set(DEPRECATED_WEIGHT_NAMES.values()) == set(ObjectiveWeights.model_fields)
    doc = two_site_config(policy="lp")
    scn = scenario_of(doc)
    assert plan_weights(scn, LpParams()) == PlanWeights()
    doc["policy"]["weights"] = {"unserved_cny_per_sh": ".inf"}
    assert math.isinf(expansion_weights(validate_config(_yaml(doc), "x")).unserved_cny_per_sh)


def _yaml(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(doc).replace("'.inf'", ".inf"))
    return out


@pytest.mark.parametrize(("old", "new"), sorted(DEPRECATED_WEIGHT_NAMES.items()))
def test_deprecated_short_weight_names_mean_the_planners_names(old: str, new: str) -> None:
    by_old, by_new = two_site_config(policy="lp"), two_site_config(policy="lp")
    by_old["policy"]["weights"] = {old: 7.5}
    by_new["policy"]["weights"] = {new: 7.5}
    w_old = plan_weights(scenario_of(by_old), LpParams())
    assert w_old == plan_weights(scenario_of(by_new), LpParams())
    assert getattr(w_old, new) == 7.5
    assert expansion_weights(validate_config(by_old, "x")) == expansion_weights(validate_config(by_new, "x"))
    # the resolved config (a run folder's config.yaml) writes the planner's name; defaults are not written
    text = resolved_yaml(validate_config(by_old, "x"))
    assert yaml.safe_load(text)["policy"]["weights"] == {new: 7.5}
    assert yaml.safe_load(resolved_yaml(validate_config(two_site_config(), "x")))["policy"]["weights"] == {}


def _validate(tmp_path: Path, *sets: str, policy: str = "lp") -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(two_site_config(policy=policy)))
    args = ["validate", str(path)]
    for s in sets:
        args += ["--set", s]
    return CliRunner().invoke(cli, args, catch_exceptions=True)


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        (
            "policy.params.rho_max=1.5",
            "policy.params.rho_max: Input should be less than or equal to 1 (got 1.5)",
        ),
        ("policy.params.solver=gurobi", "policy.params.solver: Input should be 'highspy', 'highs' or 'cbc'"),
        (
            "policy.params.power_headroom=.nan",
            "policy.params.power_headroom: Input should be a finite number",
        ),
        (
            "policy.params.hub_quota_sh.h1=-1",
            "policy.params.hub_quota_sh.h1: Input should be greater than or",
        ),
        (
            "policy.params.min_green_share=true",
            "policy.params.min_green_share: expected a number, not a boolean",
        ),
        ("policy.params.speed=1", "policy.params.speed: policy 'lp' has no such parameter"),
        ("policy.weights.latency=-1", "policy.weights.latency: Input should be greater than or equal to 0"),
        (
            "policy.weights.latency_cny_per_ms_sh=.inf",
            "policy.weights.latency_cny_per_ms_sh: Input should be",
        ),
        (
            "policy.weights.unserved_cny_per_sh=0",
            "policy.weights.unserved_cny_per_sh: Input should be greater",
        ),
        (
            "policy.weights.speed=1",
            "policy.weights.speed: unknown key 'speed'; allowed keys here: latency_cny",
        ),
    ],
)
def test_bad_values_exit_2_naming_the_file_the_key_and_what_was_expected(
    tmp_path: Path, item: str, needle: str
) -> None:
    r = _validate(tmp_path, item)
    assert r.exit_code == 2, r.output
    # the file (the policy's checks name the file, the schema's add "with --set"), key path, expectation
    assert re.search(r"c\.yaml( \(with --set\))?: " + re.escape(needle), r.output), r.output
    assert "Traceback" not in r.output


def test_a_weight_given_under_both_names_is_refused(tmp_path: Path) -> None:
    r = _validate(tmp_path, "policy.weights.latency=1", "policy.weights.latency_cny_per_ms_sh=1")
    assert r.exit_code == 2
    assert "policy.weights: 'latency' is the deprecated name of 'latency_cny_per_ms_sh'" in r.output


def test_hard_demand_stays_accepted(tmp_path: Path) -> None:
    assert _validate(tmp_path, "policy.weights.unserved=.inf").exit_code == 0
    assert _validate(tmp_path, "policy.weights.unserved_cny_per_sh=.inf").exit_code == 0


LP_NUMERIC = ("rho_max", "forecast_error", "time_limit_s", "min_green_share", "max_tco2", "min_west_share",
              "power_headroom", "min_powered_share")  # fmt: skip
NUMERIC = [("lp", f"policy.params.{k}") for k in LP_NUMERIC]
NUMERIC += [("spill_west", "policy.params.threshold")]
NUMERIC += [("carbon_aware", f"policy.params.{k}") for k in ("forecast_error", "threshold_kgco2_per_kwh",
                                                             "horizon_h", "max_utilisation")]  # fmt: skip


@pytest.mark.parametrize(("policy", "key"), NUMERIC)
def test_every_numeric_parameter_at_the_extremes_is_accepted_or_named(
    tmp_path: Path, policy: str, key: str
) -> None:
    for v in EXTREMES:
        r = _validate(tmp_path, f"{key}={v}", policy=policy)
        assert r.exit_code in (0, 2), (key, v, r.output, r.exception)
        if r.exit_code == 2:
            assert f"{key}: " in r.output and "Traceback" not in r.output, (key, v, r.output)
