"""What latency flows leave behind: ``flows.parquet`` rows, per-class totals and latency histograms.

One row per segment (a time step, or part of one when capacity changed
mid-step), region, class and cluster that saw requests: ``requests`` =
``served`` + ``rejected`` there, with the cluster's mean and 95th-percentile
wait of the served ones. Requests with no cluster to go to (no candidate
within the SLO, every candidate down, or the policy gave no share) have a
null cluster and count as rejected.

Per class the sink keeps exact totals (requests, served, rejected, waited,
wait sum, SLO violations among the served: ``P(RTT + W > SLO)`` summed over
the served requests) and the histogram of the added latency ``RTT + W``,
mixed exactly from each segment's waiting-time law
(:func:`~sim.engine.histogram.add_shifted_wait`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine.histogram import H_BINS, add_exp_tails, add_shifted_wait, bin_edges, hist_index
from sim.runfolder import layout
from sim.runfolder.stream import ParquetStream

if TYPE_CHECKING:  # (the records' process imports this module: it needs neither)
    from models.queueing import WaitTail
    from sim.scenario import Scenario

FLOW_SCHEMA = layout.FLOWS_SCHEMA
#: laws whose served requests may wait to be folded into the histograms (bounds their memory)
PENDING_LAWS = 512
_DETERMINISTIC_N = 1e15  # above this many expected requests, counts are rounded expectations


@dataclass(frozen=True)
class LawRecord:
    """What the records need of a :class:`SegmentLaw`: its *entries* and the rows they make.

    An entry is a flow and an outcome with positive rate (served at a cluster,
    rejected at a cluster, or rejected with no cluster), so that a segment's
    counts are one Poisson draw per entry and its records a few bincounts. The
    arrays are packed (one concatenation per kind for a day's segments) and small,
    so that the records of a run can be kept apart from its engine
    (:mod:`sim.engine.flowworker`).
    """

    law_id: int  # numbers distinct laws (the sink folds histogram mass per law)
    rate: np.ndarray  # (n,) requests per second of each entry
    ints: np.ndarray  # (4, n): cluster (-1: none), served (0/1), class position, row
    floats: np.ndarray  # (5, n) at its cluster: P(wait), mean wait s, P(RTT+W > SLO) if served, RTT s, decay
    row_ints: np.ndarray  # (2, m) per flows.parquet row: flow, cluster (-1: none)
    row_floats: np.ndarray  # (2, m): mean and p95 wait s at its cluster


@dataclass
class SegmentLaw:
    """What routing and admission decided for a segment: the same for every segment with the same inputs.

    Per cluster: the waiting-time law. Per *entry* (a flow and an outcome with
    positive rate: served at a cluster, rejected at a cluster, or rejected with no
    cluster): its rate, and what the records need of it, so that a segment's
    counts are one Poisson draw per entry and its records a few bincounts.
    ``law_id`` numbers distinct laws (the sink folds histogram mass per law).
    """

    law_id: int
    lam: np.ndarray  # (F,) requests per second of each flow
    p_out: np.ndarray  # (F, 2C + 1): served at c, rejected at c, rejected with no cluster
    tails: list[WaitTail]  # per cluster
    shift_s: np.ndarray  # (F, C) network time (RTT) of each flow to each cluster
    load: np.ndarray  # (C,) latency erlangs served
    shed: np.ndarray  # (C,) latency erlangs rejected at each cluster
    p_wait: np.ndarray  # (C,)
    decay: np.ndarray  # (C,) per second (inf: no wait)
    mean_w: np.ndarray  # (C,) mean wait, s
    p95_w: np.ndarray  # (C,) 95th percentile of the wait, s
    record: LawRecord | None = None  # what the records need (index)

    def index(self, slo_f: np.ndarray, class_pos: np.ndarray) -> None:
        """Make :attr:`record` (``slo_f``: each flow's SLO in seconds; ``class_pos``: each flow's
        position among the latency classes)."""
        n_c = self.shift_s.shape[1]
        rate = self.lam[:, None] * self.p_out
        ff, oo = np.nonzero(rate > 0)
        served = oo < n_c
        cluster = np.where(oo < 2 * n_c, oo % n_c, -1)
        # one row per (flow, cluster or none)
        key = ff * (n_c + 1) + np.where(cluster < 0, n_c, cluster)
        uniq, row = np.unique(key, return_inverse=True)
        rc = uniq % (n_c + 1)
        row_cluster = np.where(rc == n_c, -1, rc)
        rcl = np.maximum(row_cluster, 0)
        c = np.maximum(cluster, 0)
        shift = self.shift_s[ff, c]
        budget = slo_f[ff] - shift
        pw, dec = self.p_wait[c], self.decay[c]
        with np.errstate(invalid="ignore", over="ignore"):
            tail = np.where(pw > 0, pw * np.exp(-dec * np.maximum(budget, 0.0)), 0.0)
        exceed = np.where(served, np.where(budget < 0, 1.0, tail), 0.0)
        self.record = LawRecord(
            law_id=self.law_id,
            rate=rate[ff, oo],
            ints=np.stack([cluster, served.astype(np.int64), class_pos[ff], row]),
            floats=np.stack([pw, self.mean_w[c], exceed, shift, dec]),
            row_ints=np.stack([uniq // (n_c + 1), row_cluster]),
            row_floats=np.stack([self.mean_w[rcl], self.p95_w[rcl]]),
        )


Segment = tuple[int, float, float, LawRecord]  # (time step, start s, duration s, law) of a segment


class FlowClassStats:
    """Running totals of one latency class (request counts; waits in seconds)."""

    def __init__(self) -> None:
        self.requests = 0
        self.served = 0
        self.rejected = 0
        self.waited = 0.0  # expected number of served requests that waited
        self.wait_sum_s = 0.0
        self.violations = 0.0  # expected served requests with RTT + wait > SLO
        self.added_hist = np.zeros(H_BINS)


def _dict(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    mask = codes < 0
    idx = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(names, pa.string()))


class FlowSink:
    """Receives each segment's counts; writes ``flows.parquet`` (``path``) or keeps it in memory."""

    def __init__(self, scn: Scenario, n_steps: int, path: Path | None = None) -> None:
        self.path = path
        topo = scn.topology
        # the names the records are written with (the sink keeps no scenario: it can be pickled)
        self.region_ids = list(topo.region_ids)
        self.class_names = list(scn.class_names)
        self.cluster_ids = list(topo.cluster_ids)
        self.lat = [k for k, c in enumerate(scn.classes) if c.is_latency]
        self.n_r, self.n_c = topo.n_regions, topo.n_clusters
        self.stats = {k: FlowClassStats() for k in self.lat}
        self.slo_s = [scn.classes[k].slo_ms / 1000.0 for k in self.lat]
        # per cluster and time step (for the time series)
        self.requests_cs = np.zeros((self.n_c, n_steps))
        self.rejected_cs = np.zeros((self.n_c, n_steps))
        self._cols: dict[str, list[np.ndarray]] = {f.name: [] for f in FLOW_SCHEMA}
        self.n_f = len(self.lat) * self.n_r
        self.region_of = np.tile(np.arange(self.n_r), len(self.lat))
        self.class_index = np.repeat(np.array(self.lat, dtype=np.int64), self.n_r)
        self.class_pos = np.repeat(
            np.arange(len(self.lat)), self.n_r
        )  # flow -> position among latency classes
        self.slo_f = np.repeat(np.array(self.slo_s, dtype=float), self.n_r)
        # served requests per waiting-time law, folded into the histograms at each flush
        self._hist_mass: dict[int, np.ndarray] = {}
        self._laws: dict[int, LawRecord] = {}
        self._writer: ParquetStream | None = None  # written beside the run, on a thread of its own
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0

    def add_ended(self, segments: Sequence[Segment], rng: np.random.Generator) -> None:
        """Draw the request counts of ``segments`` (ended, in time order) from ``rng`` and add them.

        A Poisson total split multinomially over the outcomes is the same as an
        independent Poisson count per outcome (thinning): one vectorised draw for all
        the segments, element by element in time order, so the same counts as a draw
        per segment.
        """
        if not segments:
            return
        mean = np.concatenate([law.rate * dt for _, _, dt, law in segments])
        big = mean > _DETERMINISTIC_N
        if big.any():
            counts = np.rint(mean).astype(np.int64)
            counts[~big] = rng.poisson(mean[~big])
        else:
            counts = rng.poisson(mean)
        self.add_segments(segments, counts)

    def collect(self) -> None:
        """Have every segment added so far in the totals, the histograms and the rows (the
        engine calls this at the end of a run). Here they already are; a sink that records
        elsewhere (:class:`sim.engine.flowworker.FlowSinkProcess`) brings them home."""

    def add_segments(self, segments: Sequence[Segment], counts: np.ndarray) -> None:
        """Segments in time order, ``(step, t0, dt, law)``; ``counts``: their entries' request counts,
        one segment after the other.

        A simulated day's segments are folded at once (a few array operations per day, not per
        segment). Every total is the one segment-by-segment folding gives, bit for bit: request
        counts are whole numbers (exact sums below 2**53), and the waits and violations are
        summed per segment and class, then added to the class's totals segment by segment.
        """
        if not segments:
            return
        n_c = self.n_c
        kl = len(self.lat)
        n_s = len(segments)
        laws = [law for _, _, _, law in segments]
        sizes = np.array([law.rate.size for law in laws], dtype=np.int64)
        seg_of = np.repeat(np.arange(n_s), sizes)  # each entry's segment
        cnt = counts.astype(float)
        e_cluster, served_i, klass, e_row = np.concatenate([law.ints for law in laws], axis=1)
        p_wait, mean_w, exceed = np.concatenate([law.floats[:3] for law in laws], axis=1)
        served = served_i.astype(bool)
        c = np.maximum(e_cluster, 0)
        # requests and rejections per cluster and time step
        last = self.requests_cs.shape[1] - 1
        steps = np.array([min(step, last) for step, _, _, _ in segments], dtype=np.int64)
        s0 = int(steps.min())
        span = int(steps.max()) - s0 + 1
        at = e_cluster >= 0
        cell = (steps[seg_of] - s0) * n_c + c
        per_cell = np.bincount(cell[at], weights=cnt[at], minlength=span * n_c)
        self.requests_cs[:, s0 : s0 + span] += per_cell.reshape(span, n_c).T
        rej_at = at & ~served
        per_cell = np.bincount(cell[rej_at], weights=cnt[rej_at], minlength=span * n_c)
        self.rejected_cs[:, s0 : s0 + span] += per_cell.reshape(span, n_c).T
        # per class: counts (whole numbers) for the period, waits per segment
        s_cnt = np.where(served, cnt, 0.0)
        n_served = np.bincount(klass, weights=s_cnt, minlength=kl)
        n_all = np.bincount(klass, weights=cnt, minlength=kl)
        sk = seg_of * kl + klass
        # the waits per segment and class, added to each class's running totals segment by
        # segment: an accumulation runs in order, so its last row is the loop's sum, bit for bit
        per_seg = np.empty((3, n_s + 1, kl))
        stats = [self.stats[k] for k in self.lat]
        per_seg[0, 0] = [s.waited for s in stats]
        per_seg[1, 0] = [s.wait_sum_s for s in stats]
        per_seg[2, 0] = [s.violations for s in stats]
        for j, x in enumerate((p_wait, mean_w, exceed)):
            per_seg[j, 1:] = np.bincount(sk, weights=s_cnt * x, minlength=n_s * kl).reshape(n_s, kl)
        waited, wait_sum, viol = np.add.accumulate(per_seg, axis=1)[:, -1].tolist()
        for i, k in enumerate(self.lat):
            st = self.stats[k]
            ns, na = round(float(n_served[i])), round(float(n_all[i]))
            st.requests += na
            st.served += ns
            st.rejected += na - ns
            st.waited, st.wait_sum_s, st.violations = waited[i], wait_sum[i], viol[i]
        # served requests per waiting-time law (for the histograms)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        for j, law in enumerate(laws):
            acc = self._hist_mass.get(law.law_id)
            if acc is None:
                acc = self._hist_mass[law.law_id] = np.zeros(law.rate.size)
                self._laws[law.law_id] = law
            acc += s_cnt[bounds[j] : bounds[j + 1]]
        # rows: one per segment and (flow, cluster or none) that saw requests
        n_rows = np.array([law.row_ints.shape[1] for law in laws], dtype=np.int64)
        row_base = np.concatenate([[0], np.cumsum(n_rows)[:-1]])
        row = row_base[seg_of] + e_row
        total_rows = int(n_rows.sum())
        r_srv = np.bincount(row, weights=s_cnt, minlength=total_rows)
        r_all = np.bincount(row, weights=cnt, minlength=total_rows)
        keep = np.flatnonzero(r_all > 0)  # (np.take: a mask along a second axis is slow)
        if keep.size == 0:
            return
        srv = np.rint(r_srv[keep]).astype(np.int64)
        req = np.rint(r_all[keep]).astype(np.int64)
        fl, cl = np.take(np.concatenate([law.row_ints for law in laws], axis=1), keep, axis=1)
        row_mean, row_p95 = np.take(np.concatenate([law.row_floats for law in laws], axis=1), keep, axis=1)
        row_seg = np.repeat(np.arange(n_s), n_rows)[keep]
        has = srv > 0
        cols = self._cols
        cols["step"].append(np.array([step for step, _, _, _ in segments], dtype=np.int32)[row_seg])
        cols["time_s"].append(np.array([t0 for _, t0, _, _ in segments], dtype=float)[row_seg])
        cols["duration_s"].append(np.array([dt for _, _, dt, _ in segments], dtype=float)[row_seg])
        cols["region"].append(self.region_of[fl])
        cols["class"].append(self.class_index[fl])
        cols["cluster"].append(cl)
        cols["requests"].append(req)
        cols["served"].append(srv)
        cols["rejected"].append(req - srv)
        cols["mean_wait_s"].append(np.where(has, row_mean, np.nan))
        cols["p95_wait_s"].append(np.where(has, row_p95, np.nan))

    def fold_histograms(self) -> None:
        """Fold the served requests gathered per waiting-time law into the class histograms
        (the summary and ``latency_hist.parquet`` call this before they read them)."""
        for law_id, mass in self._hist_mass.items():
            law = self._laws[law_id]
            j = np.flatnonzero((mass > 0) & (law.ints[1] == 1))  # served
            if j.size == 0:
                continue
            n = mass[j]
            klass = law.ints[2, j]
            pw, d, decay = law.floats[0, j], law.floats[3, j], law.floats[4, j]
            # the atoms (and waits too rare to matter: below 1e-12 of the requests) in one pass
            atom = np.where(pw < 1e-12, n, n * (1.0 - pw))
            idx = hist_index(d)
            for i, k in enumerate(self.lat):
                mine = klass == i
                if mine.any():
                    np.add.at(self.stats[k].added_hist, idx[mine], atom[mine])
            tails = (pw >= 1e-12) & np.isfinite(decay) & (decay > 0)
            for i, k in enumerate(self.lat):
                mine = tails & (klass == i)
                if mine.any():
                    add_exp_tails(self.stats[k].added_hist, (n * pw)[mine], d[mine], decay[mine])
            for t in np.flatnonzero((pw >= 1e-12) & ~tails):  # saturated (no decay): rare
                k = self.lat[int(klass[t])]
                add_shifted_wait(self.stats[k].added_hist, float(n[t] * pw[t]), float(d[t]), 1.0, 0.0)
        self._hist_mass.clear()
        self._laws.clear()

    def histogram_table(self) -> pa.Table:
        """``latency_hist.parquet``: each latency class's added-latency (RTT + wait) histogram.

        One row per non-empty bin: ``class``, ``lo_ms`` and ``hi_ms`` (the bin's
        edges) and ``requests`` (the served requests in it, an expected count).
        """
        self.fold_histograms()
        names, lo, hi, mass = [], [], [], []
        for k in self.lat:
            h = self.stats[k].added_hist
            j = np.flatnonzero(h > 0)
            names.extend([self.class_names[k]] * j.size)
            edges = bin_edges(0, H_BINS + 1) * 1000.0
            lo.append(np.where(j == 0, 0.0, edges[j]))
            hi.append(edges[j + 1])
            mass.append(h[j])

        def cat(xs: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0)

        return pa.Table.from_arrays(
            [pa.array(names, pa.string()), pa.array(cat(lo)), pa.array(cat(hi)), pa.array(cat(mass))],
            schema=layout.LATENCY_HIST_SCHEMA,
        )

    def flush(self) -> None:
        """Turn the buffered rows into one record batch (written or kept); fold the histograms
        when :data:`PENDING_LAWS` laws wait for it.

        A law's served requests are gathered over the days it is used and folded once
        (a run reuses its laws from day to day: folding each day cost the year ~10 s);
        :meth:`fold_histograms` folds what waits whenever a reader needs the histograms.
        """
        if len(self._hist_mass) >= PENDING_LAWS:
            self.fold_histograms()
        cols = self._cols
        if not cols["step"]:
            return
        flat = {k: np.concatenate(v) for k, v in cols.items()}
        for v in cols.values():
            v.clear()
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(flat["step"]),
                pa.array(flat["time_s"]),
                pa.array(flat["duration_s"]),
                _dict(flat["region"], self.region_ids),
                _dict(flat["class"], self.class_names),
                _dict(flat["cluster"], self.cluster_ids),
                pa.array(flat["requests"].astype(np.int64)),
                pa.array(flat["served"].astype(np.int64)),
                pa.array(flat["rejected"].astype(np.int64)),
                pa.array(flat["mean_wait_s"]),
                pa.array(flat["p95_wait_s"]),
            ],
            schema=FLOW_SCHEMA,
        )
        self.rows += batch.num_rows
        if self.path is None:
            self.batches.append(batch)
            return
        if self._writer is None:
            self._writer = ParquetStream(self.path, FLOW_SCHEMA, compression="zstd", use_dictionary=True)
        self._writer.write(batch)

    def abort(self) -> None:
        """Stop writing after a failed run (the file is left incomplete, for the caller to remove)."""
        if self._writer is not None:
            self._writer.abort()

    def close(self) -> pa.Table:
        """Finish the file (or return the in-memory table)."""
        self.flush()
        if self.path is None:
            return pa.Table.from_batches(self.batches, schema=FLOW_SCHEMA)
        if self._writer is None:
            pq.write_table(pa.Table.from_batches([], schema=FLOW_SCHEMA), self.path, compression="zstd")
        else:
            self._writer.close()
        return pa.Table.from_batches([], schema=FLOW_SCHEMA)
