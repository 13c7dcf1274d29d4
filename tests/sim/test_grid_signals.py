"""Hourly grid signals in runs: profiles, residual mix, marginal vs average, bad profiles exit 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from models.reference import national_reference
from sim.cli.main import cli
from sim.config_io import validate_config
from sim.runner import run
from sim.scenario import build_scenario
from tests.helpers import run_in_memory, scenario_of, two_site_config
from tests.models.energy.test_grid_profile import MALFORMED


def _national(horizon_h: float = 2.0) -> dict[str, Any]:
    return {
        "name": "nat",
        "seed": 3,
        "horizon_h": horizon_h,
        "workloads": [
            {"name": "web", "kind": "latency", "rate_per_h": 20000, "service": {"mean_s": 30}, "slo_ms": 40},
            {
                "name": "etl",
                "kind": "batch",
                "rate_per_h": 300,
                "service": {"mean_s": 1800},
                "deadline_h": 12,
            },
        ],
        "engine": {"job_scale": 20},
    }


def _write_profile(path: Path, cluster_ids: tuple[str, ...], columns: dict[str, np.ndarray]) -> None:
    hours = next(iter(columns.values())).shape[1]
    df = pd.DataFrame(
        {
            "hour": np.tile(np.arange(hours), len(cluster_ids)),
            "cluster": np.repeat(list(cluster_ids), hours),
            **{k: v.ravel() for k, v in columns.items()},
        }
    )
    df.to_csv(path, index=False)


def _run_folder(doc: dict[str, Any], base: Path, out: Path) -> dict[str, Any]:
    cfg = validate_config(copy.deepcopy(doc), str(base / "c.yaml"))
    return run(cfg, str(base / "c.yaml"), out, base_dir=base).summary


def test_a_profile_equal_to_the_constants_reproduces_the_run_byte_for_byte(tmp_path: Path) -> None:
    doc = _national()
    plain = validate_config(copy.deepcopy({**doc, "energy": {"residual_mix": False}}), "x")
    scn = build_scenario(
        plain, "x"
    )  # the provincial average factors and TOU tariffs, before the residual mix
    # a profile names sites: the first column of each is its CPU pool (the pools share the signals)
    topo = scn.topology
    first = [topo.site_indices(s)[0] for s in dict.fromkeys(topo.sites)]
    _write_profile(
        tmp_path / "p.csv",
        tuple(topo.sites[c] for c in first),
        {
            "grid_kgco2_per_kwh": scn.energy.grid_kgco2_per_kwh[first],
            "tariff_cny_per_kwh": scn.energy.tariff_cny_per_kwh[first],
        },
    )
    a = _run_folder(doc, tmp_path, tmp_path / "a")
    b = _run_folder({**doc, "energy": {"grid_profile": "p.csv"}}, tmp_path, tmp_path / "b")
    for name in ("jobs.parquet", "timeseries.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for s in (a, b):
        for key in ("wall_s", "simulation_s", "carbon"):
            s.pop(key)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_the_residual_mix_applies_where_green_power_is_contracted() -> None:
    ref = national_reference()
    ratio = 0.5856 / 0.5366
    assert ref.grid_carbon.residual_ratio == pytest.approx(ratio)
    on = scenario_of(_national(1))
    off = scenario_of({**_national(1), "energy": {"residual_mix": False}})
    by_id = {c.id: c for c in [*ref.clusters, *ref.metro_dcs]}
    for c, cid in enumerate(on.topology.sites):  # every pool of a site has the site's factors
        avg = ref.provinces[by_id[cid].province].grid_kgco2_per_kwh.scalar
        assert off.energy.grid_kgco2_per_kwh[c] == pytest.approx(avg)
        contracted = by_id[cid].green_share.scalar > 0
        want = avg * ratio if contracted else avg
        assert on.energy.grid_kgco2_per_kwh[c] == pytest.approx(want, rel=1e-12)
    assert any(c.green_share.scalar > 0 for c in ref.clusters)
    custom = scenario_of({**_national(1), "energy": {"residual_ratio": 1.5}})
    assert custom.energy.grid_kgco2_per_kwh.max() > on.energy.grid_kgco2_per_kwh.max()


def _two_clusters(policy: str, signal: str) -> dict[str, Any]:
    """Cluster a is cleaner on average, cluster b at the margin; both 5 ms away."""
    return {
        "name": "flip",
        "seed": 1,
        "horizon_h": 3,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [
                {"id": "a", "servers": 100, "grid_kgco2_per_kwh": 0.3, "marginal_kgco2_per_kwh": 0.9},
                {"id": "b", "servers": 100, "grid_kgco2_per_kwh": 0.6, "marginal_kgco2_per_kwh": 0.5},
            ],
            "latency_ms": {"r": {"a": 5.0, "b": 5.0}},
        },
        "workloads": [
            {"name": "etl", "kind": "batch", "rate_per_h": 60, "service": {"mean_s": 600}, "deadline_h": 2}
        ],
        "policy": {"name": policy, "weights": {"latency_cny_per_ms_sh": 0}},
        "energy": {"carbon_signal": signal, "carbon_price_cny_per_t": 5000},
    }


@pytest.mark.parametrize("policy", ["greenest", "lp"])
def test_marginal_and_average_rank_two_clusters_oppositely_and_flip_placement(policy: str) -> None:
    placed = {}
    for signal in ("average", "marginal"):
        _, out = run_in_memory(_two_clusters(policy, signal))
        jobs = out.jobs.to_pandas()
        placed[signal] = jobs.cluster.astype(str).value_counts(normalize=True).to_dict()
        s = out.summary
        assert s["tco2_marginal"] is not None and s["carbon"]["signal"] == signal
    assert placed["average"].get("a", 0) > 0.95
    assert placed["marginal"].get("b", 0) > 0.95


def test_marginal_accounting_is_net_grid_draw_times_the_marginal_factor() -> None:
    _, out = run_in_memory(_two_clusters("greenest", "average"))
    ts = out.timeseries.to_pandas()
    assert ts.tco2_marginal.to_numpy() == pytest.approx(ts.grid_kwh * ts.marginal_kgco2_per_kwh / 1000.0)
    assert out.summary["tco2_marginal"] == pytest.approx(ts.tco2_marginal.sum())
    # without a marginal factor the column is NaN and the summary says null
    _, plain = run_in_memory(two_site_config())
    assert plain.summary["tco2_marginal"] is None
    assert plain.timeseries.to_pandas().tco2_marginal.isna().all()


def test_a_marginal_signal_without_marginal_factors_is_bad_input() -> None:
    from models.errors import InputError

    doc = two_site_config()
    doc["energy"] = {"carbon_signal": "marginal"}
    with pytest.raises(InputError, match=r"energy\.carbon_signal"):
        scenario_of(doc)
    doc = _two_clusters("greenest", "average")
    del doc["topology"]["clusters"][1]["marginal_kgco2_per_kwh"]
    with pytest.raises(InputError, match="for every cluster"):
        scenario_of(doc)


def test_hourly_profile_values_drive_accounting_and_cheapest(tmp_path: Path) -> None:
    doc = two_site_config(horizon_h=4, policy="cheapest")
    hours = 4
    tariff = np.array([[0.1, 0.1, 0.9, 0.9], [0.5, 0.5, 0.5, 0.5]])
    grid = np.array([[0.2, 0.4, 0.6, 0.8], [0.1, 0.1, 0.1, 0.1]])
    _write_profile(
        tmp_path / "p.csv", ("east1", "west1"), {"tariff_cny_per_kwh": tariff, "grid_kgco2_per_kwh": grid}
    )
    doc["energy"] = {"grid_profile": "p.csv"}
    doc["workloads"] = doc["workloads"][1:]  # batch only: every cluster is a candidate
    scn = build_scenario(validate_config(doc, "x"), "x", base_dir=tmp_path)
    assert scn.energy.tariff_cny_per_kwh.tolist() == tariff.tolist()
    from sim.runner import simulate

    out = simulate(scn)
    ts = out.timeseries.to_pandas()
    hour = (ts.time_s // 3600).astype(int).to_numpy()
    c = ts.cluster.cat.codes.to_numpy() if hasattr(ts.cluster, "cat") else ts.cluster.to_numpy()
    assert ts.tariff_cny_per_kwh.tolist() == tariff[c, hour].tolist()
    assert ts.tco2.to_numpy() == pytest.approx(ts.grid_kwh * grid[c, hour] / 1000.0)
    jobs = out.jobs.to_pandas()
    first = jobs[jobs.arrival_s < 2 * 3600]
    later = jobs[jobs.arrival_s >= 2 * 3600]
    assert (first.cluster.astype(str) == "east1").all() and (later.cluster.astype(str) == "west1").all()
    assert hours == scn.n_hours


@pytest.mark.parametrize(("body", "key", "msg"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_every_malformed_profile_exits_2_naming_the_row(
    tmp_path: Path, body: str, key: str, msg: str
) -> None:
    doc = two_site_config(horizon_h=2)
    prof = tmp_path / "bad.csv"
    prof.write_text(body.replace(",a,", ",east1,"))
    doc["energy"] = {"grid_profile": "bad.csv"}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert str(prof) in result.output and key in result.output, result.output
    assert "Traceback" not in result.output
    assert not (out / "summary.json").exists()
