"""Latency flows against queueing theory: Erlang C at any scale, overload shedding, priority over batch.

The truths here are computed independently of :mod:`models.queueing`: Erlang B
by its textbook recursion, the M/M/c wait from it by hand.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers import run_in_memory, scenario_of

MEAN_S = 0.05  # 50 ms requests


def erlang_c_recursive(c: int, a: float) -> float:
    """P(wait) of M/M/c from the Erlang B recursion B(n) = a B(n-1) / (n + a B(n-1))."""
    b = 1.0
    for n in range(1, c + 1):
        b = a * b / (n + a * b)
    rho = a / c
    return b / (1.0 - rho + rho * b)


def flow_config(
    servers: int, rho: float, *, slo_ms: float = 1e7, job_scale: int = 1, horizon_h: float = 1.0
) -> dict[str, Any]:
    """One region, one cluster, RTT 0, one exponential latency class at utilisation ``rho``."""
    rate_per_h = rho * servers / MEAN_S * 3600.0
    return {
        "name": "flows",
        "seed": 7,
        "horizon_h": horizon_h,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": servers}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {
                "name": "web",
                "kind": "latency",
                "rate_per_h": rate_per_h,
                "service": {"dist": "exponential", "mean_s": MEAN_S},
                "slo_ms": slo_ms,
            }
        ],
        "engine": {"job_scale": job_scale, "timestep_s": 300},
    }


def _close(got: float | None, truth: float, rel: float = 0.02, abs_tol: float = 1e-6) -> bool:
    assert got is not None
    return abs(got - truth) <= max(rel * abs(truth), abs_tol)


@pytest.mark.parametrize("job_scale", [1, 5000])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.95])
@pytest.mark.parametrize("c", [1, 10, 100, 100_000])
def test_erlang_c_for_the_real_pool_at_any_scale(c: int, rho: float, job_scale: int) -> None:
    _, out = run_in_memory(flow_config(c, rho, job_scale=job_scale))
    cls = out.summary["classes"]["web"]
    mu = 1.0 / MEAN_S
    pw = erlang_c_recursive(c, rho * c)
    decay = c * mu * (1.0 - rho)  # c mu - lambda
    mean_wait = pw / decay
    p95 = math.log(pw / 0.05) / decay if pw > 0.05 else 0.0
    assert cls["rejected"] == 0
    assert _close(cls["p_wait"], pw), (cls["p_wait"], pw)
    assert _close(cls["mean_wait_s"], mean_wait), (cls["mean_wait_s"], mean_wait)
    # RTT is 0, so the added latency is the wait
    assert _close(cls["added_latency_ms"]["p95"] / 1000.0, p95), (cls["added_latency_ms"], p95)
    flows = out.flows.to_pandas()
    assert (flows["mean_wait_s"].dropna() - mean_wait).abs().max() <= max(0.02 * mean_wait, 1e-6)


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (1, 0.8), (100_000, 0.5)])
def test_response_percentiles_are_the_mm_c_response_law(c: int, rho: float) -> None:
    """Response = wait + service. For M/M/1 FCFS it is exponential with rate mu - lambda;
    at 100,000 servers and rho 0.5 nobody waits, so it is the service time itself."""
    _, out = run_in_memory(flow_config(c, rho))
    cls = out.summary["classes"]["web"]
    mu = 1.0 / MEAN_S
    rate = mu * (1.0 - rho) if c == 1 else mu
    for q in (50, 95, 99):
        truth_ms = -math.log(1.0 - q / 100.0) / rate * 1000.0
        # the histogram reads each wait at its bin's centre: within 0.12 %
        assert _close(cls["latency_ms"][f"p{q}"], truth_ms, rel=0.005), (q, cls["latency_ms"], truth_ms)


def test_overload_is_shed_not_queued() -> None:
    slo_ms = 250.0
    _, out = run_in_memory(flow_config(1000, 1.3, slo_ms=slo_ms))
    cls = out.summary["classes"]["web"]
    share = cls["rejected"] / cls["requests"]
    assert abs(share - (1.0 - 1.0 / 1.3)) <= 0.02, share
    assert cls["added_latency_ms"]["p99"] <= slo_ms
    # the SLO-violation rate counts the rejected requests
    assert cls["slo_violation_rate"] >= share
    # conservation, in the summary and in flows.parquet
    assert cls["requests"] == cls["served"] + cls["rejected"]
    flows = out.flows.to_pandas()
    assert int(flows["requests"].sum()) == cls["requests"]
    assert int(flows["served"].sum()) == cls["served"]
    assert int(flows["rejected"].sum()) == cls["rejected"]
    assert (flows["requests"] == flows["served"] + flows["rejected"]).all()
    # the rejected share over time, in the time series
    ts = out.timeseries.to_pandas()
    assert ts["latency_rejected"].sum() == cls["rejected"]
    # the servers carry the admitted load: just under the 1000 servers
    lat_busy = ts["latency_busy_servers"].mean()
    assert 0.95 * 1000 < lat_busy < 1000


def _two_cluster_spill() -> dict[str, Any]:
    doc = flow_config(100, 1.5, slo_ms=200.0)
    doc["topology"] = {
        "regions": [{"id": "r"}],
        "clusters": [{"id": "near", "servers": 100}, {"id": "far", "servers": 100}],
        "latency_ms": {"r": {"near": 10.0, "far": 50.0}},
    }
    return doc


def test_excess_spills_to_the_next_candidate_within_the_slo() -> None:
    _, out = run_in_memory(_two_cluster_spill())
    cls = out.summary["classes"]["web"]
    assert cls["rejected"] == 0  # 150 erlangs fit on 200 servers
    f = out.flows.to_pandas().groupby("cluster", observed=True)["served"].sum()
    assert f["near"] > f["far"] > 0
    # no spill: the excess is rejected at the nearest cluster
    doc = _two_cluster_spill()
    doc["engine"]["admission"] = {"spill": False}
    _, out = run_in_memory(doc)
    cls = out.summary["classes"]["web"]
    assert cls["rejected"] / cls["requests"] > 0.3


def test_a_stricter_admission_quantile_sheds_more() -> None:
    docs = []
    for q in (0.9, 0.999):
        doc = flow_config(100, 1.2, slo_ms=60.0)
        doc["engine"]["admission"] = {"quantile": q}
        docs.append(run_in_memory(doc)[1].summary["classes"]["web"])
    assert docs[1]["rejected"] > docs[0]["rejected"]
    for d, q in zip(docs, (0.9, 0.999), strict=True):
        assert d["slo_violation_rate"] <= 1.0
        assert d["added_latency_ms"][f"p{99 if q > 0.99 else 50}"] <= 60.0


def test_latency_has_priority_over_batch_by_hand() -> None:
    """1000 servers, latency load 600 then 800 erlangs; batch bundles of 100 saturate the rest.

    By hand: batch gets floor((1000 - 600) / 100) = 4 simulated servers = 400
    real ones in hour 1, and floor(200 / 100) = 2 (200 real) in hour 2, when
    the latency load rises and preempts two of them.
    """
    doc = flow_config(1000, 0.6, slo_ms=1e5, horizon_h=2.0)
    doc["workloads"][0]["bursts"] = [{"start_h": 1.0, "duration_h": 1.0, "multiplier": 800 / 600}]
    doc["workloads"].append(
        {
            "name": "etl",
            "kind": "batch",
            "rate_per_h": 20000,  # real jobs of 4 h: far more work than the servers left
            "service": {"dist": "fixed", "mean_s": 4 * 3600},
            "deadline_h": 100,
        }
    )
    doc["engine"]["job_scale"] = 100
    _, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    hour = (ts["time_s"] // 3600).astype(int)
    lat = ts.groupby(hour)["latency_busy_servers"].mean()
    assert lat[0] == pytest.approx(600, rel=1e-9)
    assert lat[1] == pytest.approx(800, rel=1e-9)
    batch = (ts["busy_servers"] - ts["latency_busy_servers"]).groupby(hour)
    # batch fills what is left once its jobs have arrived (after the first steps)
    late = ts["time_s"] % 3600 >= 1800
    b = (ts["busy_servers"] - ts["latency_busy_servers"])[late].groupby(hour[late]).mean()
    assert b[0] == pytest.approx(400, rel=1e-9)
    assert b[1] == pytest.approx(200, rel=1e-9)
    assert batch.max().max() <= 400 + 1e-9
    assert (ts["busy_servers"] <= 1000 + 1e-9).all()


def test_flow_work_and_energy_add_up() -> None:
    """The latency busy server-seconds are the served requests' work; energy follows from busy servers."""
    _, out = run_in_memory(flow_config(500, 0.7, horizon_h=2.0))
    ts = out.timeseries.to_pandas()
    cls = out.summary["classes"]["web"]
    busy_s = (ts["latency_busy_servers"] * 300.0).sum()
    # the load is set from the rate; the served count is a Poisson draw around it
    assert busy_s == pytest.approx(cls["served"] * MEAN_S, rel=0.01)
    scn = scenario_of(flow_config(500, 0.7, horizon_h=2.0))
    it_kw = (scn.power.idle_w * ts["powered_servers"] + (scn.power.peak_w - scn.power.idle_w)
             * ts["busy_servers"]) / 1000.0  # fmt: skip
    np.testing.assert_allclose(ts["it_power_kw"], it_kw, rtol=1e-9)


