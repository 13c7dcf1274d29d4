"""The flow records kept in a child process give the records kept in process, bit for bit."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from models.paths import configs_dir
from sim.config_io import load_config, validate_config
from sim.engine.flowrecords import FlowSink
from sim.engine.flowworker import MIN_HORIZON_S, FlowSinkProcess, open_flow_sink
from sim.engine.kernel import Engine
from sim.engine.records import JobSink
from sim.policies import make_policy
from sim.runner import run
from sim.scenario import build_scenario
from tests.helpers import scenario_of, two_site_config, without_timings


def _run_folder(tmp: Path, worker: str, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    monkeypatch.setenv("EDWC_FLOW_WORKER", worker)
    cfg = load_config(configs_dir() / "outage_zhangjiakou.yaml", ["horizon_h=30"])
    out = tmp / name
    run(cfg, "outage_zhangjiakou", out, force=True)
    return out


def test_a_run_with_its_records_in_a_child_writes_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a national scenario with a fault (segments end mid-step): every file and the summary
    here = _run_folder(tmp_path, "0", monkeypatch, "here")
    child = _run_folder(tmp_path, "1", monkeypatch, "child")
    for name in ("flows.parquet", "latency_hist.parquet", "timeseries.parquet", "jobs.parquet"):
        assert (here / name).read_bytes() == (child / name).read_bytes(), name
    assert pq.read_metadata(child / "flows.parquet").num_rows > 0
    a, b = (json.loads((d / "summary.json").read_text()) for d in (here, child))
    assert without_timings(a) == without_timings(b)


def test_laws_the_child_dropped_are_sent_again() -> None:
    # the child keeps two laws: most segments' laws travel again, and the records are the same
    cfg = load_config(configs_dir() / "baseline.yaml", ["horizon_h=30"])
    outs = []
    for remote in (False, True):
        scn = build_scenario(cfg, "baseline")
        steps = int(np.ceil(scn.horizon_s / scn.config.engine.timestep_s))
        sink = FlowSinkProcess(scn, steps, None, laws_kept=2) if remote else FlowSink(scn, steps, None)
        eng = Engine(scn, JobSink(scn, None), make_policy(scn), flow_sink=sink)
        eng.run()
        table = sink.close()
        sink.fold_histograms()  # (the child folded what waited at its end: the same sums)
        hists = np.stack([sink.stats[k].added_hist for k in sink.lat])
        totals = [(s.requests, s.served, s.waited, s.wait_sum_s, s.violations) for s in sink.stats.values()]
        outs.append((table, totals, hists, sink.requests_cs, sink.rejected_cs))
        assert eng.flows._laws > 2  # more laws than the child kept
    (t0, *a), (t1, *b) = outs
    assert t0.num_rows > 0
    assert t0.schema == t1.schema and t0.num_rows == t1.num_rows
    for name in t0.column_names:  # NaN waits (no request served) are equal here
        x, y = t0[name].to_numpy(), t1[name].to_numpy()
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        assert np.array_equal(x, y)


def test_which_sink_a_run_gets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = two_site_config(horizon_h=2.0)
    scn = scenario_of(doc)
    monkeypatch.delenv("EDWC_FLOW_WORKER", raising=False)
    assert type(open_flow_sink(scn, 24, tmp_path / "f.parquet")) is FlowSink  # short
    long_doc = dict(doc, horizon_h=MIN_HORIZON_S / 3600.0)
    long_scn = scenario_of(long_doc)
    assert type(open_flow_sink(long_scn, 24, None)) is FlowSink  # in memory: stays here
    monkeypatch.setenv("EDWC_FLOW_WORKER", "0")
    assert type(open_flow_sink(long_scn, 24, tmp_path / "f.parquet")) is FlowSink
    monkeypatch.setenv("EDWC_FLOW_WORKER", "1")
    sink = open_flow_sink(scn, 24, tmp_path / "f.parquet")
    assert isinstance(sink, FlowSinkProcess)
    sink.abort()
    assert sink._proc is None  # the child has exited
    no_latency = copy.deepcopy(doc)
    no_latency["workloads"] = [w for w in no_latency["workloads"] if w["kind"] != "latency"]
    assert type(open_flow_sink(scenario_of(no_latency), 24, tmp_path / "f.parquet")) is FlowSink


def test_an_error_in_the_child_is_raised_at_collect(tmp_path: Path) -> None:
    doc = two_site_config(horizon_h=6.0)
    scn = build_scenario(validate_config(copy.deepcopy(doc), "test.yaml"), "test.yaml")
    # a file in a folder that does not exist: the child's writer fails at its first batch
    sink = FlowSinkProcess(scn, 36, tmp_path / "missing" / "flows.parquet")
    eng = Engine(scn, JobSink(scn, None), make_policy(scn), flow_sink=sink)
    with pytest.raises(RuntimeError, match="flow records' process failed"):
        eng.run()
    assert sink._proc is None
