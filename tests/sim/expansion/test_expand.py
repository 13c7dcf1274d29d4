"""``edwc expand`` end to end on the hand-solvable case, and its failure modes."""

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

from models.plan.expansion import solve_expansion
from sim.cli.main import cli
from sim.config_io import validate_config
from sim.expansion.year import expansion_weights, year_model

# building the 100-server shortfall at a instead of b costs 1000 CNY more a year and saves
# 8760 h x 1 kWh x 0.6 kg/kWh = 5.256 t: the carbon price threshold is 190.26 CNY/t
THRESHOLD = 1000.0 / (8760 * 0.6 / 1000)

HAND: dict[str, Any] = {
    "name": "hand",
    "horizon_h": 24,
    "topology": {
        "regions": [{"id": "r"}],
        "clusters": [
            {
                "id": "a",
                "servers": 100,
                "pue": 1.0,
                "tariff_cny_per_kwh": 0.5,
                "grid_kgco2_per_kwh": 0.2,
                "capex_cny_per_server_year": 2000,
            },
            {
                "id": "b",
                "servers": 100,
                "pue": 1.0,
                "tariff_cny_per_kwh": 0.5,
                "grid_kgco2_per_kwh": 0.8,
                "capex_cny_per_server_year": 1000,
                "side": "west",
            },
        ],
        "latency_ms": {"r": {"a": 5.0, "b": 10.0}},
    },
    "workloads": [
        {
            "name": "batch",
            "kind": "batch",
            "rate_per_h": 300,
            "service": {"dist": "fixed", "mean_s": 3600},
            "deadline_h": 1,
        },
    ],
    "energy": {"idle_w": 1, "peak_w": 1000},
    "policy": {"name": "lp", "weights": {"latency_cny_per_ms_sh": 0}},
    "engine": {"timestep_s": 3600},
    "expansion": {"base_year": 2025, "target_years": [2025], "rho_max": 1.0, "typical_days": 4},
}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def expand(tmp_path: Path, doc: dict[str, Any], *args: str) -> tuple[int, str, Path]:
    path = write(tmp_path, doc)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["expand", str(path), "--out", str(out), "--no-validate", *args])
    return res.exit_code, res.output, out


def test_hand_case_builds_the_shortfall_at_the_cheaper_site(tmp_path: Path) -> None:
    code, output, out = expand(tmp_path, HAND)
    assert code == 0, output
    df = pd.read_parquet(out / "expansion.parquet").set_index("cluster")
    assert df.loc["a", "new_servers"] == pytest.approx(0.0, abs=1e-6)
    assert df.loc["b", "new_servers"] == pytest.approx(100.0, abs=1e-6)
    assert df.loc["b", "capex_cny_per_year"] == pytest.approx(100 * 1000.0)
    assert df.loc["b", "new_mw"] == pytest.approx(0.1)  # 100 servers x 1 kW x PUE 1
    for col in ("cluster", "new_servers", "new_mw", "capex_cny_per_year", "utilisation"):
        assert col in df.reset_index().columns
    doc = json.loads((out / "expansion.json").read_text())
    p = doc["periods"][0]
    assert p["cost_breakdown_cny_per_year"]["capex_servers_cny"] == pytest.approx(1e5)
    # energy: 300 busy servers all year at 1 kWh each, 0.5 CNY/kWh
    assert p["cost_breakdown_cny_per_year"]["energy_cny"] == pytest.approx(300 * 8760 * 0.5, rel=1e-6)
    assert p["duals"]["capacity_cny_per_server_year"]["b"] == pytest.approx(1000.0, rel=1e-6)
    assert p["model"]["n_variables"] > 0 and p["model"]["n_constraints"] > 0


@pytest.mark.parametrize(("factor", "site"), [(0.95, "b"), (1.05, "a")])
def test_carbon_price_above_the_threshold_moves_the_build(tmp_path: Path, factor: float, site: str) -> None:
    code, output, out = expand(tmp_path, HAND, "--set", f"energy.carbon_price_cny_per_t={factor * THRESHOLD}")
    assert code == 0, output
    df = pd.read_parquet(out / "expansion.parquet").set_index("cluster")
    assert df.loc[site, "new_servers"] == pytest.approx(100.0, abs=1e-6)