def test_flows_are_deterministic() -> None:
    doc = _two_cluster_spill()
    a = run_in_memory(doc)[1]
    b = run_in_memory(doc)[1]
    pd.testing.assert_frame_equal(a.flows.to_pandas(), b.flows.to_pandas())  # NaN-aware
    assert a.summary["classes"] == b.summary["classes"]


def test_latency_job_scale_has_no_effect() -> None:
    """A latency class's job_scale (older configs) is accepted and changes nothing."""
    doc = flow_config(10, 0.8)
    plain = run_in_memory(doc)[1]
    doc["workloads"][0]["job_scale"] = 1000
    bundled = run_in_memory(doc)[1]
    pd.testing.assert_frame_equal(plain.flows.to_pandas(), bundled.flows.to_pandas())
    assert plain.summary["classes"] == bundled.summary["classes"]


def test_a_days_segments_fold_as_segment_by_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts drawn and folded a simulated day at a time equal, bit for bit, those drawn and
    folded as each segment ends (the rows, the class totals and the summary)."""
    from sim.engine.flows import FlowModel
    from tests.helpers import two_site_config

    doc = two_site_config(seed=3, horizon_h=60.0, policy="spill_west")
    doc["faults"] = [{"cluster": "east1", "start_h": 30.2, "duration_h": 2.0, "kind": "outage"}]
    _, daily = run_in_memory(doc)
    close = FlowModel.close

    def close_and_drain(self: FlowModel, t1: float) -> None:
        close(self, t1)
        self.drain()

    monkeypatch.setattr(FlowModel, "close", close_and_drain)
    _, each = run_in_memory(doc)
    assert daily.flows.num_rows > 0
    pd.testing.assert_frame_equal(daily.flows.to_pandas(), each.flows.to_pandas(), check_exact=True)
    assert daily.flows.column("step").to_pylist()[-1] >= 700  # beyond the first day (5-minute steps)
    a, b = daily.engine.flow_sink, each.engine.flow_sink
    for k, st in a.stats.items():
        other = b.stats[k]
        assert (st.requests, st.served, st.rejected) == (other.requests, other.served, other.rejected)
        assert (st.waited, st.wait_sum_s, st.violations) == (other.waited, other.wait_sum_s, other.violations)
        np.testing.assert_array_equal(st.added_hist, other.added_hist)
    np.testing.assert_array_equal(a.requests_cs, b.requests_cs)
    np.testing.assert_array_equal(a.rejected_cs, b.rejected_cs)
    assert daily.summary == each.summary


def test_laws_remembered_across_days_are_the_laws_decided_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Day two's flows meet day one's inputs again (the same diurnal rates): a law remembered
    from day one gives the same requests, rows and waits as one decided afresh (a cache of one
    law decides each anew); only the histogram's sums may be added in another order."""
    import sim.engine.flows as flows_module

    doc = flow_config(100, 0.5, slo_ms=300.0, horizon_h=48.0)
    doc["workloads"][0]["diurnal"] = [0.4 + 0.05 * h for h in range(24)]
    doc["topology"]["clusters"].append({"id": "d", "servers": 60})
    doc["topology"]["latency_ms"]["r"]["d"] = 20.0
    decided = []

    def run(cache: int) -> Any:
        monkeypatch.setattr(flows_module, "_LAW_CACHE", cache)
        calls = 0
        decide = flows_module.FlowModel._decide

        def counted(self: Any, *args: Any) -> Any:
            nonlocal calls
            calls += 1
            return decide(self, *args)

        monkeypatch.setattr(flows_module.FlowModel, "_decide", counted)
        out = run_in_memory(doc)[1]
        monkeypatch.setattr(flows_module.FlowModel, "_decide", decide)
        decided.append(calls)
        return out

    kept, fresh = run(flows_module._LAW_CACHE), run(1)
    assert decided[0] < decided[1]  # the remembered laws were used
    assert kept.flows.equals(fresh.flows)
    a, b = kept.summary["classes"]["web"], fresh.summary["classes"]["web"]
    for key in ("requests", "served", "rejected"):
        assert a[key] == b[key]
    for key in ("p_wait", "mean_wait_s", "slo_violation_rate"):
        assert a[key] == pytest.approx(b[key], rel=1e-12)
    hist_kept = kept.engine.flow_sink.stats[0].added_hist
    hist_fresh = fresh.engine.flow_sink.stats[0].added_hist
    np.testing.assert_allclose(hist_kept, hist_fresh, rtol=1e-12, atol=0.0)


