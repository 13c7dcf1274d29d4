"""Parameter sweeps: many runs of one base config, locally or on a Dask cluster.

``run_sweep`` validates every run of a spec (:mod:`sim.sweeps.spec`) before any
starts, writes ``SWEEP_DIR/sweep.yaml``, runs the missing runs into
``SWEEP_DIR/runs/<run-id>/`` (:mod:`sim.sweeps.execute`) and rebuilds
``SWEEP_DIR/summary.parquet`` from the run folders: one row per run with
``run_id``, the axis values (one column per key path), ``replication``,
``seed``, ``status`` (ok | failed), ``error`` and every scalar of the run's
``summary.json`` under its dotted key (``classes.web.latency_ms.p95``).

Resume: runs whose folder holds ``summary.json`` are skipped; failed runs
(``error.txt``) are tried again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.runfolder import layout
from sim.runfolder.write import write_parquet, write_text
from sim.sweeps.execute import ERROR, SUMMARY, Job, Row, clean_partials, execute, is_complete, warm_up
from sim.sweeps.spec import RunTask, SweepSpec, plan_runs, spec_yaml

__all__ = ["SweepResult", "flatten", "run_sweep", "summary_table"]

FIXED_COLUMNS = ("run_id", "replication", "seed", "status", "error")


@dataclass(frozen=True)
class SweepResult:
    out_dir: Path
    total: int
    skipped: int
    ok: int
    failed: int
    wall_s: float
    failures: dict[str, str]  # run id -> error


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """The scalars of a nested dict under dotted keys; lists are left out."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif not isinstance(obj, list) and prefix:
        out[prefix] = obj
    return out


def _column(values: list[Any]) -> list[Any]:
    """Values one Parquet column can hold: mixed or nested values become JSON text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or (len(kinds) <= 1 and kinds <= {bool, int, float, str}):
        return values
    return [None if v is None else v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]


def _error_of(run_dir: Path) -> str:
    try:
        return (run_dir / ERROR).read_text(encoding="utf-8").split("\n", 1)[0]
    except OSError:
        return ""


def summary_table(tasks: list[RunTask], runs_dir: Path, lost: dict[str, str] | None = None) -> pa.Table:
    """One row per task, read from its run folder (never from memory)."""
    axis_keys = list(tasks[0].values) if tasks else []
    rows: list[dict[str, Any]] = []
    for t in tasks:
        run_dir = runs_dir / t.run_id
        row: dict[str, Any] = {"run_id": t.run_id, **t.values, "replication": t.replication, "seed": t.seed}
        if is_complete(run_dir):
            summary = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
            row.update(status="ok", error="")
            for k, v in flatten(summary).items():
                row.setdefault(k, v)
        else:
            err = _error_of(run_dir) or (lost or {}).get(t.run_id) or "not run"
            row.update(status="failed", error=err)
        rows.append(row)
    order: dict[str, None] = dict.fromkeys(["run_id", *axis_keys, *FIXED_COLUMNS[1:]])
    for row in rows:
        order.update(dict.fromkeys(row))
    data = {c: _column([row.get(c) for row in rows]) for c in order}
    return pa.Table.from_pandas(pd.DataFrame(data, columns=list(order)), preserve_index=False)


def run_sweep(
    spec: SweepSpec,
    out_dir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> SweepResult:
    """Validate, run what is missing, rebuild the summary.

    ``progress(done, total, failed)`` is called at the start and after each run.
    Raises InputError (before any run) for an invalid combination.
    """
    t0 = time.perf_counter()
    n_workers = max(1, workers or os.cpu_count() or 1)
    resuming = (out_dir / layout.SWEEP_SPEC).exists()
    warming = None if resuming else warm_up(n_workers, scheduler)
    tasks = plan_runs(spec)
    out_dir = out_dir.resolve()
    runs_dir = out_dir / layout.SWEEP_RUNS
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_partials(runs_dir)
    write_text(out_dir / layout.SWEEP_SPEC, spec_yaml(spec, tasks))
    todo = [t for t in tasks if not is_complete(runs_dir / t.run_id)]
    skipped = len(tasks) - len(todo)
    jobs = [Job(t.run_id, t.config, str(spec.base), str(spec.base.parent), str(runs_dir)) for t in todo]
    counts = {"done": skipped, "failed": 0}
    if progress is not None:
        progress(skipped, len(tasks), 0)

    def on_row(row: Row) -> None:
        counts["done"] += 1
        counts["failed"] += row["status"] != "ok"
        if progress is not None:
            progress(counts["done"], len(tasks), counts["failed"])

    if warming is not None:
        warming.join()
    lost = execute(jobs, n_workers, scheduler, on_row)
    table = summary_table(tasks, runs_dir, lost)
    write_parquet(out_dir / layout.SWEEP_SUMMARY, table)
    status = table.column("status").to_pylist()
    errors = table.column("error").to_pylist()
    ids = table.column("run_id").to_pylist()
    failures = {i: e for i, s, e in zip(ids, status, errors, strict=True) if s != "ok"}
    return SweepResult(
        out_dir=out_dir,
        total=len(tasks),
        skipped=skipped,
        ok=len(tasks) - len(failures),
        failed=len(failures),
        wall_s=time.perf_counter() - t0,
        failures=failures,
    )
