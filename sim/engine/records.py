"""Job records: finished chunks of jobs become Arrow record batches and class statistics.

Once a simulated day the engine hands over the :class:`~sim.engine.job.Job` objects
that have completed or been dropped since (in arrival order), and at the
horizon the rest. :class:`JobSink` turns each batch into columns, writes them
to ``jobs.parquet`` (or keeps them in memory), and folds them into per-class
counters and latency histograms for the summary, so the run never holds all
jobs at once. Rows are therefore grouped by the day a job left the system;
sort by ``job_id`` for arrival order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine.histogram import H_BINS, hist_index, hist_percentile
from sim.engine.job import COMPLETED, DROPPED, LOST, PENDING, Job, job_columns
from sim.runfolder import layout
from sim.runfolder.stream import ParquetStream
from sim.scenario import Scenario

__all__ = ["STATUS", "ClassStats", "JobSink", "hist_percentile"]

STATUS = {PENDING: "in_flight", COMPLETED: "completed", DROPPED: "dropped", LOST: "lost"}


class ClassStats:
    """Running totals of one workload class."""

    def __init__(self, weighted: bool = False) -> None:
        # with bundling: pool a class's jobs stand for different numbers of real jobs: weigh them
        self.weighted = weighted
        self.jobs = 0
        self.completed = 0
        self.dropped = 0
        self.lost = 0
        self.violations = 0
        # real jobs (a simulated job stands for its job_scale of them)
        self.real_jobs = 0
        self.real_completed = 0
        self.real_judged = 0  # completed, dropped or lost
        self.real_met = 0  # completed within the deadline (batch) or SLO
        self.wait_sum_s = 0.0  # over completed jobs; weighted by real jobs with bundling: pool
        self.rerouted = 0
        self.response_hist = np.zeros(H_BINS)  # weighted as wait_sum_s
        self.added_hist = np.zeros(H_BINS)

    @property
    def mean_wait_s(self) -> float | None:
        """Mean wait of a completed job (a real one with bundling: pool), None when none completed."""
        if not self.completed:
            return None
        return self.wait_sum_s / (self.real_completed if self.weighted else self.completed)


_SCHEMA = layout.JOBS_SCHEMA


def _dict_col(codes: np.ndarray, names: Sequence[str]) -> pa.DictionaryArray:
    mask = codes < 0
    idx = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(names), pa.string()))


def _arrow(values: Any, dtype: pa.DataType) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, dtype)


class JobSink:
    """Receives finished chunks; writes ``jobs.parquet`` (``path``) or keeps batches in memory."""

    def __init__(self, scn: Scenario, path: Path | None = None) -> None:
        self.scn = scn
        self.path = path
        self.batches: list[pa.RecordBatch] = []
        self._writer: ParquetStream | None = None  # written beside the run, on a thread of its own
        self.weighted = scn.config.engine.bundling == "pool"
        self.stats = [ClassStats(self.weighted) for _ in scn.classes]
        self.total = 0
        self.network_gb = np.zeros(scn.topology.n_clusters)  # real GB moved to each cluster
        k = len(scn.classes)
        self._slo_s = np.array([c.slo_ms / 1000.0 if c.is_latency else math.inf for c in scn.classes])
        self._deadline_s = np.array([c.deadline_h * 3600.0 for c in scn.classes])
        self._is_lat = np.array([c.is_latency for c in scn.classes])
        self._k = k
        # dynamic power of a busy simulated server, per cluster (its server type x its scale)
        busy_kw = np.array([scn.power_of(c).busy_kw for c in range(scn.topology.n_clusters)])
        self._kwh_per_server_s = busy_kw * scn.scales / 3600.0
        self.status_names = [STATUS[i] for i in range(4)]

    def add(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        ints, floats = job_columns(jobs if isinstance(jobs, list) else list(jobs))
        n = len(jobs)
        ids, k, r, c, fate, reroutes, scale = (np.fromiter(col, dtype=np.int64, count=n) for col in ints)
        reroutes = reroutes.astype(np.int32)
        arrival, queued, start, end, net_in, net_out, service, hold, served, data = (
            np.fromiter(col, dtype=float, count=n) for col in floats
        )
        c = np.where(fate == DROPPED, -1, c)

        done = fate == COMPLETED
        network = net_in + net_out
        # time at clusters not being served (queueing, preemption, lost work before a re-route)
        wait = np.where(done, end - arrival - net_in - hold, start - queued)
        response = np.where(done, network + wait + service, np.nan)
        scn = self.scn
        hours = scn.energy.n_hours
        h = np.clip(np.nan_to_num(start, nan=0.0) // 3600, 0, hours - 1).astype(np.int64)
        it_kwh = served * self._kwh_per_server_s[np.maximum(c, 0)]
        pue = scn.energy.pue[np.maximum(c, 0), h]
        energy = np.where(c >= 0, it_kwh * pue, 0.0)

        columns: dict[str, Any] = {
            "job_id": ids,
            "class": _dict_col(k, scn.class_names),
            "region": _dict_col(r, scn.topology.region_ids),
            "cluster": _dict_col(c, scn.topology.cluster_ids),
            "status": _dict_col(fate, self.status_names),
            "arrival_s": arrival,
            "queued_s": queued,
            "start_s": start,
            "end_s": np.where(done, end + net_out, np.nan),
            "network_s": network,
            "wait_s": wait,
            "service_s": service,
            "occupancy_s": hold,
            "response_s": response,
            "data_gb": data,
            "job_scale": scale,
            "reroutes": reroutes,
            "it_kwh": it_kwh,
            "energy_kwh": energy,
        }
        # by name, in the layout's order (sim.runfolder.layout.JOBS_COLUMNS)
        batch = pa.RecordBatch.from_arrays([_arrow(columns[f.name], f.type) for f in _SCHEMA], schema=_SCHEMA)
        self._emit(batch)
        self._fold(k, fate, done, wait, response, network, reroutes, scale)
        moved = (c >= 0) & (data > 0) & np.isfinite(queued)
        np.add.at(self.network_gb, c[moved], (data * scale)[moved])

    def _emit(self, batch: pa.RecordBatch) -> None:
        self.total += batch.num_rows
        if self.path is None:
            self.batches.append(batch)
            return
        if self._writer is None:
            self._writer = ParquetStream(
                self.path, _SCHEMA, compression="zstd", use_dictionary=True, write_statistics=True
            )
        self._writer.write(batch)

    def _fold(
        self,
        k: np.ndarray,
        fate: np.ndarray,
        done: np.ndarray,
        wait: np.ndarray,
        response: np.ndarray,
        network: np.ndarray,
        reroutes: np.ndarray,
        scale: np.ndarray,
    ) -> None:
        added = network + wait
        for kk in range(self._k):
            mine = k == kk
            if not mine.any():
                continue
            st = self.stats[kk]
            d = mine & done
            judged = mine & (fate != PENDING)
            late = added > self._slo_s[kk] if self._is_lat[kk] else response > self._deadline_s[kk]
            st.jobs += int(mine.sum())
            st.completed += int(d.sum())
            st.dropped += int((mine & (fate == DROPPED)).sum())
            st.lost += int((mine & (fate == LOST)).sum())
            st.rerouted += int((reroutes[mine] > 0).sum())
            st.violations += int((d & late).sum())
            st.real_jobs += int(scale[mine].sum())
            st.real_completed += int(scale[d].sum())
            st.real_judged += int(scale[judged].sum())
            st.real_met += int(scale[d & ~late].sum())
            # each completed job counts once, or for its real jobs when they differ (bundling: pool)
            w = scale[d].astype(float) if self.weighted else np.ones(int(d.sum()))
            st.wait_sum_s += float((wait[d] * w).sum())
            np.add.at(st.response_hist, hist_index(response[d]), w)
            np.add.at(st.added_hist, hist_index(added[d]), w)

    def abort(self) -> None:
        """Stop writing after a failed run (the file is left incomplete, for the caller to remove)."""
        if self._writer is not None:
            self._writer.abort()

    def close(self) -> pa.Table:
        """Finish the file (or return the in-memory table)."""
        if self.path is None:
            return pa.Table.from_batches(self.batches, schema=_SCHEMA)
        if self._writer is None:
            pq.write_table(pa.Table.from_batches([], schema=_SCHEMA), self.path, compression="zstd")
        else:
            self._writer.close()
        return pa.Table.from_batches([], schema=_SCHEMA)
