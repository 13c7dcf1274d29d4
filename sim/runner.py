"""One run: config -> scenario -> simulation -> run folder (:mod:`sim.runfolder.layout`)."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from sim.config import Config
from sim.config_io import resolved_yaml
from sim.engine.flowworker import open_flow_sink
from sim.engine.gcpause import paused_gc
from sim.engine.kernel import Engine
from sim.engine.policy import PolicyOutputs
from sim.engine.records import JobSink
from sim.metrics import summary_dict
from sim.policies import make_policy
from sim.runfolder import layout
from sim.runfolder.write import write_json, write_parquet, write_text
from sim.scenario import Scenario, build_scenario
from sim.timeseries import timeseries_table


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: layout.Summary


@dataclass(frozen=True)
class Outputs:
    """A run's tables and summary, in memory."""

    engine: Engine
    jobs: pa.Table  # batch jobs (latency classes are flows)
    timeseries: pa.Table
    summary: layout.Summary
    policy: PolicyOutputs  # what the policy contributes (plan tables; empty for most policies)
    flows: pa.Table  # latency flows per step, region, class and cluster


def default_out_dir(cfg: Config) -> Path:
    return Path(cfg.output.dir) if cfg.output.dir else Path("runs") / cfg.name


def check_config(cfg: Config, source: str, base_dir: Path | None = None) -> Scenario:
    """Everything a run checks before it starts (``edwc validate``): cross references, the policy.

    Raises InputError for the first problem; returns the scenario built.
    """
    scn = build_scenario(cfg, source, base_dir=base_dir)
    make_policy(scn)
    return scn


def simulate(
    scn: Scenario,
    jobs_path: Path | None = None,
    progress: Callable[[float], None] | None = None,
    flows_path: Path | None = None,
) -> Outputs:
    """Run ``scn`` (random streams seeded from its config).

    Batch jobs go to ``jobs_path`` and latency flows to ``flows_path`` (Parquet),
    or stay in memory when a path is None.
    """
    with paused_gc():  # as in the engine's run; what is left in cycles goes once it is back on
        sink = JobSink(scn, jobs_path)
        n_steps = max(1, math.ceil(scn.horizon_s / scn.config.engine.timestep_s))
        flow_sink = open_flow_sink(scn, n_steps, flows_path)
        try:
            eng = Engine(scn, sink, make_policy(scn), progress=progress, flow_sink=flow_sink)
            eng.run()
            # the last flow rows go to their writer now: the records are written (on the sinks'
            # threads, sim/runfolder/stream.py) while the time series and the summary are computed
            flow_sink.flush()
            policy_out = eng.policy.outputs() or PolicyOutputs()
            ts, stats = timeseries_table(eng, policy_out.planned)
            summary = summary_dict(eng, stats, policy_out)
            jobs = sink.close()
            flows = flow_sink.close()
        except BaseException:  # a failed run (or ^C) stops its writer threads too
            sink.abort()
            flow_sink.abort()
            raise
    return Outputs(engine=eng, jobs=jobs, timeseries=ts, summary=summary, policy=policy_out, flows=flows)


def run(
    cfg: Config,
    source: str,
    out_dir: Path | None = None,
    progress: Callable[[float], None] | None = None,
    base_dir: Path | None = None,
    force: bool = False,
) -> RunResult:
    """Simulate ``cfg`` and write its run folder; return the summary.

    Same config and seed give byte-identical Parquet files. Every file is
    written under a temporary name and renamed; ``summary.json`` comes last.
    A non-empty ``out_dir`` that is not a run folder is refused (InputError)
    unless ``force``.
    """
    t0 = time.perf_counter()
    out = out_dir if out_dir is not None else default_out_dir(cfg)
    layout.check_out_dir(out, force)
    with paused_gc():
        scn = build_scenario(cfg, source, base_dir=base_dir)
    out.mkdir(parents=True, exist_ok=True)
    # a folder being rewritten is not complete until the new summary.json lands
    (out / layout.SUMMARY).unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{layout.JOBS}.", suffix=".tmp", dir=out)
    os.close(fd)
    tmp_jobs = Path(tmp_name)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{layout.FLOWS}.", suffix=".tmp", dir=out)
    os.close(fd)
    tmp_flows = Path(tmp_name)
    try:
        result = simulate(scn, tmp_jobs, progress, tmp_flows)
        t_sim = time.perf_counter() - t0
        write_text(out / layout.CONFIG, resolved_yaml(cfg))
        for tmp, name in ((tmp_jobs, layout.JOBS), (tmp_flows, layout.FLOWS)):
            os.chmod(tmp, 0o644)
            os.replace(tmp, out / name)
        write_parquet(out / layout.LATENCY_HIST, result.engine.flow_sink.histogram_table())
        write_parquet(out / layout.TIMESERIES, result.timeseries)
        tables = result.policy.tables
        for name in layout.POLICY_TABLES:  # no stale plan from an earlier run in the same folder
            if name not in tables:
                (out / name).unlink(missing_ok=True)
        for name, df in tables.items():
            write_parquet(out / name, layout.table_from_frame(df, name))
    finally:
        tmp_jobs.unlink(missing_ok=True)
        tmp_flows.unlink(missing_ok=True)
    summary = result.summary
    summary["simulation_s"] = t_sim
    summary["wall_s"] = time.perf_counter() - t0
    write_json(out / layout.SUMMARY, summary)
    return RunResult(out_dir=out, summary=summary)
