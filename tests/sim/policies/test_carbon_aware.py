"""Temporal shifting on a square-wave carbon signal: nearest by hand, lp ~ 0, carbon_aware = lp."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.config_io import validate_config
from sim.runner import Outputs, simulate
from sim.scenario import build_scenario

DIRTY, CLEAN = 1.0, 0.0  # kgCO2/kWh in hours 0-11 and 12-23
PEAK_KW = 0.5
SERVICE_H = 0.5


def _square_wave(tmp: Path, clean: float = CLEAN) -> Path:
    rows = "".join(f"{h},c,{DIRTY if h < 12 else clean}\n" for h in range(24))
    p = tmp / "square.csv"
    p.write_text("hour,cluster,grid_kgco2_per_kwh\n" + rows)
    return p


def _doc(policy: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One cluster, PUE 1, no idle power, a batch burst in hours 0-2 with a 24 h deadline."""
    return {
        "name": "square",
        "seed": 7,
        "horizon_h": 24,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": 300, "pue": 1.0, "tariff_cny_per_kwh": 0.5}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {
                "name": "burst",
                "kind": "batch",
                "rate_per_h": 10,  # x 8 in hours 0-2 (the profile has mean 1 over the day)
                "diurnal": [1, 1, 1] + [0] * 21,
                "service": {"dist": "fixed", "mean_s": SERVICE_H * 3600},
                "deadline_h": 24,
            }
        ],
        "policy": {"name": policy, "params": params or {}, "replan_h": 24, "lookahead_h": 24},
        "energy": {"grid_profile": "square.csv", "idle_w": 0, "peak_w": PEAK_KW * 1000,
                   "carbon_price_cny_per_t": 1000},
        "engine": {"timestep_s": 300},
    }  # fmt: skip


def _run(
    tmp: Path,
    policy: str,
    params: dict[str, Any] | None = None,
    clean: float = CLEAN,
    seed: int = 7,
    horizon_h: float = 24,
) -> Outputs:
    _square_wave(tmp, clean)
    doc = {**copy.deepcopy(_doc(policy, params)), "seed": seed, "horizon_h": horizon_h}
    doc["energy"]["grid_profile_repeat"] = True  # runs past hour 24 see the next (dirty) morning
    cfg = validate_config(doc, "square.yaml")
    return simulate(build_scenario(cfg, "square.yaml", base_dir=tmp))


def test_nearest_emits_the_hand_computed_amount(tmp_path: Path) -> None:
    out = _run(tmp_path, "nearest")
    jobs = out.jobs.to_pandas()
    assert len(jobs) > 150 and (jobs.arrival_s < 3 * 3600).all()
    assert (jobs.status.astype(str) == "completed").all()
    assert (jobs.wait_s.abs() < 1e-6).all() and (
        jobs.end_s < 12 * 3600
    ).all()  # no queue, all in the dirty half
    # every job: 0.5 h x 0.5 kW x PUE 1 x 1 kg/kWh, nothing else draws power
    by_hand = len(jobs) * SERVICE_H * PEAK_KW * DIRTY / 1000.0
    assert out.summary["tco2"] == pytest.approx(by_hand, rel=1e-9)


def test_lp_with_a_carbon_price_moves_the_burst_into_clean_hours(tmp_path: Path) -> None:
    nearest = _run(tmp_path, "nearest").summary
    lp = _run(tmp_path, "lp")
    jobs = lp.jobs.to_pandas()
    assert (jobs.status.astype(str) == "completed").all()
    assert (jobs.start_s >= 12 * 3600).mean() > 0.99
    assert lp.summary["tco2"] < 0.01 * nearest["tco2"]
    assert lp.summary["energy_kwh"] == pytest.approx(nearest["energy_kwh"], rel=0.02)


def test_carbon_aware_with_a_perfect_forecast_matches_lp(tmp_path: Path) -> None:
    nearest = _run(tmp_path, "nearest").summary
    lp = _run(tmp_path, "lp").summary
    ca = _run(tmp_path, "carbon_aware", {"forecast_error": 0.0})
    jobs = ca.jobs.to_pandas()
    assert (jobs.status.astype(str) == "completed").all()
    assert (jobs.start_s >= 12 * 3600).all()  # every job waits for the first clean hour
    assert (jobs.response_s <= 24 * 3600).all()
    assert ca.summary["tco2"] == pytest.approx(lp["tco2"], abs=0.01 * nearest["tco2"])
    assert ca.summary["tco2"] == 0.0


