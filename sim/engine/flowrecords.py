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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from models.queueing import WaitTail
from sim.engine.histogram import H_BINS, add_exp_tails, add_shifted_wait, bin_edges, hist_index
from sim.runfolder import layout
from sim.runfolder.stream import ParquetStream
from sim.scenario import Scenario

FLOW_SCHEMA = layout.FLOWS_SCHEMA
#: laws whose served requests may wait to be folded into the histograms (bounds their memory)
PENDING_LAWS = 512


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
    # entries
    e_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # requests per second
    e_flow: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    e_cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1: none
    e_served: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    e_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # flows.parquet row
    e_exceed: np.ndarray = field(default_factory=lambda: np.zeros(0))  # P(RTT + W > SLO) if served
    e_p_wait: np.ndarray = field(default_factory=lambda: np.zeros(0))  # P(wait) at its cluster
    e_mean_w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean wait at its cluster
    row_flow: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_mean_w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean wait at its cluster
    row_p95_w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # p95 wait at its cluster

    def index(self, slo_f: np.ndarray) -> None:
        """Fill the entry arrays (``slo_f``: each flow's SLO in seconds)."""
        n_c = self.shift_s.shape[1]
        rate = self.lam[:, None] * self.p_out
        ff, oo = np.nonzero(rate > 0)
        self.e_rate = rate[ff, oo]
        self.e_flow = ff
        self.e_served = oo < n_c
        self.e_cluster = np.where(oo < 2 * n_c, oo % n_c, -1)
        # one row per (flow, cluster or none)
        key = ff * (n_c + 1) + np.where(self.e_cluster < 0, n_c, self.e_cluster)
        uniq, self.e_row = np.unique(key, return_inverse=True)
        self.row_flow = uniq // (n_c + 1)
        rc = uniq % (n_c + 1)
        self.row_cluster = np.where(rc == n_c, -1, rc)
        rcl = np.maximum(self.row_cluster, 0)
        self.row_mean_w, self.row_p95_w = self.mean_w[rcl], self.p95_w[rcl]
        c = np.maximum(self.e_cluster, 0)
        self.e_p_wait, self.e_mean_w = self.p_wait[c], self.mean_w[c]
        budget = slo_f[ff] - self.shift_s[ff, c]
        pw, dec = self.p_wait[c], self.decay[c]
        with np.errstate(invalid="ignore", over="ignore"):
            tail = np.where(pw > 0, pw * np.exp(-dec * np.maximum(budget, 0.0)), 0.0)
        self.e_exceed = np.where(self.e_served, np.where(budget < 0, 1.0, tail), 0.0)