def test_zero_growth_with_ample_capacity_builds_nothing(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["workloads"][0]["rate_per_h"] = 120
    doc["expansion"].update(target_years=[2027, 2030], growth={"default": 0.0})
    code, output, out = expand(tmp_path, doc)
    assert code == 0, output
    df = pd.read_parquet(out / "expansion.parquet")
    assert sorted(df["year"].unique()) == [2027, 2030]
    assert np.allclose(df["new_servers"], 0.0, atol=1e-9)


def test_growth_and_multi_period_carry_builds_forward(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["workloads"][0]["rate_per_h"] = 150
    doc["expansion"].update(
        base_year=2025, target_years=[2026, 2027], growth={"default": 0.5}, capex_decline=0.0
    )
    code, output, out = expand(tmp_path, doc)
    assert code == 0, output
    p = json.loads((out / "expansion.json").read_text())["periods"]
    # 150 x 1.5 = 225 (25 short of 200... plus) then 337.5: builds 25 then 112.5, all at b
    assert p[0]["new_servers"]["b"] == pytest.approx(25.0, abs=1e-6)
    assert p[1]["installed_servers"]["b"] == pytest.approx(125.0, abs=1e-6)
    assert p[1]["new_servers"]["b"] == pytest.approx(112.5, abs=1e-6)


def test_infeasible_target_exits_2_naming_it(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["expansion"]["targets"] = {"min_occupancy": {"a": 0.5}, "min_west_share": 0.9}
    doc["workloads"][0]["rate_per_h"] = 100  # a at 50 % needs 50 sh/h, the west 90 sh/h: 140 > 100
    code, output, out = expand(tmp_path, doc)
    assert code == 2, output
    assert "expansion.targets" in output and ("min_occupancy" in output or "min_west_share" in output)
    assert "cannot be met" in output and "Traceback" not in output
    assert not (out / "expansion.json").exists()


def test_unknown_cluster_in_expansion_is_bad_input(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["expansion"]["clusters"] = {"nowhere": {"max_new_servers": 5}}
    code, output, _ = expand(tmp_path, doc)
    assert code == 2 and "expansion.clusters.nowhere" in output


def test_typical_days_365_equal_the_full_year(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["workloads"][0].update(diurnal="daytime", weekend_factor=0.6, deadline_h=6)
    doc["topology"]["clusters"][1]["green_share"] = 0.3
    objective = {}
    for k in (365, "full"):
        d = copy.deepcopy(doc)
        d["expansion"]["typical_days"] = k
        d["expansion"]["peak_day"] = False
        cfg = validate_config(d, "x.yaml")
        ym = year_model(cfg, "x.yaml", 2025)
        assert ym.typical.k == 365
        objective[k] = solve_expansion(ym.inputs, expansion_weights(cfg)).objective_cny
    assert objective[365] == pytest.approx(objective["full"], rel=1e-9)
    # and 4 typical days approximate it (weekday / weekend are the only kinds of day here)
    d = copy.deepcopy(doc)
    d["expansion"]["peak_day"] = False
    cfg = validate_config(d, "x.yaml")
    approx = solve_expansion(year_model(cfg, "x.yaml", 2025).inputs, expansion_weights(cfg)).objective_cny
    assert approx == pytest.approx(objective["full"], rel=1e-3)


def test_validation_run_and_report(tmp_path: Path) -> None:
    doc = copy.deepcopy(HAND)
    doc["expansion"]["validation"] = {"hours": 12}
    doc["workloads"][0]["deadline_h"] = 4
    path = write(tmp_path, doc)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["expand", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    v = json.loads((out / "expansion.json").read_text())["validation"]
    assert v["policy"] == "lp" and v["hours"] == 12
    assert v["clusters"]["b"]["servers"] == 200
    assert v["classes"]["batch"]["planned_served_share"] == pytest.approx(1.0)
    assert 0.0 <= v["classes"]["batch"]["realised_slo_compliance"] <= 1.0
    assert v["energy_kwh"]["realised"] > 0
    assert (out / "validation" / "summary.json").is_file()
    vs = json.loads((out / "validation" / "summary.json").read_text())
    assert vs["power_management"]["mode"] == "planned"  # like the plan: only active servers powered
    assert (out / "report.html").is_file() and (out / "expansion_cost.png").is_file()
    again = CliRunner().invoke(cli, ["report", str(out)])
    assert again.exit_code == 0, again.output


def test_seeds_pue_caps_cover_the_national_clusters_and_leave_the_metro_areas_uncapped() -> None:
    from models.reference import national_reference
    from sim.expansion.costs import targets
    from sim.scenario import build_scenario

    doc = yaml.safe_load((Path(__file__).parents[3] / "configs" / "expansion_2030.yaml").read_text())
    cfg = validate_config(doc, "expansion_2030.yaml")
    scn = build_scenario(cfg, "expansion_2030.yaml")
    t = targets(cfg, "expansion_2030.yaml", scn)
    caps = {c.id: c.pue_max.scalar for c in national_reference().clusters}
    assert t.pue_max is not None
    for site, cap in zip(scn.topology.sites, t.pue_max, strict=True):  # both pools of a site
        if site in caps:
            assert cap == caps[site]
        else:
            assert site.endswith("_metro") and np.isnan(cap)


def test_validation_uses_every_new_server_at_a_partly_occupied_site(tmp_path: Path) -> None:
    """The plan counts occupied servers; the validation fleet must hold exactly those.

    At site b only half of the 200 built servers are occupied (上架率 0.5): the plan sees
    100 usable ones and builds what is missing. New servers are built to be used, so the
    validation run's usable servers are the plan's installed + new (not (built + new) x 0.5).
    """
    doc = copy.deepcopy(HAND)
    doc["topology"]["clusters"][1].update(servers=200, occupancy=0.5)
    doc["workloads"][0]["rate_per_h"] = 400
    doc["expansion"]["validation"] = {"hours": 2}
    path = write(tmp_path, doc)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["expand", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    plan = pd.read_parquet(out / "expansion.parquet").set_index("cluster")
    usable = json.loads((out / "validation" / "summary.json").read_text())["clusters"]
    for cid in ("a", "b"):
        want = plan.loc[cid, "installed_servers"] + plan.loc[cid, "new_servers"]
        assert usable[cid]["servers"] == pytest.approx(want, abs=1.0), (cid, usable[cid], want)
    assert plan.loc["b", "installed_servers"] == pytest.approx(100.0)
    assert plan["new_servers"].sum() > 0


def test_gpu_work_is_built_on_gpu_pools_and_the_validation_fleet_keeps_the_split(tmp_path: Path) -> None:
    """Site a holds 100 CPU + 20 GPU servers (gpu_share 1/6); a GPU class needs 50 GPU servers.

    The CPU shortfall (300 sh/h against 100 + 100) is built as before at b, the GPU shortfall
    at a's GPU pool (b has none, and a GPU pool is only ever a GPU class's); the validation run
    is given a's new GPU share, so its pools hold exactly the plan's servers.
    """
    doc = copy.deepcopy(HAND)
    doc["topology"]["clusters"][0].update(servers=120, gpu_share=20 / 120)
    doc["workloads"].append(
        {
            "name": "train",
            "kind": "batch",
            "server_type": "gpu",
            "rate_per_h": 50,
            "service": {"dist": "fixed", "mean_s": 3600},
            "deadline_h": 1,
        }
    )
    doc["energy"].update(gpu_idle_w=1, gpu_peak_w=4000)
    doc["expansion"].update(gpu_capex_cny_per_server_year=30000, validation={"hours": 2})
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["expand", str(write(tmp_path, doc)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    plan = pd.read_parquet(out / "expansion.parquet").set_index("cluster")
    assert plan.loc["a_gpu", "installed_servers"] == pytest.approx(20.0)
    assert plan.loc["a_gpu", "new_servers"] == pytest.approx(30.0, abs=1e-6)
    assert plan.loc["a_gpu", "capex_cny_per_year"] == pytest.approx(30.0 * 30000, rel=1e-6)
    assert plan.loc["b", "new_servers"] == pytest.approx(100.0, abs=1e-6)
    usable = json.loads((out / "validation" / "summary.json").read_text())["clusters"]
    for cid in ("a", "a_gpu", "b"):
        want = plan.loc[cid, "installed_servers"] + plan.loc[cid, "new_servers"]
        assert usable[cid]["servers"] == pytest.approx(want, abs=1.0), (cid, usable[cid], want)


def _candidate_run(tmp_path: Path, capex: float) -> tuple[Path, dict[str, Any]]:
    """The hand case with a candidate site c like b at ``capex``, expanded and validated."""
    doc = copy.deepcopy(HAND)
    doc["expansion"].update(
        candidates={"c": {"like": "b", "capex_cny_per_server_year": capex}}, validation={"hours": 2}
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["expand", str(write(tmp_path, doc)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, doc


def test_a_candidate_site_is_built_from_zero_when_it_is_the_cheapest_and_joins_the_validation(
    tmp_path: Path,
) -> None:
    """Candidate c is like b (same prices and grid, b's RTT column) at half b's capex: the
    100-server shortfall is built at c, from zero, and the validation run simulates c."""
    out, _ = _candidate_run(tmp_path, capex=500)
    plan = pd.read_parquet(out / "expansion.parquet").set_index("cluster")
    assert plan.loc["c", "installed_servers"] == pytest.approx(0.0)
    assert plan.loc["c", "new_servers"] == pytest.approx(100.0, abs=1e-6)
    assert plan[["new_servers"]].drop(index="c").sum().item() == pytest.approx(0.0, abs=1e-6)
    meta = json.loads((out / "expansion.json").read_text())["clusters"]
    assert meta["c"]["candidate"] is True and meta["a"]["candidate"] is False
    usable = json.loads((out / "validation" / "summary.json").read_text())["clusters"]
    assert usable["c"]["servers"] == 100


def test_an_unbuilt_candidate_stays_out_of_the_validation_and_a_bad_like_is_bad_input(tmp_path: Path) -> None:
    out, doc = _candidate_run(tmp_path, capex=5000)
    assert "c" not in json.loads((out / "validation" / "summary.json").read_text())["clusters"]
    doc["expansion"]["candidates"] = {"c": {"like": "nowhere"}}
    bad = tmp_path / "bad"
    bad.mkdir()
    code, output, _ = expand(bad, doc)
    assert code == 2 and "expansion.candidates.c.like" in output


def test_a_candidate_does_not_move_the_typical_days() -> None:
    """A candidate's profiles are its like site's: the representative year is chosen as without it.

    (At the like site's own place; elsewhere it may bring demand within an SLO that was out of
    reach, which changes the demand profile, and so the typical days, rightly.)"""
    doc = yaml.safe_load((Path(__file__).parents[3] / "configs" / "expansion_2030.yaml").read_text())
    doc["expansion"]["typical_days"] = 4
    base = year_model(validate_config(copy.deepcopy(doc), "e"), "e", 2030)
    doc["expansion"]["candidates"] = {"ulanqab": {"like": "helingeer"}}
    cand = year_model(validate_config(doc, "e"), "e", 2030)
    np.testing.assert_array_equal(cand.typical.weight, base.typical.weight)
    np.testing.assert_array_equal(cand.typical.assignment, base.typical.assignment)
    topo = cand.scenario.topology
    for new, like in (("ulanqab", "helingeer"), ("ulanqab_gpu", "helingeer_gpu")):
        i, j = topo.cluster_index(new), topo.cluster_index(like)
        for name in ("pue", "tariff", "grid", "green"):
            np.testing.assert_array_equal(cand.typical.series[name][:, i], cand.typical.series[name][:, j])
        assert cand.inputs.installed_servers[i] == 0.0
