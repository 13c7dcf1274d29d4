"""Executing a sweep's runs: one task = one whole run, on local processes or a Dask cluster.

A worker runs its config into ``runs/.partial-<id>-<random>/`` and renames the
folder to ``runs/<id>/`` when done, so ``runs/<id>/`` only ever appears
complete: with ``summary.json`` (success) or ``error.txt`` (the run raised).
It returns a small row, never the run's tables.

Backends: joblib's loky processes (``workers`` of them; one worker runs in
this process), a ``distributed.LocalCluster``, or an existing Dask scheduler
(``tcp://HOST:PORT``; its workers need edwc installed and must see the sweep
folder at the same path, e.g. on a shared filesystem).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from models.errors import InputError
from sim.runfolder import layout

PARTIAL_PREFIX = ".partial-"
SUMMARY = layout.SUMMARY
ERROR = layout.ERROR

Row = dict[str, Any]


@dataclass(frozen=True)
class Job:
    """What a worker needs for one run (small and picklable)."""

    run_id: str
    config: dict[str, Any]
    source: str
    base_dir: str
    runs_dir: str


def is_complete(run_dir: Path) -> bool:
    return (run_dir / SUMMARY).is_file()


def clean_partials(runs_dir: Path) -> int:
    """Remove folders of runs that were interrupted (killed) mid-write."""
    n = 0
    if runs_dir.is_dir():
        for p in runs_dir.iterdir():
            if p.name.startswith(PARTIAL_PREFIX) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                n += 1
    return n


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_one(job: Job) -> Row:
    """Run ``job`` into its folder (in a worker); return {run_id, status, error, wall_s}."""
    from sim import runner as run_module
    from sim.config_io import resolved_yaml, validate_config
    from sim.runfolder.write import write_text

    runs = Path(job.runs_dir)
    final = runs / job.run_id
    if is_complete(final):
        return {"run_id": job.run_id, "status": "ok", "error": "", "wall_s": None, "skipped": True}
    partial = runs / f"{PARTIAL_PREFIX}{job.run_id}-{uuid.uuid4().hex[:8]}"
    partial.mkdir(parents=True)
    row: Row = {"run_id": job.run_id, "status": "ok", "error": "", "wall_s": None, "skipped": False}
    try:
        cfg = None
        try:
            cfg = validate_config(copy.deepcopy(job.config), job.source)
            result = run_module.run(cfg, job.source, partial, base_dir=Path(job.base_dir))
            row["wall_s"] = result.summary.get("wall_s")
        except Exception as exc:
            row.update(status="failed", error=_one_line(exc))
            for p in partial.iterdir():  # no half-run tables next to error.txt
                p.unlink() if p.is_file() else shutil.rmtree(p, ignore_errors=True)
            if cfg is not None:
                write_text(partial / layout.CONFIG, resolved_yaml(cfg))
            write_text(partial / ERROR, row["error"] + "\n\n" + traceback.format_exc())
        if final.exists():  # an earlier failed attempt (error.txt)
            if is_complete(final):
                return {**row, "status": "ok", "error": "", "skipped": True}
            shutil.rmtree(final)
        partial.rename(final)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return row


# --------------------------------------------------------------------------- backends


def _parallel(workers: int) -> Any:
    joblib: Any = import_module("joblib")  # untyped; imported on use
    return joblib.Parallel(n_jobs=workers, backend="loky", batch_size=1, return_as="generator_unordered")


def _joblib(jobs: list[Job], workers: int) -> Iterator[Row]:
    delayed: Any = import_module("joblib").delayed
    yield from _parallel(workers)(delayed(run_one)(j) for j in jobs)


def _warm() -> int:
    import sim.runner  # noqa: F401  (the expensive imports of a run)

    return os.getpid()


def warm_up(workers: int, scheduler: str | None) -> threading.Thread | None:
    """Start the local worker processes and their imports in the background.

    Called before the sweep's configs are validated, so that a worker's start
    (~1 s of imports) overlaps the validation instead of adding to the sweep.
    joblib reuses the same loky processes for the runs.
    """
    if scheduler is not None or workers <= 1:
        return None

    def go() -> None:
        delayed: Any = import_module("joblib").delayed
        with contextlib.suppress(Exception):
            list(_parallel(workers)(delayed(_warm)() for _ in range(workers)))

    thread = threading.Thread(target=go, name="edwc-sweep-warm-up", daemon=True)
    thread.start()
    return thread


def _dask(jobs: list[Job], workers: int, scheduler: str) -> Iterator[Row]:
    dist: Any = import_module("distributed")  # partly typed; imported on use
    Client, LocalCluster, as_completed = dist.Client, dist.LocalCluster, dist.as_completed
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                "--scheduler", scheduler, f"cannot connect to the Dask scheduler: {exc}"
            ) from None
    try:
        futures = client.map(run_one, jobs, key=[f"edwc-run-{j.run_id}" for j in jobs], pure=False)
        by_key = {f.key: j for f, j in zip(futures, jobs, strict=True)}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or similar
                yield {"run_id": by_key[fut.key].run_id, "status": "failed", "error": _one_line(exc)}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def execute(
    jobs: list[Job], workers: int, scheduler: str | None, on_row: Callable[[Row], None]
) -> dict[str, str]:
    """Run ``jobs``; call ``on_row`` as each finishes. Returns errors of runs the backend lost."""
    if not jobs:
        return {}
    rows: Iterable[Row] = _joblib(jobs, workers) if scheduler is None else _dask(jobs, workers, scheduler)
    seen: set[str] = set()
    lost: dict[str, str] = {}
    it = iter(rows)
    while True:
        try:
            row = next(it)
        except StopIteration:
            break
        except InputError:
            raise
        except Exception as exc:  # a worker process died and took the pool with it
            msg = f"not run: the worker pool failed ({_one_line(exc)}); re-run the sweep to resume"
            for j in jobs:
                if j.run_id not in seen:
                    lost[j.run_id] = msg
                    on_row({"run_id": j.run_id, "status": "failed", "error": msg})
            break
        seen.add(row["run_id"])
        if row["status"] != "ok" and not (Path(jobs[0].runs_dir) / row["run_id"] / ERROR).exists():
            lost[row["run_id"]] = row["error"]
        on_row(row)
    return lost
