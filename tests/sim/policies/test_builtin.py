"""Every policy: SLO feasibility, conservation, determinism; spill_west's threshold; plug-ins."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies import Policy, make_policy, policy_names, register_policy
from tests.helpers import run_in_memory, scenario_of, two_site_config

POLICIES = ["nearest", "cheapest", "greenest", "round_robin", "random", "spill_west", "lp"]


def _three_site(policy: str, **params: Any) -> dict[str, Any]:
    """Beijing and Shanghai demand; an eastern cluster near each, one western cluster."""
    doc = two_site_config(policy=policy, horizon_h=3)
    doc["topology"]["regions"][0]["hub"] = "north"
    doc["topology"]["regions"][1]["hub"] = "delta"
    doc["topology"]["clusters"] = [
        {"id": "zjk", "lon": 115.09, "lat": 40.717, "servers": 60, "hub": "north", "tariff_cny_per_kwh": 0.6,
         "grid_kgco2_per_kwh": 0.7},
        {"id": "yrd", "lon": 120.89, "lat": 31.05, "servers": 60, "hub": "delta", "tariff_cny_per_kwh": 0.62,
         "grid_kgco2_per_kwh": 0.58},
        {"id": "west", "lon": 105.2, "lat": 37.5, "servers": 300, "side": "west", "hub": "ningxia",
         "tariff_cny_per_kwh": 0.3, "grid_kgco2_per_kwh": 0.64, "green_share": 0.6},
    ]  # fmt: skip
    doc["policy"]["params"] = params
    return doc


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_conserves_jobs_and_respects_slos(policy: str) -> None:
    scn, out = run_in_memory(_three_site(policy))
    s = out.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"] > 0
    jobs = out.jobs.to_pandas()
    assert len(jobs) == s["jobs_total"]
    assert not (jobs["class"] == "web").any()  # latency classes are flows
    # every policy routes the latency flows, within the SLO; requests are conserved
    flows = out.flows.to_pandas()
    web = flows[(flows["class"] == "web") & flows.cluster.notna() & (flows.served > 0)]
    assert web.served.sum() > 0
    r = web.region.map(scn.topology.region_index).to_numpy()
    c = web.cluster.map(scn.topology.cluster_index).to_numpy()
    assert (scn.topology.rtt_ms[r, c] <= 20.0).all()
    cls = s["classes"]["web"]
    assert cls["requests"] == cls["served"] + cls["rejected"] == int(flows.requests.sum()) > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_is_deterministic(policy: str) -> None:
    _, a = run_in_memory(_three_site(policy))
    _, b = run_in_memory(_three_site(policy))
    pd.testing.assert_frame_equal(a.jobs.to_pandas(), b.jobs.to_pandas())  # NaN-aware
    pd.testing.assert_frame_equal(a.timeseries.to_pandas(), b.timeseries.to_pandas())
    pd.testing.assert_frame_equal(a.flows.to_pandas(), b.flows.to_pandas())


def test_builtins_are_registered() -> None:
    assert set(POLICIES) <= set(policy_names())


def test_round_robin_alternates_and_random_spreads() -> None:
    _, out = run_in_memory(_three_site("round_robin"))
    etl = out.jobs.to_pandas().query("`class` == 'etl'")
    counts = etl.cluster.value_counts()
    assert counts.max() - counts.min() <= 2 * 2  # two regions, each cycling over 3 clusters
    _, rnd = run_in_memory(_three_site("random"))
    assert rnd.jobs.to_pandas().query("`class` == 'etl'").cluster.nunique() == 3


def test_spill_west_sends_nothing_west_below_its_threshold() -> None:
    # light load: the home hubs never pass 100 % utilisation
    doc = _three_site("spill_west", threshold=1.0)
    doc["workloads"][0]["rate_per_h"] = 500
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    assert not (jobs.cluster == "west").any()
    # the same load with a low threshold spills batch work west
    _, spill = run_in_memory(_three_site("spill_west", threshold=0.2))
    moved = spill.jobs.to_pandas().query("cluster == 'west'")
    assert len(moved) > 0
    # latency work spills west only where it still meets its SLO (Beijing: 16.8 ms; Shanghai: 26.2 ms)
    assert set(moved.query("`class` == 'web'").region) <= {"beijing"}
    assert "etl" in set(moved["class"])


def test_spill_west_weighs_a_gpu_job_on_the_hub_s_gpu_servers() -> None:
    """The north hub's GPU pool (6 servers) is saturated by GPU work while its CPU pool (54)
    idles: the hub as a whole is far below the threshold, its GPU servers far above, so GPU
    jobs spill west (the west's GPU pool: 30 servers)."""
    doc = _three_site("spill_west", threshold=0.8)
    for c in doc["topology"]["clusters"]:
        c["gpu_share"] = 0.1
    doc["workloads"] = [
        {"name": "train", "kind": "batch", "server_type": "gpu", "rate_per_h": 40,
         "service": {"mean_s": 1800}, "deadline_h": 24, "regions": {"beijing": 1}},
    ]  # fmt: skip
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    ran = jobs[jobs["cluster"].notna()]
    assert set(ran["cluster"].astype(str)) <= {"zjk_gpu", "west_gpu"}
    assert (ran["cluster"] == "west_gpu").sum() > 0.3 * len(ran)


def test_spill_west_threshold_is_validated() -> None:
    from models.errors import InputError

    with pytest.raises(InputError, match="threshold"):
        make_policy(scenario_of(_three_site("spill_west", threshold=1.5)))


def _north_pair(home: str) -> dict[str, Any]:
    """The three-site case with a second, three times larger site in Beijing's hub."""
    doc = _three_site("spill_west", home=home)
    metro = {"id": "bj_metro", "lon": 116.4, "lat": 39.9, "servers": 180, "hub": "north"}
    doc["topology"]["clusters"].insert(1, {**metro, "tariff_cny_per_kwh": 0.7, "grid_kgco2_per_kwh": 0.7})
    doc["workloads"][0]["rate_per_h"] = 500  # light: the hub stays below the threshold
    return doc


def test_spill_west_balanced_home_splits_a_flow_by_online_servers() -> None:
    """home: balanced shares a hub's latency flow in proportion to its sites' servers.

    The flow analogue of sending each request to the least utilised home site
    (equal utilisation); home: nearest sends the whole flow to the nearest site.
    """
    scn = scenario_of(_north_pair("balanced"))
    topo = scn.topology
    k, r = scn.class_names.index("web"), topo.region_index("beijing")
    zjk, metro = topo.cluster_index("zjk"), topo.cluster_index("bj_metro")
    shares = make_policy(scn).route_flows(0.0)[k, r]
    assert shares[metro] == pytest.approx(180 / 240) and shares[zjk] == pytest.approx(60 / 240)
    assert shares.sum() == pytest.approx(1.0)
    nearest = scenario_of(_north_pair("nearest"))
    shares = make_policy(nearest).route_flows(0.0)[k, r]
    assert shares[topo.cluster_index("bj_metro")] == 1.0 and shares.sum() == 1.0
    # in a run both Beijing-hub sites serve Beijing's requests
    _, out = run_in_memory(_north_pair("balanced"))
    flows = out.flows.to_pandas().query("region == 'beijing' and `class` == 'web' and served > 0")
    assert {"zjk", "bj_metro"} <= set(flows.cluster.astype(str))


def _greenest_case(west_grid: float, west_green: float) -> Any:
    doc = _three_site("greenest")
    doc["workloads"][0]["rate_per_h"] = 50  # light load: the western draw stays below its green supply
    west = doc["topology"]["clusters"][2]
    west["grid_kgco2_per_kwh"], west["green_share"] = west_grid, west_green
    return run_in_memory(doc)[1].jobs.to_pandas().query("`class` == 'etl'")


def test_greenest_follows_marginal_carbon() -> None:
    # lowest grid factor wins when no green supply is spare
    assert (_greenest_case(west_grid=0.3, west_green=0.0).cluster == "west").all()
    # a dirty grid but spare green supply: marginal carbon is zero there
    assert (_greenest_case(west_grid=0.9, west_green=1.0).cluster == "west").all()
    # the same dirty grid without green supply: the cleanest eastern grid (yrd, 0.58) wins
    assert (_greenest_case(west_grid=0.9, west_green=0.0).cluster == "yrd").all()


class AlwaysLast(Policy):
    """A user policy: the last candidate that is up."""

    name = "always_last"

    def __init__(self, scenario: Any, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self.cand = [[list(map(int, c)) for c in per_class] for per_class in scenario.candidates]

    def route(self, region: int, klass: int, now_s: float) -> int:
        return self.first_up(self.cand[klass][region][::-1])


def test_user_policy_registered_from_python_is_named_in_config() -> None:
    register_policy(AlwaysLast)
    _, out = run_in_memory(_three_site("always_last"))
    etl = out.jobs.to_pandas().query("`class` == 'etl'")
    assert (etl.cluster == "west").all()
    # a policy that only implements route() routes latency flows too (Policy.route_flow default)
    scn = scenario_of(_three_site("always_last"))
    flows = out.flows.to_pandas()
    web = flows[(flows["class"] == "web") & (flows.served > 0)]
    k = scn.class_names.index("web")
    for region, cluster in web.groupby(["region", "cluster"], observed=True).size().index:
        last = int(scn.candidates[k][scn.topology.region_index(region)][-1])
        assert cluster == scn.topology.cluster_ids[last]


def test_user_policy_from_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    import sim.policies.registry as registry

    class EP:
        name = "ep_last"

        def load(self) -> type[Policy]:
            return type("EpLast", (AlwaysLast,), {"name": "ep_last"})

    real = md.entry_points

    def fake(**kw: Any) -> Any:
        return [EP()] if kw.get("group") == registry.ENTRY_POINT_GROUP else real(**kw)

    monkeypatch.setattr(registry, "entry_points", fake)
    assert "ep_last" in registry.policy_names()
    _, out = run_in_memory(_three_site("ep_last"))
    assert (out.jobs.to_pandas().query("`class` == 'etl'").cluster == "west").all()


def _spill_west_flows_by_loop(p: Any) -> np.ndarray:
    """``SpillWest.route_flows`` as first written, one flow at a time (the rule of ``route``)."""
    scn = p.scenario
    n_c, n_r = scn.topology.n_clusters, scn.topology.n_regions
    out = np.zeros((len(scn.classes), n_r, n_c))
    util = [p.utilisation(c) for c in range(n_c)]
    below_u = [p._hub_utilisation(hub) < p.threshold for hub in p._hub_lists]
    hub_below = [[below_u[i] for i in row] for row in p._hub_of]
    thr, up, eng = p.threshold, p.up, p.engine
    online = [float(eng.online(c)) for c in range(n_c)]

    def pick(ranked: list[int]) -> int:
        for c in ranked:
            if util[c] < thr:
                return c
        return min(ranked, key=lambda c: util[c]) if ranked else -1

    for k, spec in enumerate(scn.classes):
        if not spec.is_latency:
            continue
        below = hub_below[p._type_of[k]]
        for r in range(n_r):
            if scn.candidates[k][r].size == 0:
                continue
            home = [c for c in p._home_ranked[k][r] if up[c]]
            if p._balanced and home and below[r]:
                cap = sum(online[c] for c in home)
                if cap > 0:
                    for c in home:
                        out[k, r, c] = online[c] / cap
                    continue
            c = pick(home)
            if not (c >= 0 and below[r]):
                west = [x for x in p._west_ranked[k][r] if up[x]]
                if west:
                    c = pick(west)
                elif c < 0:
                    c = p.first_up(p._ranked[k][r])
            if c >= 0:
                out[k, r, c] = 1.0
    return out


class _Engine:
    """What SpillWest reads of an engine: clusters up, busy and online servers."""

    def __init__(self, up: list[bool], busy: list[float], avail: list[int], online: list[int]) -> None:
        self.up, self.busy, self.available, self._online = up, busy, avail, online

    def utilisation(self, c: int) -> float:
        return self.busy[c] / self.available[c] if self.available[c] > 0 else 1.0

    def busy_servers(self, c: int) -> float:
        return self.busy[c]

    def online(self, c: int) -> int:
        return self._online[c]

    def busy_all(self) -> list[float]:
        return list(self.busy)

    def online_all(self) -> list[int]:
        return list(self._online)


@functools.cache
def _national() -> Any:
    """The national baseline's scenario (13 sites in 26 pools, 24 regions, 4 latency classes)."""
    from models.paths import configs_dir
    from sim.config_io import load_config
    from sim.scenario import build_scenario

    return build_scenario(load_config(configs_dir() / "baseline.yaml", []), "baseline")


@settings(max_examples=150, deadline=None)
@given(
    home=st.sampled_from(["balanced", "nearest"]),
    threshold=st.sampled_from([0.3, 0.8, 1.0]),
    state=st.lists(
        st.tuples(st.booleans(), st.floats(0.0, 1.2), st.sampled_from([0, 1, 7, 1000]), st.floats(0.0, 1.0)),
        min_size=26,
        max_size=26,
    ),
)
def test_spill_west_routes_all_flows_at_once_as_one_at_a_time(
    home: str, threshold: float, state: list[tuple[bool, float, int, float]]
) -> None:
    """The array form of ``route_flows`` gives the loop's shares exactly, on the national
    scenario, whatever clusters are down, busy or powered (ties of utilisation included)."""
    from sim.policies.spill_west import SpillWest

    scn = _national()
    assert scn.topology.n_clusters == len(state)
    p = SpillWest(scn, {"home": home, "threshold": threshold}, np.random.default_rng(0))
    up = [s[0] for s in state]
    avail = [s[2] for s in state]
    busy = [round(s[1], 1) * a for s, a in zip(state, avail, strict=True)]  # rounded: equal utilisations
    online = [int(s[3] * a) for s, a in zip(state, avail, strict=True)]
    p.bind(_Engine(up, busy, avail, online))  # type: ignore[arg-type]
    np.testing.assert_array_equal(p.route_flows(0.0), _spill_west_flows_by_loop(p))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    threshold=st.sampled_from([0.3, 0.8]),
    n_states=st.integers(2, 12),
)
def test_spill_west_shares_of_a_recent_state_are_the_ones_decided_afresh(
    seed: int, threshold: float, n_states: int
) -> None:
    """One policy through a run of states, some seen before, some new only in the order of the
    busy clusters or an exact tie of utilisation: each step's shares (recalled or decided)
    are the loop's, and a recalled array cannot be written."""
    from sim.policies.spill_west import SpillWest

    scn = _national()
    n_c = scn.topology.n_clusters
    rng = np.random.default_rng(seed)
    p = SpillWest(scn, {"threshold": threshold}, np.random.default_rng(0))
    avail = [1000] * n_c
    states = []
    for _ in range(n_states):
        up = (rng.random(n_c) > 0.1).tolist()
        busy = (rng.choice([0.1, 0.5, 0.85, 0.9, 0.95], n_c) * 1000).tolist()
        online = rng.choice([0, 500, 1000], n_c).tolist()
        states.append((up, busy, online))
        if rng.random() < 0.5:  # the same state again (recalled), or its busiest two swapped
            busy2 = list(busy)
            if rng.random() < 0.5:
                i, j = np.argsort(busy)[-2:]
                busy2[i], busy2[j] = busy[j] + 1e-9, busy[i]
            states.append((up, busy2, online))
    for up, busy, online in states:
        eng = _Engine(list(up), list(busy), avail, list(online))
        p.bind(eng)  # type: ignore[arg-type]
        got = p.route_flows(0.0)
        np.testing.assert_array_equal(got, _spill_west_flows_by_loop(p))
        assert not got.flags.writeable
