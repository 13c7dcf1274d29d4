"""Bad input at the extremes: every numeric key of a config, set to 0, negative, huge, nan or inf.

Whatever the value, ``edwc validate`` and a very short ``edwc run`` either accept
it or exit 2 with one message; never a traceback (exit 1), never a hang.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.cli.main import cli
from sim.config import Config
from tests.helpers import two_site_config

EXTREMES: list[Any] = [0, -1, -1e30, 1e30, 2**70, 2**64, 10**400, math.nan, math.inf, -math.inf, 0.5, True]


def rich_config() -> dict[str, Any]:
    """A small config that holds every numeric key of the schema at least once."""
    doc = two_site_config(horizon_h=0.25)
    doc["topology"]["latency_ms"] = {
        "beijing": {"east1": 3.0, "west1": 30.0},
        "shanghai": {"east1": 12.0, "west1": 28.0},
    }
    doc["topology"].update(route_factor=1.5, fibre_us_per_km=4.9, overhead_ms=2.0)
    doc["topology"]["clusters"][0].update(pue=1.3, grid_kgco2_per_kwh=0.5, green_share=0.1)
    doc["topology"]["regions"][1]["weight"] = 1.0
    web, etl = doc["workloads"]
    web.update(job_scale=10, max_share=1.0, priority=0, weekend_factor=1.0, regions={"beijing": 1.0})
    web["service"].update(dist="pareto", cv=1.0, alpha=2.5)
    web["bursts"] = [{"start_h": 0.0, "duration_h": 0.1, "multiplier": 2.0}]
    etl.update(data_cv=1.0, diurnal=[1.0] * 24)
    doc["overrides"] = {
        "clusters": {"east1": {"servers": 100, "pue": 1.2, "tariff_cny_per_kwh": 0.5,
                               "grid_kgco2_per_kwh": 0.5, "green_share": 0.1, "temp_offset_c": 0.0}},
        "regions": {"shanghai": {"weight": 1.0}},
        "demand_scale": 1.0,
    }  # fmt: skip
    doc["policy"].update(replan_h=24, lookahead_h=24, weights={"latency_cny_per_ms_sh": 0.1})
    doc["energy"] = {"carbon_price_cny_per_t": 0.0, "idle_w": 200.0, "peak_w": 500.0,
                     "network_kwh_per_gb": 0.005, "temp_offset_c": 0.0}  # fmt: skip
    doc["faults"] = [{"kind": "link_degradation", "cluster": "west1", "start_h": 0.1, "duration_h": 0.1,
                      "fraction": 1.0, "factor": 2.0}]  # fmt: skip
    doc["network"] = {"path_gbps": 100.0, "flow_gbps": 10.0, "paths": {"beijing->west1": 50.0}}
    doc["engine"] = {"job_scale": 1, "timestep_s": 300, "max_jobs": 1_000_000}
    doc["expansion"] = {"clusters": {"west1": {"capex_cny_per_server_year": 9000.0, "max_new_servers": 100,
                                               "max_new_mw": 1.0}}}  # fmt: skip
    return doc


def _unwrap(tp: Any) -> list[Any]:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [b for a in typing.get_args(tp) for b in _unwrap(a)]
    return [tp]


def _numeric(tp: Any) -> bool:
    return any(b in (int, float) for b in _unwrap(tp)) and bool not in _unwrap(tp)


def numeric_paths(model: type[BaseModel], doc: Any, prefix: str = "") -> list[str]:
    """Dotted paths (for --set) of every numeric value the schema has, as laid out in ``doc``."""
    out: list[str] = []
    doc = doc if isinstance(doc, dict) else {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        here = doc.get(name)
        for b in _unwrap(field.annotation):
            origin, args = typing.get_origin(b), typing.get_args(b)
            if b in (int, float) and _numeric(field.annotation):
                out.append(path)
                break
            if isinstance(b, type) and issubclass(b, BaseModel):
                out += numeric_paths(b, here, path + ".")
            elif origin is list and args:
                inner = _unwrap(args[0])
                if isinstance(here, list) and here:
                    if any(isinstance(i, type) and issubclass(i, BaseModel) for i in inner):
                        m = next(i for i in inner if isinstance(i, type) and issubclass(i, BaseModel))
                        out += numeric_paths(m, here[0], f"{path}.0.")
                    elif _numeric(args[0]):
                        out.append(f"{path}.0")
            elif origin is dict and args and isinstance(here, dict):
                inner = _unwrap(args[1])
                for key, val in here.items():
                    models = [i for i in inner if isinstance(i, type) and issubclass(i, BaseModel)]
                    if models:
                        out += numeric_paths(models[0], val, f"{path}.{key}.")
                    elif _numeric(args[1]):
                        out.append(f"{path}.{key}")
                    elif any(typing.get_origin(i) is dict for i in inner) and isinstance(val, dict):
                        out += [f"{path}.{key}.{k2}" for k2 in val]
    return sorted(set(out))


PATHS = numeric_paths(Config, rich_config())


def _all_numeric_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    out: set[str] = set()
    seen.add(model)
    for name, field in model.model_fields.items():
        if _numeric(field.annotation):
            out.add(f"{model.__name__}.{name}")
        stack = list(_unwrap(field.annotation))
        while stack:
            b = stack.pop()
            if isinstance(b, type) and issubclass(b, BaseModel):
                if b not in seen:
                    out |= _all_numeric_fields(b, seen)
            else:
                stack += [x for a in typing.get_args(b) for x in _unwrap(a)]
    return out


def test_the_rich_config_is_valid_and_holds_every_numeric_key() -> None:
    Config.model_validate(copy.deepcopy(rich_config()))
    names = {p.rsplit(".", 1)[-1] for p in PATHS}
    names |= {p.split(".")[-2] for p in PATHS if p.split(".")[-1].isdigit()}
    # every numeric field of the schema (by name) is reached by some path
    fields = {f.split(".", 1)[1] for f in _all_numeric_fields(Config, set())}
    missing = sorted(fields - names - {"latency_ms", "regions", "weights", "paths"})
    assert not missing, f"rich_config lacks numeric keys {missing}"
    assert len(PATHS) > 50


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def _check(result: Any, what: str) -> None:
    msg = f"{what}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert result.exit_code in (0, 2), msg
    if result.exit_code == 2:
        assert "Traceback" not in result.output and "edwc: error:" in result.output, result.output
        assert result.output.count("\n") <= 2, result.output


def _value_text(v: Any) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ".nan"
    if isinstance(v, float) and math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extremes") / "rich.yaml"
    path.write_text(yaml.safe_dump(rich_config()))
    return path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(PATHS),
    value=st.one_of(
        st.sampled_from(EXTREMES),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
)
def test_set_any_value_on_any_numeric_key_never_gives_a_traceback(
    config_file: Path, tmp_path_factory: pytest.TempPathFactory, key: str, value: Any
) -> None:
    item = f"{key}={_value_text(value)}"
    result = _invoke(["validate", str(config_file), "--set", item])
    _check(result, f"validate --set {item}")
    if result.exit_code == 0:  # a valid value: a very short run of it
        out = tmp_path_factory.mktemp("run")
        run = _invoke(["run", str(config_file), "-q", "--no-report", "--force", "--out", str(out),
                       "--set", item, "--set", "horizon_h=0.05"])  # fmt: skip
        _check(run, f"run --set {item}")


@pytest.mark.parametrize("key", PATHS)
def test_every_numeric_key_refuses_a_boolean(config_file: Path, key: str) -> None:
    result = _invoke(["validate", str(config_file), "--set", f"{key}=true"])
    assert result.exit_code == 2, (key, result.output)
    assert "Traceback" not in result.output


def _validate(doc: dict[str, Any], tmp_path: Path, *sets: str) -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    return _invoke(["validate", str(path), *[a for s in sets for a in ("--set", s)]])


def test_a_year_of_single_jobs_is_refused_with_the_estimate_and_the_scale_to_raise_to(tmp_path: Path) -> None:
    doc = two_site_config(horizon_h=8760.0)
    # batch jobs are discrete (latency classes are flows and count 0): ~5.3e9 in the year at job_scale 1
    doc["workloads"][1]["rate_per_h"] = 600_000
    result = _validate(doc, tmp_path)
    assert result.exit_code == 2
    assert "would simulate ~5.3e+09 discrete jobs" in result.output
    need = int(result.output.split("raise engine.job_scale to >= ")[1].split(" ")[0].replace(",", ""))
    assert 200 <= need <= 400  # 5.3e9 / 2e7 = 263
    assert _validate(doc, tmp_path, f"engine.job_scale={need}").exit_code == 0
    assert _validate(doc, tmp_path, f"engine.job_scale={need // 2}").exit_code == 2
    # the limit is configurable
    assert _validate(doc, tmp_path, "engine.max_jobs=10000000000").exit_code == 0


def test_a_class_without_its_job_scale_or_without_engine_is_refused_not_run(tmp_path: Path) -> None:
    doc = rich_config()
    doc["horizon_h"] = 24
    doc["workloads"][1]["rate_per_h"] = 1e9  # the batch class: discrete jobs
    del doc["engine"]
    result = _validate(doc, tmp_path)
    assert result.exit_code == 2 and "engine.job_scale" in result.output and "'etl'" in result.output
    doc["workloads"][1]["job_scale"] = 10_000
    assert _validate(doc, tmp_path).exit_code == 0


@pytest.mark.parametrize("rate", ["1e30", str(2**70), ".inf"])
def test_rates_beyond_any_bundling_name_the_rate(tmp_path: Path, rate: str) -> None:
    result = _validate(two_site_config(), tmp_path, f"workloads.0.rate_per_h={rate}")
    assert result.exit_code == 2
    assert "rate_per_h" in result.output and "Traceback" not in result.output


def test_booleans_are_not_numbers_but_are_booleans(tmp_path: Path) -> None:
    assert _validate(two_site_config(), tmp_path, "engine.job_scale=true").exit_code == 2
    assert "not a boolean" in _validate(two_site_config(), tmp_path, "workloads.0.job_scale=true").output
    assert _validate(two_site_config(), tmp_path, "energy.dc_tariff=true").exit_code == 0
    # numbers written as YAML strings (PyYAML reads 2.5e3 as a string) still parse
    assert _validate(two_site_config(), tmp_path, "workloads.0.rate_per_h='2.5e3'").exit_code == 0
