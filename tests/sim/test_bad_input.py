"""Bad input gets exit code 2 and one message naming the file and key path."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli.main import cli
from tests.helpers import two_site_config

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        node: Any = doc
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value

    return mutate


def _del(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        node: Any = doc
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        del node[parts[-1]]

    return mutate


# (id, mutation, text the message must contain)
CASES: list[tuple[str, Callable[[Doc], None], str]] = [
    ("rate not a number", _set("workloads.0.rate_per_h", "fast"), "workloads[0].rate_per_h"),
    ("negative rate", _set("workloads.0.rate_per_h", -5), "workloads[0].rate_per_h"),
    ("unknown top-level key", _set("colour", "blue"), "colour"),
    ("unknown workload key", _set("workloads.0.sla", 3), "workloads[0].sla"),
    (
        "unknown cluster override",
        _set("overrides.clusters.atlantis", {"servers": 5}),
        "overrides.clusters.atlantis",
    ),
    ("empty workloads", _set("workloads", []), "workloads"),
    ("zero horizon", _set("horizon_h", 0), "horizon_h"),
    ("unknown kind", _set("workloads.0.kind", "realtime"), "workloads[0].kind"),
    ("latency without slo", _del("workloads.0.slo_ms"), "workloads[0]"),
    ("unknown policy", _set("policy.name", "fastest"), "policy.name"),
    ("unknown region weight", _set("workloads.0.regions", {"mars": 1.0}), "workloads[0].regions.mars"),
    ("negative seed", _set("seed", -1), "seed"),
    ("naive start time", _set("start", "2025-07-01T00:00:00"), "start"),
    ("unknown service dist", _set("workloads.0.service.dist", "weibull"), "workloads[0].service.dist"),
    ("unknown topology", _set("topology", "europe"), "topology"),
    ("missing name", _del("name"), "name"),
    ("duplicate workload", lambda d: d["workloads"].append(copy.deepcopy(d["workloads"][0])), "workloads"),
    ("bad timestep", _set("engine.timestep_s", 7), "engine.timestep_s"),
    ("unknown policy param", _set("policy.params", {"alpha": 1}), "policy.params.alpha"),
    ("zero job scale", _set("engine.job_scale", 0), "engine.job_scale"),
    ("string servers", _set("topology.clusters.0.servers", "many"), "topology.clusters[0].servers"),
    ("duplicate cluster ids", _set("topology.clusters.1.id", "east1"), "topology"),
    (
        "rtt matrix misses a cluster",
        _set("topology.latency_ms", {"beijing": {"east1": 3}, "shanghai": {"east1": 9}}),
        "topology",
    ),
    (
        "disabled every cluster",
        _set("overrides.clusters", {"east1": {"enabled": False}, "west1": {"enabled": False}}),
        "overrides.clusters",
    ),
    ("slo on batch", _set("workloads.1.slo_ms", 5), "workloads[1]"),
    ("unknown bundling", lambda d: d.update(engine={"bundling": "later"}), "engine.bundling"),
    (
        "pool scale without pool bundling",
        lambda d: d.update(engine={"pool_job_scale": {"east1": 10}}),
        "engine.pool_job_scale.east1",
    ),
    (
        "pool scale of an unknown pool",
        lambda d: d.update(engine={"bundling": "pool", "pool_job_scale": {"atlantis": 10}}),
        "engine.pool_job_scale.atlantis",
    ),
    (
        "a batch class's own scale with pool bundling",
        lambda d: (d.update(engine={"bundling": "pool"}), d["workloads"][1].update(job_scale=10)),
        "workloads[1].job_scale",
    ),
    (
        "pooled run over the job budget",
        lambda d: d.update(engine={"bundling": "pool", "max_jobs": 10}),
        "engine.pool_job_scale.east1",
    ),
]


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize(("mutate", "needle"), [(m, n) for _, m, n in CASES], ids=[c[0] for c in CASES])
def test_malformed_config_exits_2_naming_the_key(
    tmp_path: Path, mutate: Callable[[Doc], None], needle: str
) -> None:
    doc = two_site_config()
    mutate(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = _invoke(["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: x\nworkloads: [\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a YAML mapping"),
        ("", "expected a YAML mapping"),
        ("name: x\n\tbad: tab\n", "not valid YAML"),
    ],
)
def test_unparseable_yaml_exits_2(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = _invoke(["validate", str(path)])
    assert result.exit_code == 2
    assert needle in result.output and str(path) in result.output


def test_missing_file_and_bad_set(tmp_path: Path) -> None:
    result = _invoke(["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(two_site_config()))
    result = _invoke(["validate", str(good), "--set", "workloads.9.rate_per_h=1"])
    assert result.exit_code == 2 and "--set" in result.output
    result = _invoke(["validate", str(good), "--set", "no_equals_sign"])
    assert result.exit_code == 2
    result = _invoke(["validate", str(good), "--set", "workloads.0.rate_per_h=-3"])
    assert result.exit_code == 2 and "workloads[0].rate_per_h" in result.output


def test_real_process_exit_code_and_no_output_files(tmp_path: Path) -> None:
    doc = two_site_config()
    doc["workloads"][0]["rate_per_h"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli.main", "run", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "workloads[0].rate_per_h" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


# ----------------------------------------------------------------------------- hypothesis

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


BASE = two_site_config(horizon_h=0.05)
PATHS = _paths(BASE)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _leaf), min_size=1, max_size=3))
def test_mutated_configs_never_give_a_traceback(
    tmp_path: Path, edits: list[tuple[tuple[Any, ...], Any]]
) -> None:
    doc = copy.deepcopy(BASE)
    for path, value in edits:
        node: Any = doc
        try:
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    f = tmp_path / "h.yaml"
    f.write_text(yaml.safe_dump(doc))
    result = _invoke(["validate", str(f)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
