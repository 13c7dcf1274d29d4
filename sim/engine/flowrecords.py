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
    row_flow: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

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
        c = np.maximum(self.e_cluster, 0)
        budget = slo_f[ff] - self.shift_s[ff, c]
        pw, dec = self.p_wait[c], self.decay[c]
        with np.errstate(invalid="ignore", over="ignore"):
            tail = np.where(pw > 0, pw * np.exp(-dec * np.maximum(budget, 0.0)), 0.0)
        self.e_exceed = np.where(self.e_served, np.where(budget < 0, 1.0, tail), 0.0)


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

    def add(self, step: int, t0: float, dt: float, law: SegmentLaw, counts: np.ndarray) -> None:
        """One segment: ``counts`` of requests per entry of ``law``."""
        n_c = self.n_c
        kl = len(self.lat)
        step_i = min(step, self.requests_cs.shape[1] - 1)
        served = law.e_served
        cnt = counts.astype(float)
        at = law.e_cluster >= 0
        self.requests_cs[:, step_i] += np.bincount(law.e_cluster[at], weights=cnt[at], minlength=n_c)
        rej_at = at & ~served
        self.rejected_cs[:, step_i] += np.bincount(law.e_cluster[rej_at], weights=cnt[rej_at], minlength=n_c)
        klass = self.class_pos[law.e_flow]
        c = np.maximum(law.e_cluster, 0)
        s_cnt = np.where(served, cnt, 0.0)
        n_served = np.bincount(klass, weights=s_cnt, minlength=kl)
        n_all = np.bincount(klass, weights=cnt, minlength=kl)
        waited = np.bincount(klass, weights=s_cnt * law.p_wait[c], minlength=kl)
        wait_sum = np.bincount(klass, weights=s_cnt * law.mean_w[c], minlength=kl)
        viol = np.bincount(klass, weights=s_cnt * law.e_exceed, minlength=kl)
        acc = self._hist_mass.get(law.law_id)
        if acc is None:
            acc = self._hist_mass[law.law_id] = np.zeros(counts.size)
            self._laws[law.law_id] = law
        acc += s_cnt
        for i, k in enumerate(self.lat):
            st = self.stats[k]
            ns, na = round(float(n_served[i])), round(float(n_all[i]))
            st.requests += na
            st.served += ns
            st.rejected += na - ns
            st.waited += float(waited[i])
            st.wait_sum_s += float(wait_sum[i])
            st.violations += float(viol[i])
        n_rows = law.row_flow.size
        r_srv = np.bincount(law.e_row, weights=s_cnt, minlength=n_rows)
        r_all = np.bincount(law.e_row, weights=cnt, minlength=n_rows)
        keep = r_all > 0
        m = int(keep.sum())
        if m == 0:
            return
        srv = np.rint(r_srv[keep]).astype(np.int64)
        req = np.rint(r_all[keep]).astype(np.int64)
        fl = law.row_flow[keep]
        cl = law.row_cluster[keep]
        has = srv > 0
        cols = self._cols
        cols["step"].append(np.full(m, step, dtype=np.int32))
        cols["time_s"].append(np.full(m, t0))
        cols["duration_s"].append(np.full(m, dt))
        cols["region"].append(self.region_of[fl])
        cols["class"].append(self.class_index[fl])
        cols["cluster"].append(cl)
        cols["requests"].append(req)
        cols["served"].append(srv)
        cols["rejected"].append(req - srv)
        cols["mean_wait_s"].append(np.where(has, law.mean_w[np.maximum(cl, 0)], np.nan))
        cols["p95_wait_s"].append(np.where(has, law.p95_w[np.maximum(cl, 0)], np.nan))

    def fold_histograms(self) -> None:
        """Fold the served requests gathered per waiting-time law into the class histograms."""
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
        """Fold the histograms; turn the buffered rows into one record batch (written or kept)."""
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
