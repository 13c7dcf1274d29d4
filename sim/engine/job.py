"""The in-flight record of one simulated job."""

from __future__ import annotations

import math
from dataclasses import dataclass

NAN = float("nan")

PENDING = 0
COMPLETED = 1
DROPPED = 2  # no cluster could take it when it arrived
LOST = 3  # a fault removed it and it could not be re-routed

NO_DUE_H = 1 << 62  # the due hour of a job without a deadline (later than any window)


class Job:
    """One simulated job while it lives in the engine (slots: cheap to create and read).

    Times are seconds since the run's start. ``scale`` is the real jobs it stands
    for (its bundle size). ``hold`` is the time the job holds one simulated
    server of its cluster (its drawn service time x its real jobs / the
    cluster's real servers per simulated server); ``served`` accumulates the
    server-seconds it actually received.
    ``due_h`` is its deadline rounded up to a whole hour of the run, ``ceil(arrival
    / 3600 + deadline_h)`` (:data:`NO_DUE_H` without a deadline): the key by which
    the pools keep their queued work (:meth:`sim.engine.pools.FcfsPool.queued_work`).
    """

    __slots__ = (
        "arrival",
        "c",
        "data_gb",
        "due_h",
        "end",
        "fate",
        "hold",
        "id",
        "k",
        "net_in",
        "net_out",
        "queued",
        "r",
        "remaining",
        "reroutes",
        "scale",
        "seg_start",
        "seq",
        "served",
        "service",
        "start",
    )

    def __init__(
        self,
        id: int,
        k: int,
        r: int,
        arrival: float,
        hold: float,
        service: float,
        data_gb: float,
        scale: int = 1,
    ) -> None:
        self.id = id
        self.scale = scale
        self.k = k
        self.r = r
        self.c = -1
        self.arrival = arrival
        self.hold = hold
        self.remaining = hold
        self.service = service
        self.data_gb = data_gb
        self.due_h = NO_DUE_H
        self.net_in = 0.0
        self.net_out = 0.0
        self.queued = NAN
        self.start = NAN
        self.end = NAN
        self.served = 0.0
        self.seg_start = NAN
        self.reroutes = 0
        self.fate = PENDING
        self.seq = 0


def job_columns(jobs: list[Job]) -> tuple[list[list[int]], list[list[float]]]:
    """The fields the records need, a column each, in the jobs' order.

    Integer columns: ``id, k, r, c, fate, reroutes, scale``; float columns: ``arrival,
    queued, start, end, net_in, net_out, service, hold, served, data_gb``. One
    pass of attribute reads (compiled with the engine, ``hatch_build.py``),
    instead of a tuple per job.
    """
    ints: list[list[int]] = [[], [], [], [], [], [], []]
    floats: list[list[float]] = [[], [], [], [], [], [], [], [], [], []]
    i_id, i_k, i_r, i_c, i_fate, i_rr, i_scale = ints
    f_arr, f_q, f_start, f_end, f_in, f_out, f_svc, f_hold, f_srv, f_gb = floats
    for j in jobs:
        i_id.append(j.id)
        i_k.append(j.k)
        i_r.append(j.r)
        i_c.append(j.c)
        i_fate.append(j.fate)
        i_rr.append(j.reroutes)
        i_scale.append(j.scale)
        f_arr.append(j.arrival)
        f_q.append(j.queued)
        f_start.append(j.start)
        f_end.append(j.end)
        f_in.append(j.net_in)
        f_out.append(j.net_out)
        f_svc.append(j.service)
        f_hold.append(j.hold)
        f_srv.append(j.served)
        f_gb.append(j.data_gb)
    return ints, floats


@dataclass
class FaultCounts:
    """What faults did to jobs over the run."""

    affected: int = 0  # jobs on (or arriving at) a cluster while it was down
    rerouted: int = 0
    lost: int = 0


def owed_server_s(jobs: list[Job], per_class: list[float], per_cluster: list[int] | None) -> float:
    """Real server-seconds the ``jobs`` have not yet received (``remaining`` x real servers).

    A job's simulated server stands for ``per_class[k]`` real servers (its class's
    server type's scale) or, with ``engine.bundling: pool``, ``per_cluster[c]``
    (its cluster's). Summed exactly (``math.fsum``), so the compiled engine sums alike.
    """
    if per_cluster is None:
        return math.fsum([max(0.0, j.remaining) * per_class[j.k] for j in jobs])
    return math.fsum([max(0.0, j.remaining) * float(per_cluster[j.c]) for j in jobs])
