"""Power management (sim.engine.power): always_on, reactive and planned, against hand calculations."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.errors import InputError
from sim.config_io import validate_config
from sim.runner import Outputs, simulate
from sim.scenario import Scenario, build_scenario
from tests.helpers import run_in_memory, two_site_config

IDLE_W, PEAK_W, PUE, TARIFF = 100.0, 300.0, 1.25, 0.8


def _traced(
    tmp_path: Path,
    rows: list[tuple[float, float]],
    servers: int,
    power: dict[str, Any],
    mode: str = "reactive",
) -> tuple[Scenario, Outputs]:
    """One cluster, zero network delay, jobs replayed from ``rows`` of (arrival_s, service_s)."""
    trace = tmp_path / "jobs.csv"
    trace.write_text(
        "arrival_s,region,class,service_s,data_gb\n" + "".join(f"{a},r,w,{s},0\n" for a, s in rows)
    )
    doc = {
        "name": "power",
        "seed": 1,
        "horizon_h": 1,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": servers, "pue": PUE, "tariff_cny_per_kwh": TARIFF,
                          "grid_kgco2_per_kwh": 0.5}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [{"name": "w", "kind": "batch", "trace": "jobs.csv", "service": {"mean_s": 1},
                       "deadline_h": 100}],
        "energy": {"idle_w": IDLE_W, "peak_w": PEAK_W, "power_management": mode, "power_control": power},
        "engine": {"timestep_s": 60},
    }  # fmt: skip
    scn = build_scenario(validate_config(doc, "power.yaml"), "power.yaml", base_dir=tmp_path)
    return scn, simulate(scn)


def _integral(ts: Any, col: str) -> float:
    return float((ts[col] * 60.0).sum())


def test_reactive_without_headroom_timeout_or_boot_follows_busy_servers_exactly(tmp_path: Path) -> None:
    # busy: 4 servers on [0, 900), 6 on [900, 1800), 2 on [1800, 2700), none after
    rows = [(0, 1800)] * 4 + [(900, 1800)] * 2
    power = {"headroom": 0, "idle_timeout_s": 0, "boot_s": 0, "min_powered_share": 0}
    _, out = _traced(tmp_path, rows, 40, power)
    ts = out.timeseries.to_pandas()
    assert np.allclose(ts.powered_servers, ts.busy_servers)
    busy_s = 4 * 900 + 6 * 900 + 2 * 900
    assert _integral(ts, "busy_servers") == pytest.approx(busy_s)
    # by hand: only busy servers are powered, each at peak power
    kwh = busy_s * PEAK_W / 3.6e6 * PUE
    assert out.summary["energy_kwh"] == pytest.approx(kwh, rel=1e-9)
    assert out.summary["cost_cny"] == pytest.approx(kwh * TARIFF, rel=1e-9)
    pm = out.summary["power_management"]
    assert pm["server_ups"] == 6  # 4 at t=0, 2 at t=900
    assert pm["server_downs"] == 40 + 4 + 2  # the warm start's idle servers at t=0, then as jobs end
    assert pm["transition_kwh"] == 0.0
    assert pm["powered_server_h"] == pytest.approx(busy_s / 3600)
    assert out.summary["jobs_completed"] == 6
    assert (out.jobs.to_pandas().wait_s == 0).all()


def test_a_step_up_waits_boot_s_while_jobs_queue(tmp_path: Path) -> None:
    # floor 2 servers (20 % of 10); two jobs run from t=0; three more arrive at t=500 and
    # must wait for servers switched on at 500 that serve from 600 (boot 100 s)
    rows = [(0, 1000)] * 2 + [(500, 1000)] * 3
    power = {"headroom": 0, "idle_timeout_s": 0, "boot_s": 100, "min_powered_share": 0.2}
    _, out = _traced(tmp_path, rows, 10, power)
    jobs = out.jobs.to_pandas().sort_values("job_id")
    assert jobs.wait_s.tolist() == pytest.approx([0, 0, 100, 100, 100])
    assert jobs.start_s.tolist() == pytest.approx([0, 0, 600, 600, 600])
    ts = out.timeseries.to_pandas()
    assert _integral(ts, "queue_len") == pytest.approx(3 * 100)
    # powered: 2 on [0, 600), 5 on [600, 1000), 3 on [1000, 1600), 2 after; booting: 3 on [500, 600)
    powered_s = 2 * 600 + 5 * 400 + 3 * 600 + 2 * 2000
    busy_s = 2 * 1000 + 3 * 1000
    booting_s = 3 * 100
    assert _integral(ts, "powered_servers") == pytest.approx(powered_s)
    assert _integral(ts, "booting_servers") == pytest.approx(booting_s)
    # energy by hand: idle for powered, the dynamic part for busy, peak (the default boot_w) while booting
    it_j = powered_s * IDLE_W + busy_s * (PEAK_W - IDLE_W) + booting_s * PEAK_W
    assert out.summary["it_kwh"] == pytest.approx(it_j / 3.6e6, rel=1e-9)
    assert out.summary["energy_kwh"] == pytest.approx(it_j / 3.6e6 * PUE, rel=1e-9)
    # transitions are counted and priced
    pm = out.summary["power_management"]
    assert pm["server_ups"] == 3
    assert pm["server_downs"] == 8 + 2 + 1
    boot_kwh = 3 * 100 * PEAK_W / 3.6e6 * PUE
    assert pm["transition_kwh"] == pytest.approx(boot_kwh, rel=1e-9)
    assert pm["transition_cost_cny"] == pytest.approx(boot_kwh * TARIFF, rel=1e-9)
    assert float(ts.transition_kwh.sum()) == pytest.approx(boot_kwh, rel=1e-9)
    assert int(ts.power_ups.sum()) == 3 and int(ts.power_downs.sum()) == 11
    assert float(ts.power_ups[(ts.time_s >= 480) & (ts.time_s < 540)].sum()) == 3


def test_idle_timeout_keeps_servers_until_they_have_idled_that_long(tmp_path: Path) -> None:
    # one job on [0, 600): after it, its server idles 300 s (timeout) before switching off
    power = {"headroom": 0, "idle_timeout_s": 300, "boot_s": 0, "min_powered_share": 0}
    _, out = _traced(tmp_path, [(0, 600)], 5, power)
    ts = out.timeseries.to_pandas()
    # 5 servers on [0, 300) (4 idle since 0 switch off at 300), 1 on [300, 900), none after
    assert _integral(ts, "powered_servers") == pytest.approx(5 * 300 + 1 * 600)
    assert out.summary["power_management"]["server_downs"] == 5


def test_boot_power_is_a_parameter(tmp_path: Path) -> None:
    rows = [(0, 1000)] * 2 + [(500, 1000)] * 3
    power = {"headroom": 0, "idle_timeout_s": 0, "boot_s": 100, "min_powered_share": 0.2, "boot_w": 50}
    _, out = _traced(tmp_path, rows, 10, power)
    assert out.summary["power_management"]["transition_kwh"] == pytest.approx(3 * 100 * 50 / 3.6e6 * PUE)


def test_headroom_keeps_spare_servers(tmp_path: Path) -> None:
    # 10 busy servers with 50 % headroom: 15 powered
    power = {"headroom": 0.5, "idle_timeout_s": 0, "boot_s": 0, "min_powered_share": 0}
    _, out = _traced(tmp_path, [(0, 3600)] * 10, 40, power)
    ts = out.timeseries.to_pandas()
    assert np.allclose(ts.powered_servers, 15)


def test_always_on_is_the_default_and_matches_all_servers_idle_power(tmp_path: Path) -> None:
    rows = [(0, 1800)] * 4 + [(900, 1800)] * 2
    _, out = _traced(tmp_path, rows, 40, {}, mode="always_on")
    busy_s = 4 * 900 + 6 * 900 + 2 * 900
    it_j = 40 * 3600 * IDLE_W + busy_s * (PEAK_W - IDLE_W)
    assert out.summary["energy_kwh"] == pytest.approx(it_j / 3.6e6 * PUE, rel=1e-9)
    pm = out.summary["power_management"]
    assert pm["mode"] == "always_on" and pm["server_ups"] == pm["server_downs"] == 0
    assert validate_config(two_site_config(), "x").energy.power_management == "always_on"


def test_always_on_reproduces_the_energy_before_power_management() -> None:
    """Four hours of the national baseline under spill_west: always_on keeps every occupied server powered.

    Pinned values: first measured on the engine before #14; re-pinned when latency classes
    became request flows (#12), when #16 changed the baseline itself (occupied capacity, metro
    data centres, PUE physics, server power), and again when #12 and #16 were combined
    (calibrated baseline with latency flows; spill_west's balanced home hub splits a flow
    over its sites by online servers), and when bundled batch jobs kept the real pool's
    variability (``models.demand.bundles``), and when a flow admitted in part was judged on
    the mix it actually joins (1e-8 relative), and when server types split every site into
    its CPU and GPU pools (the national ai_training on GPU servers, the other classes rescaled
    to 40 % of the CPU servers, metro GPU shares calibrated to the national intelligent
    compute; spill_west then weighs each class's hub load on its own server type's pools), and
    when a pool of n real servers became n / S simulated ones exactly, with a partial server
    (``sim.engine.pools.FcfsPool``; floor(n / S) had dropped up to a whole simulated server).
    Power management changed none of them:
    ``always_on`` must keep these figures.
    """
    import yaml

    doc = yaml.safe_load((Path(__file__).parents[3] / "configs" / "baseline.yaml").read_text())
    doc["horizon_h"] = 4
    _, out = run_in_memory(doc)
    assert out.summary["energy_kwh"] == pytest.approx(58644032.08411783, rel=1e-12)
    assert out.summary["cost_cny"] == pytest.approx(19684366.339145508, rel=1e-12)
    assert out.summary["jobs_completed"] == 9593  # batch jobs only
    assert out.summary["power_management"]["server_ups"] == 0


MODES = [("nearest", "always_on"), ("spill_west", "reactive"), ("lp", "reactive"), ("lp", "planned")]


@pytest.mark.parametrize(("policy", "mode"), MODES)
def test_every_mode_is_deterministic_and_conserves_jobs_and_energy(policy: str, mode: str) -> None:
    doc = two_site_config(seed=3, horizon_h=3, policy=policy)
    doc["energy"] = {"power_management": mode, "power_control": {"boot_s": 120, "idle_timeout_s": 300}}
    scn, a = run_in_memory(doc)
    _, b = run_in_memory(copy.deepcopy(doc))
    assert a.jobs.to_pandas().equals(b.jobs.to_pandas())
    assert a.timeseries.to_pandas().equals(b.timeseries.to_pandas())
    s = a.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    ts = a.timeseries.to_pandas()
    assert ts.energy_kwh.sum() == pytest.approx(s["energy_kwh"], rel=1e-9)
    assert ts.transition_kwh.sum() == pytest.approx(s["power_management"]["transition_kwh"], rel=1e-9)
    installed = ts.cluster.map(dict(zip(scn.topology.cluster_ids, scn.topology.cluster_servers, strict=True)))
    assert (ts.powered_servers >= ts.busy_servers - 1e-6).all()
    assert (ts.powered_servers + ts.booting_servers <= installed.astype(float) + 1e-6).all()
    pd.testing.assert_frame_equal(a.flows.to_pandas(), b.flows.to_pandas())  # NaN-aware
    # busy server-hours equal the service the batch jobs received plus the latency flows' load
    jobs = a.jobs.to_pandas()
    served_sh = float((jobs.it_kwh / ((scn.power.peak_w - scn.power.idle_w) / 1000)).sum())
    served_sh += float((ts.latency_busy_servers * scn.config.engine.timestep_s).sum()) / 3600.0
    assert s["served_server_h"] == pytest.approx(served_sh, rel=1e-9)
    if mode == "always_on":
        assert s["power_management"]["server_ups"] == 0


def test_reactive_saves_energy_against_always_on_for_the_same_jobs() -> None:
    doc = two_site_config(seed=2, horizon_h=3)
    _, on = run_in_memory(doc)
    doc["energy"] = {"power_management": "reactive"}
    _, rx = run_in_memory(doc)
    assert rx.summary["jobs_total"] == on.summary["jobs_total"]
    assert rx.summary["energy_kwh"] < on.summary["energy_kwh"]
    assert rx.summary["power_management"]["mean_powered_share"] < 1.0


def test_an_outage_powers_nothing_up(tmp_path: Path) -> None:
    doc = two_site_config(seed=4, horizon_h=3)
    doc["energy"] = {"power_management": "reactive", "power_control": {"boot_s": 120}}
    doc["faults"] = [{"kind": "outage", "cluster": "east1", "start_h": 1, "duration_h": 1}]
    doc["engine"] = {"timestep_s": 60}
    _, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    east = ts[(ts.cluster == "east1") & (ts.time_s >= 3600) & (ts.time_s < 7200)]
    assert (east.powered_servers == 0).all() and (east.booting_servers == 0).all()
    assert east.power_ups.sum() == 0
    after = ts[(ts.cluster == "east1") & (ts.time_s >= 7200)]
    assert after.power_ups.sum() > 0  # it boots again once the outage is over
    assert out.summary["faults"]["jobs_rerouted"] > 0


def test_capacity_loss_bounds_powered_servers() -> None:
    doc = two_site_config(seed=4, horizon_h=3)
    doc["energy"] = {"power_management": "reactive", "power_control": {"boot_s": 120, "headroom": 3.0}}
    doc["faults"] = [
        {"kind": "capacity_loss", "cluster": "west1", "start_h": 1, "duration_h": 1, "fraction": 0.5}
    ]
    doc["engine"] = {"timestep_s": 60}
    _, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    # a minute after the loss began, running jobs above the new capacity aside, powered <= 150
    mid = ts[(ts.cluster == "west1") & (ts.time_s >= 3600 + 1800) & (ts.time_s < 7200)]
    assert (mid.powered_servers + mid.booting_servers <= 150 + 1e-6).all()


def test_planned_needs_a_planning_policy() -> None:
    doc = two_site_config(policy="spill_west")
    doc["energy"] = {"power_management": "planned"}
    scn = build_scenario(validate_config(doc, "x.yaml"), "x.yaml")
    with pytest.raises(InputError, match=r"energy\.power_management"):
        simulate(scn)


def test_planned_powers_down_to_the_plan() -> None:
    doc = two_site_config(seed=2, horizon_h=3, policy="lp")
    _, on = run_in_memory(doc)
    doc["energy"] = {"power_management": "planned"}
    _, planned = run_in_memory(doc)
    assert planned.summary["power_management"]["mean_powered_share"] < 1.0
    assert on.summary["power_management"]["mean_powered_share"] == pytest.approx(1.0)


def test_power_control_defaults_are_the_seeded_figures() -> None:
    import yaml

    from models.paths import seeds_dir
    from sim.config import EnergyConfig, PowerControl

    figs = yaml.safe_load((seeds_dir() / "power_management.yaml").read_text())["power_management"]
    sources = {s["id"] for s in yaml.safe_load((seeds_dir() / "sources.yaml").read_text())["sources"]}
    for name, fig in figs.items():
        assert fig["source"] in sources, name
        assert fig["estimate"] is True, name
    pc = PowerControl()
    energy = EnergyConfig()
    assert pc.boot_s == figs["boot_s"]["value"]
    assert pc.idle_timeout_s == figs["idle_timeout_s"]["value"]
    assert pc.headroom == figs["headroom"]["value"]
    assert pc.min_powered_share == figs["min_powered_share"]["value"]
    assert pc.boot_w is None and figs["boot_power_share"]["value"] == 1.0  # boot_w defaults to peak_w
    assert energy.idle_w / energy.peak_w == figs["idle_power_share"]["value"]
    # the idle timeout is the break-even wait: one boot's energy over idle power
    assert figs["idle_timeout_s"]["value"] == pc.boot_s * energy.peak_w / energy.idle_w
