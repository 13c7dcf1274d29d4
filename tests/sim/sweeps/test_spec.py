"""Sweep specs: parsing, grid/zip/random expansion, seeds, run ids (no runs are simulated)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import InputError
from sim.sweeps.args import cli_axis, spec_from_cli
from sim.sweeps.spec import (
    Axis,
    SweepSpec,
    is_spec,
    parse_spec,
    plan_runs,
    points,
    range_values,
    run_seed,
)
from tests.helpers import two_site_config


def _files(tmp_path: Path, spec: dict[str, Any]) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(two_site_config(horizon_h=0.5)))
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", **spec}, sort_keys=False))
    return path


def _spec(tmp_path: Path, spec: dict[str, Any]) -> SweepSpec:
    path = _files(tmp_path, spec)
    return parse_spec(yaml.safe_load(path.read_text()), path)


def test_grid_zip_random_expansion_counts(tmp_path: Path) -> None:
    axes: dict[str, list[Any]] = {
        "policy.name": ["nearest", "cheapest", "greenest"],
        "energy.carbon_price_cny_per_t": [0, 50, 100],
    }
    grid = plan_runs(_spec(tmp_path, {"axes": axes, "replications": 2}))
    assert len(grid) == 3 * 3 * 2
    assert {(t.values["policy.name"], t.values["energy.carbon_price_cny_per_t"]) for t in grid} == {
        (p, c) for p in axes["policy.name"] for c in axes["energy.carbon_price_cny_per_t"]
    }
    zipped = plan_runs(_spec(tmp_path, {"axes": axes, "mode": "zip"}))
    assert [tuple(t.values.values()) for t in zipped] == [("nearest", 0), ("cheapest", 50), ("greenest", 100)]
    rnd = _spec(
        tmp_path,
        {
            "mode": "random",
            "samples": 7,
            "replications": 2,
            "axes": {
                "energy.carbon_price_cny_per_t": {"dist": "loguniform", "low": 1, "high": 1000},
                "policy.params.threshold": {"dist": "uniform", "low": 0.5, "high": 0.9, "round": 2},
                "policy.name": ["spill_west"],
            },
        },
    )
    tasks = plan_runs(rnd)
    assert len(tasks) == 14
    for t in tasks:
        assert 1 <= t.values["energy.carbon_price_cny_per_t"] <= 1000
        assert 0.5 <= t.values["policy.params.threshold"] <= 0.9
        assert t.config["energy"]["carbon_price_cny_per_t"] == t.values["energy.carbon_price_cny_per_t"]
    assert plan_runs(rnd) == tasks  # the draws are a function of the sweep seed


def test_seeds_and_run_ids_are_deterministic_and_distinct(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"axes": {"policy.name": ["nearest", "cheapest"]}, "replications": 3, "seed": 5})
    tasks = plan_runs(spec)
    assert [t.seed for t in tasks] == [run_seed(5, t.index, t.replication) for t in tasks]
    assert len({t.seed for t in tasks}) == len({t.run_id for t in tasks}) == 6
    assert all(0 <= t.seed < 2**63 and t.config["seed"] == t.seed for t in tasks)
    other = plan_runs(_spec(tmp_path, {"axes": {"policy.name": ["nearest", "cheapest"]}, "replications": 3}))
    assert {t.seed for t in other}.isdisjoint({t.seed for t in tasks})


def test_range_axis_excludes_stop() -> None:
    assert range_values("s", "k", [0, 200, 50]) == (0, 50, 100, 150)
    assert range_values("s", "k", [0.1, 0.4, 0.1]) == (0.1, 0.2, 0.3)
    with pytest.raises(InputError, match="empty"):
        range_values("s", "k", [5, 0, 1])


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"axes": {"a": [1]}, "colour": 1}, "unknown key"),
        ({"axes": {"a": {"dist": "uniform", "low": 0, "high": 1}}}, "mode: random"),
        ({"axes": {"a": [1]}, "mode": "random"}, "samples"),
        ({"axes": {"a": [1, 2], "b": [1]}, "mode": "zip"}, "equal lengths"),
        ({"axes": {"a": []}}, "at least one value"),
        ({"axes": {"a": [1]}, "mode": "sideways"}, "expected one of"),
        ({"axes": {"a": {"dist": "gamma"}}, "mode": "random", "samples": 2}, "expected one of"),
        (
            {"axes": {"a": {"dist": "loguniform", "low": 0, "high": 1}}, "mode": "random", "samples": 2},
            "low > 0",
        ),
        ({"axes": {"seed": [1, 2]}, "replications": 2}, "replications must be 1"),
    ],
)
def test_bad_specs_are_input_errors(tmp_path: Path, spec: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        _spec(tmp_path, spec)


def test_invalid_combination_names_the_axis_value(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {"axes": {"policy.name": ["nearest", "nosuch"]}})
    with pytest.raises(InputError) as err:
        plan_runs(spec)
    text = err.value.render()
    assert "policy.name='nosuch'" in text and "unknown policy" in text
    spec = _spec(tmp_path, {"axes": {"horizon_h": [1, -1]}})
    with pytest.raises(InputError, match="horizon_h=-1"):
        plan_runs(spec)


def test_command_line_axes(tmp_path: Path) -> None:
    assert cli_axis("--grid", "policy.name=nearest,lp") == ("policy.name", ["nearest", "lp"])
    assert cli_axis("--grid", "x=0,1.5,true") == ("x", [0, 1.5, True])
    assert cli_axis("--random", "x=normal:0,2") == ("x", {"dist": "normal", "mean": 0, "sd": 2})
    assert cli_axis("--random", "x=choice:a,b") == ("x", {"dist": "choice", "values": ["a", "b"]})
    with pytest.raises(InputError, match="takes 2 parameters"):
        cli_axis("--random", "x=uniform:1")
    _files(tmp_path, {})
    base = tmp_path / "base.yaml"
    doc = yaml.safe_load(base.read_text())
    assert not is_spec(doc)
    spec = spec_from_cli(base, doc, {"--zip": ["horizon_h=0.5,1", "seed=3,4"]}, ["policy.name=cheapest"])
    assert spec.mode == "zip" and spec.sets == {"policy.name": "cheapest"} and len(points(spec)) == 2
    with pytest.raises(InputError, match="cannot mix"):
        spec_from_cli(base, doc, {"--grid": ["a=1"], "--zip": ["b=1"]}, [])
    rnd = spec_from_cli(base, doc, {"--random": ["horizon_h=uniform:0.2,0.6"]}, [], samples=4, seed=9)
    assert all(0.2 <= p["horizon_h"] <= 0.6 for p in points(rnd)) and len(points(rnd)) == 4


# ----------------------------------------------------------------------------- hypothesis

_values = st.lists(st.integers(-5, 5), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(_values, min_size=0, max_size=4))
def test_grid_size_is_the_product_of_axis_lengths(columns: list[list[int]]) -> None:
    spec = SweepSpec(
        "s", Path("b.yaml"), "s", axes=tuple(Axis(f"k{i}", tuple(c)) for i, c in enumerate(columns))
    )
    pts = points(spec)
    assert len(pts) == math.prod(len(c) for c in columns)
    for i, c in enumerate(columns):  # every value of an axis appears once per combination of the others
        assert sorted(p[f"k{i}"] for p in pts) == sorted(c * (len(pts) // len(c)))


@settings(max_examples=60, deadline=None)
@given(st.lists(_values, min_size=1, max_size=4))
def test_zip_requires_equal_lengths(columns: list[list[int]]) -> None:
    doc = {"base": "b.yaml", "mode": "zip", "axes": {f"k{i}": c for i, c in enumerate(columns)}}
    if len({len(c) for c in columns}) == 1:
        spec = parse_spec(doc, Path("spec.yaml"))
        assert points(spec) == [
            {f"k{i}": c[j] for i, c in enumerate(columns)} for j in range(len(columns[0]))
        ]
    else:
        with pytest.raises(InputError, match="equal lengths"):
            parse_spec(doc, Path("spec.yaml"))


def test_common_seeds_give_every_point_the_same_replication_seeds(tmp_path: Path) -> None:
    from sim.sweeps.spec import parse_spec, plan_runs

    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(two_site_config()))
    doc = {"base": "base.yaml", "axes": {"energy.carbon_price_cny_per_t": [0, 50, 100]}, "replications": 2}
    indep = plan_runs(parse_spec(doc, tmp_path / "s.yaml"), check=False)
    common = plan_runs(parse_spec({**doc, "seeds": "common"}, tmp_path / "s.yaml"), check=False)
    assert len({t.seed for t in indep}) == 6  # every run its own seed
    assert {t.replication: t.seed for t in common} == {t.replication: t.seed for t in common if t.index == 0}
    assert len({t.seed for t in common}) == 2
    assert len({t.run_id for t in common}) == 6  # still six distinct runs
