"""Server types: the CPU and GPU pools of a data-centre site.

A site's occupied servers are split by type into separate pools, each a
column of the topology (a *site* in the engine and the planner): the GPU pool
of a site serves only the workload classes that need a GPU, draws a GPU
server's power and delivers a GPU server's FLOPS. Both pools of a site share
its location, RTTs, hub, climate (PUE), tariff and grid factor; what the site
has as a whole (contracted green supply, the fixed part of the facility
overhead) is shared out by each pool's share of the site's design IT power
(servers x peak power), as a campus allocates its power purchase and its
cooling plant to its halls.

>>> import numpy as np
>>> from models.topology import custom_topology
>>> topo = custom_topology(["r"], [1.0], ["a"], [1000], [False], np.array([[5.0]]))
>>> split = split_by_type(topo, np.array([0.1]), cpu=CPU, gpu=GPU)
>>> split.topology.cluster_ids, split.topology.cluster_servers.tolist()
(('a', 'a_gpu'), [900, 100])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from models.energy.site import ServerPower
from models.topology import FloatArray, IntArray, Topology

__all__ = [
    "CPU",
    "GPU",
    "GPU_SUFFIX",
    "SERVER_TYPES",
    "ServerType",
    "TypeSplit",
    "split_by_type",
]

SERVER_TYPES = ("cpu", "gpu")
GPU_SUFFIX = "_gpu"  # id of a site's GPU pool: "<site id>_gpu"


@dataclass(frozen=True)
class ServerType:
    """One kind of server: its power and its peak compute.

    Parameters
    ----------
    name : str
        ``"cpu"`` or ``"gpu"``.
    power : ServerPower
        Idle and peak power of one real server (W).
    tflops : float
        Peak compute of one server in TFLOPS, in ``precision``.
    precision : str
        The arithmetic the FLOPS are counted in (``"FP32"`` for general-purpose
        compute, ``"FP16"`` for intelligent compute, as the programme's
        statistics count them).
    """

    name: str
    power: ServerPower
    tflops: float
    precision: str


CPU = ServerType("cpu", ServerPower(idle_w=250.0, peak_w=600.0), tflops=3.0, precision="FP32")
GPU = ServerType("gpu", ServerPower(idle_w=1500.0, peak_w=6000.0), tflops=2500.0, precision="FP16")


@dataclass(frozen=True)
class TypeSplit:
    """A topology whose sites are split into one column per server type.

    Attributes
    ----------
    topology : Topology
        The split topology: the CPU pools first, in site order, keeping their
        site's id, then the GPU pools, ``<site id>_gpu``; a pool with no server
        has no column (a site with no GPU share is one CPU column, as before).
    origin : int array (S,)
        Each column's site: its position in the unsplit topology.
    design_share : float array (S,)
        Each column's share of its site's design IT power; sums to 1 per site.
    """

    topology: Topology
    origin: IntArray
    design_share: FloatArray

    def take(self, per_site: NDArray[np.float64]) -> NDArray[np.float64]:
        """A per-site array (sites first) as a per-column one: each pool sees its site's value."""
        return np.asarray(per_site)[self.origin]

    def share(self, per_site: NDArray[np.float64]) -> NDArray[np.float64]:
        """A per-site *total* (sites first, e.g. green supply in kW) shared out by design power."""
        a = np.asarray(per_site, dtype=float)[self.origin]
        return np.asarray(a * self.design_share.reshape((-1,) + (1,) * (a.ndim - 1)), dtype=float)


def split_by_type(topo: Topology, gpu_share: FloatArray, *, cpu: ServerType, gpu: ServerType) -> TypeSplit:
    """Split each site of ``topo`` into its CPU and GPU pools.

    A site of ``n`` occupied servers with GPU share ``g`` gets
    ``round(n * g)`` GPU servers and the rest CPU servers (built servers are
    split alike); a pool with no server is left out, so a site with ``g = 0``
    is one CPU column, exactly as before.

    Raises
    ------
    ValueError
        When ``gpu_share`` is not one fraction in [0, 1] per site, when a site
        is split already, or when a GPU pool's id collides with a site id.
    """
    g = np.asarray(gpu_share, dtype=float)
    if g.shape != (topo.n_clusters,) or not np.all((g >= 0.0) & (g <= 1.0)):
        raise ValueError(f"gpu_share must be {topo.n_clusters} fractions in [0, 1], got {g.tolist()}")
    if topo.cluster_type:
        raise ValueError("the topology is split by server type already")
    n = topo.cluster_servers.astype(np.int64)
    n_gpu = np.minimum(np.rint(n * g).astype(np.int64), n)
    built = topo.built_servers.astype(np.int64)
    built_gpu = np.minimum(np.rint(built * g).astype(np.int64), built)
    origin: list[int] = []
    types: list[str] = []
    servers: list[int] = []
    built_out: list[int] = []
    ids: list[str] = []
    names: list[str] = []
    for kind in SERVER_TYPES:  # the CPU pools first, in site order, then the GPU pools
        for c, cid in enumerate(topo.cluster_ids):
            name = topo.cluster_names[c] if topo.cluster_names else cid
            if kind == "cpu":
                count, b, col_id, col_name = n[c] - n_gpu[c], built[c] - built_gpu[c], cid, name
                keep = count > 0 or n_gpu[c] == 0
            else:
                count, b, col_id, col_name = n_gpu[c], built_gpu[c], cid + GPU_SUFFIX, f"{name} GPU"
                keep = count > 0
            if keep:
                origin.append(c)
                types.append(kind)
                servers.append(int(count))
                built_out.append(int(b))
                ids.append(col_id)
                names.append(col_name)
    clash = sorted({i for i in ids if ids.count(i) > 1})
    if clash:
        raise ValueError(f"site ids {clash} collide with GPU pools ('<id>{GPU_SUFFIX}'); rename the site")
    idx = np.asarray(origin, dtype=np.int64)
    out = topo.select_clusters(idx)
    out = replace(
        out,
        cluster_ids=tuple(ids),
        cluster_names=tuple(names),
        cluster_servers=np.asarray(servers, dtype=np.int64),
        cluster_built_servers=np.asarray(built_out, dtype=np.int64),
        cluster_type=tuple(types),
        cluster_site=tuple(topo.cluster_ids[i] for i in idx),
    )
    peak = np.array([gpu.power.peak_w if t == "gpu" else cpu.power.peak_w for t in types])
    design = np.asarray(servers, dtype=float) * peak
    total = np.bincount(idx, weights=design, minlength=topo.n_clusters)
    share = np.where(total[idx] > 0, design / np.where(total[idx] > 0, total[idx], 1.0), 1.0)
    return TypeSplit(topology=out, origin=idx, design_share=np.asarray(share, dtype=float))