def test_forecast_error_costs_carbon_but_never_a_deadline(tmp_path: Path) -> None:
    # clean hours at 0.2: a multiplicative error cannot make a zero look dirty
    # (one forecast per hour: three decisions per run, so several seeds)
    worse = 0
    for seed in range(4):
        nearest = _run(tmp_path, "nearest", clean=0.2, seed=seed).summary
        perfect = _run(tmp_path, "carbon_aware", clean=0.2, seed=seed).summary
        noisy = _run(tmp_path, "carbon_aware", {"forecast_error": 2.0}, clean=0.2, seed=seed)
        jobs = noisy.jobs.to_pandas()
        assert (jobs.status.astype(str) == "completed").all()
        assert (jobs.response_s <= 24 * 3600 + 1e-6).all()
        assert perfect["tco2"] == pytest.approx(0.2 * nearest["tco2"], rel=1e-9)
        assert perfect["tco2"] <= noisy.summary["tco2"] + 1e-12 <= nearest["tco2"] + 1e-12
        worse += noisy.summary["tco2"] > perfect["tco2"] * (1 + 1e-9)
    assert worse >= 1


def test_threshold_strategy_runs_at_once_when_clean_enough(tmp_path: Path) -> None:
    out = _run(tmp_path, "carbon_aware", {"threshold_kgco2_per_kwh": 1.0})
    jobs = out.jobs.to_pandas()
    assert (jobs.wait_s.abs() < 1e-6).all()  # the dirty hours are at the threshold: nothing is held
    held = _run(tmp_path, "carbon_aware", {"threshold_kgco2_per_kwh": 0.5})
    assert (held.jobs.to_pandas().start_s >= 12 * 3600).all()


def test_carbon_aware_wraps_any_routing_policy_and_checks_its_params(tmp_path: Path) -> None:
    from models.errors import InputError
    from sim.policies import make_policy

    _square_wave(tmp_path)
    for bad, key in (({"route": "carbon_aware"}, "policy.params.route"),
                     ({"route": "fastest"}, "policy.name"),
                     ({"route_params": {"alpha": 1}}, "policy.params.route_params"),
                     ({"route": "spill_west", "route_params": {"threshold": 2}},
                      "policy.params.route_params.threshold"),
                     ({"forecast_error": -1}, "policy.params.forecast_error"),
                     ({"max_utilisation": True}, "policy.params.max_utilisation")):  # fmt: skip
        cfg = validate_config(_doc("carbon_aware", bad), "square.yaml")
        with pytest.raises(InputError) as err:
            make_policy(build_scenario(cfg, "square.yaml", base_dir=tmp_path))
        assert err.value.key_path == key, err.value
    ok = _run(tmp_path, "carbon_aware", {"route": "round_robin"})
    assert ok.summary["tco2"] == 0.0
    assert np.isfinite(ok.summary["energy_kwh"])


def test_booking_spreads_held_work_over_clean_hours_instead_of_piling_it(tmp_path: Path) -> None:
    def run_small(params: dict[str, Any]) -> Any:
        _square_wave(tmp_path)
        doc = _doc("carbon_aware", params)
        doc["topology"]["clusters"][0]["servers"] = 20  # 0.8 x 20 servers x 1 h = 32 half-hour jobs an hour
        cfg = validate_config(doc, "square.yaml")
        return simulate(build_scenario(cfg, "square.yaml", base_dir=tmp_path)).jobs.to_pandas()

    booked = run_small({})
    starts = (booked.start_s // 3600).value_counts()
    assert (booked.start_s >= 12 * 3600).all() and starts.max() <= 32
    assert (booked.start_s % 3600 <= 1800).all()  # at most one service time of queueing after a release
    piled = run_small({"max_utilisation": None})
    first = piled.start_s.min()
    assert first == 12 * 3600 and (piled.start_s > first).sum() > 100  # one release hour, then a queue
    assert (piled.start_s // 3600).value_counts().max() > 32
    assert piled.start_s.max() - first > 4 * 3600  # a queue of more than four hours behind the release