def test_histograms_folded_once_equal_those_folded_every_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """A law's served requests wait over the days it is used and are folded once (PENDING_LAWS):
    the latency histogram, its percentiles and the request counts are those of folding each
    day, to rounding."""
    import sim.engine.flowrecords as fr
    from tests.helpers import two_site_config

    doc = two_site_config(seed=3, horizon_h=72.0, policy="spill_west")
    doc["workloads"][0]["rate_per_h"] = 8000  # ~0.9 of the eastern cluster: waits, laws that vary
    folds = {"n": 0}
    fold = fr.FlowSink.fold_histograms

    def counted(self: fr.FlowSink) -> None:
        folds["n"] += 1
        fold(self)

    monkeypatch.setattr(fr.FlowSink, "fold_histograms", counted)
    _, once = run_in_memory(doc)
    folded_once = folds["n"]
    monkeypatch.setattr(fr, "PENDING_LAWS", 1)  # fold at every daily flush
    folds["n"] = 0
    _, daily = run_in_memory(doc)
    assert folds["n"] >= folded_once + 3  # three days' flushes folded, not only the readers
    a = once.engine.flow_sink.histogram_table().to_pandas()
    b = daily.engine.flow_sink.histogram_table().to_pandas()
    assert a.requests.sum() > 0 and list(a.lo_ms) == list(b.lo_ms)
    np.testing.assert_allclose(a.requests, b.requests, rtol=1e-12)
    web_a, web_b = once.summary["classes"]["web"], daily.summary["classes"]["web"]
    assert web_a["requests"] == web_b["requests"] and web_a["served"] == web_b["served"]
    for q, v in web_a["added_latency_ms"].items():
        assert v == pytest.approx(web_b["added_latency_ms"][q], rel=1e-9)