Segment = tuple[int, float, float, SegmentLaw]  # (time step, start s, duration s, law) of a segment


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
        self.scn = scn
        self.path = path
        topo = scn.topology
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
        self._laws: dict[int, SegmentLaw] = {}
        self._writer: ParquetStream | None = None  # written beside the run, on a thread of its own
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0

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
        sizes = np.array([law.e_rate.size for law in laws], dtype=np.int64)
        seg_of = np.repeat(np.arange(n_s), sizes)  # each entry's segment
        cnt = counts.astype(float)
        e_cluster = np.concatenate([law.e_cluster for law in laws])
        served = np.concatenate([law.e_served for law in laws])
        e_flow = np.concatenate([law.e_flow for law in laws])
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
        klass = self.class_pos[e_flow]
        s_cnt = np.where(served, cnt, 0.0)
        n_served = np.bincount(klass, weights=s_cnt, minlength=kl)
        n_all = np.bincount(klass, weights=cnt, minlength=kl)
        sk = seg_of * kl + klass
        p_wait = np.concatenate([law.e_p_wait for law in laws])
        mean_w = np.concatenate([law.e_mean_w for law in laws])
        exceed = np.concatenate([law.e_exceed for law in laws])
        waited = np.bincount(sk, weights=s_cnt * p_wait, minlength=n_s * kl).reshape(n_s, kl).tolist()
        wait_sum = np.bincount(sk, weights=s_cnt * mean_w, minlength=n_s * kl).reshape(n_s, kl).tolist()
        viol = np.bincount(sk, weights=s_cnt * exceed, minlength=n_s * kl).reshape(n_s, kl).tolist()
        for i, k in enumerate(self.lat):
            st = self.stats[k]
            ns, na = round(float(n_served[i])), round(float(n_all[i]))
            st.requests += na
            st.served += ns
            st.rejected += na - ns
            for j in range(n_s):
                st.waited += waited[j][i]
                st.wait_sum_s += wait_sum[j][i]
                st.violations += viol[j][i]
        # served requests per waiting-time law (for the histograms)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        for j, law in enumerate(laws):
            acc = self._hist_mass.get(law.law_id)
            if acc is None:
                acc = self._hist_mass[law.law_id] = np.zeros(law.e_rate.size)
                self._laws[law.law_id] = law
            acc += s_cnt[bounds[j] : bounds[j + 1]]
        # rows: one per segment and (flow, cluster or none) that saw requests
        n_rows = np.array([law.row_flow.size for law in laws], dtype=np.int64)
        row_base = np.concatenate([[0], np.cumsum(n_rows)[:-1]])
        row = row_base[seg_of] + np.concatenate([law.e_row for law in laws])
        total_rows = int(n_rows.sum())
        r_srv = np.bincount(row, weights=s_cnt, minlength=total_rows)
        r_all = np.bincount(row, weights=cnt, minlength=total_rows)
        keep = r_all > 0
        m = int(keep.sum())
        if m == 0:
            return
        srv = np.rint(r_srv[keep]).astype(np.int64)
        req = np.rint(r_all[keep]).astype(np.int64)
        fl = np.concatenate([law.row_flow for law in laws])[keep]
        cl = np.concatenate([law.row_cluster for law in laws])[keep]
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
        row_mean = np.concatenate([law.row_mean_w for law in laws])[keep]
        row_p95 = np.concatenate([law.row_p95_w for law in laws])[keep]
        cols["mean_wait_s"].append(np.where(has, row_mean, np.nan))
        cols["p95_wait_s"].append(np.where(has, row_p95, np.nan))

    def fold_histograms(self) -> None:
        """Fold the served requests gathered per waiting-time law into the class histograms
        (the summary and ``latency_hist.parquet`` call this before they read them)."""
        for law_id, mass in self._hist_mass.items():
            law = self._laws[law_id]
            j = np.flatnonzero((mass > 0) & law.e_served)
            if j.size == 0:
                continue
            n = mass[j]
            f = law.e_flow[j]
            c = law.e_cluster[j]
            d = law.shift_s[f, c]
            pw = law.p_wait[c]
            klass = self.class_pos[f]
            # the atoms (and waits too rare to matter: below 1e-12 of the requests) in one pass
            atom = np.where(pw < 1e-12, n, n * (1.0 - pw))
            idx = hist_index(d)
            for i, k in enumerate(self.lat):
                mine = klass == i
                if mine.any():
                    np.add.at(self.stats[k].added_hist, idx[mine], atom[mine])
            tails = (pw >= 1e-12) & np.isfinite(law.decay[c]) & (law.decay[c] > 0)
            for i, k in enumerate(self.lat):
                mine = tails & (klass == i)
                if mine.any():
                    add_exp_tails(self.stats[k].added_hist, (n * pw)[mine], d[mine], law.decay[c][mine])
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
            names.extend([self.scn.class_names[k]] * j.size)
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
        scn = self.scn
        flat = {k: np.concatenate(v) for k, v in cols.items()}
        for v in cols.values():
            v.clear()
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(flat["step"]),
                pa.array(flat["time_s"]),
                pa.array(flat["duration_s"]),
                _dict(flat["region"], list(scn.topology.region_ids)),
                _dict(flat["class"], list(scn.class_names)),
                _dict(flat["cluster"], list(scn.topology.cluster_ids)),
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
