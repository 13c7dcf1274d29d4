"""One run: config -> scenario -> simulation -> run folder."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.config import Config
from sim.config_io import resolved_yaml
from sim.engine.kernel import Engine
from sim.engine.records import JobSink
from sim.metrics import summary_dict, timeseries_table
from sim.policies import make_policy
from sim.runfolder.write import write_json, write_parquet, write_text
from sim.scenario import Scenario, build_scenario


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class Outputs:
    """A run's tables and summary, in memory."""

    engine: Engine
    jobs: pa.Table
    timeseries: pa.Table
    summary: dict[str, Any]


def default_out_dir(cfg: Config) -> Path:
    return Path(cfg.output.dir) if cfg.output.dir else Path("runs") / cfg.name


def simulate(
    scn: Scenario, jobs_path: Path | None = None, progress: Callable[[float], None] | None = None
) -> Outputs:
    """Run ``scn`` (random streams seeded from its config); jobs go to ``jobs_path`` or memory."""
    sink = JobSink(scn, jobs_path)
    eng = Engine(scn, sink, make_policy(scn), progress=progress)
    eng.run()
    jobs = sink.close()
    ts, stats = timeseries_table(eng)
    return Outputs(engine=eng, jobs=jobs, timeseries=ts, summary=summary_dict(eng, stats))


def run(
    cfg: Config,
    source: str,
    out_dir: Path | None = None,
    progress: Callable[[float], None] | None = None,
    base_dir: Path | None = None,
) -> RunResult:
    """Simulate ``cfg`` and write its run folder; return the summary.

    Same config and seed give byte-identical Parquet files. Every file is
    written under a temporary name and renamed; ``summary.json`` comes last.
    """
    t0 = time.perf_counter()
    scn = build_scenario(cfg, source, base_dir=base_dir)
    out = out_dir if out_dir is not None else default_out_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    # a folder being rewritten is not complete until the new summary.json lands
    (out / "summary.json").unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".jobs.parquet.", suffix=".tmp", dir=out)
    os.close(fd)
    tmp_jobs = Path(tmp_name)
    try:
        result = simulate(scn, tmp_jobs, progress)
        t_sim = time.perf_counter() - t0
        write_text(out / "config.resolved.yaml", resolved_yaml(cfg))
        os.chmod(tmp_jobs, 0o644)
        os.replace(tmp_jobs, out / "jobs.parquet")
        write_parquet(out / "timeseries.parquet", result.timeseries)
        planner = getattr(result.engine.policy, "planner", None)
        if planner is None:  # no stale plan from an earlier run in the same folder
            for name in ("plan.parquet", "shadow_prices.parquet", "plan_duals.parquet"):
                (out / name).unlink(missing_ok=True)
        else:
            write_parquet(out / "plan.parquet", pa.Table.from_pandas(planner.frame(), preserve_index=False))
            write_parquet(
                out / "shadow_prices.parquet",
                pa.Table.from_pandas(planner.shadow_prices(), preserve_index=False),
            )
            write_parquet(
                out / "plan_duals.parquet",
                pa.Table.from_pandas(planner.window_duals(), preserve_index=False),
            )
    finally:
        tmp_jobs.unlink(missing_ok=True)
    summary = dict(result.summary)
    summary["simulation_s"] = t_sim
    summary["wall_s"] = time.perf_counter() - t0
    write_json(out / "summary.json", summary)
    return RunResult(out_dir=out, summary=summary)
