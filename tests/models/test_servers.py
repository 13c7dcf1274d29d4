"""Server types: splitting sites into CPU and GPU pools (models.servers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.energy.site import ServerPower
from models.servers import CPU, GPU, ServerType, split_by_type
from models.topology import custom_topology


def _topo(servers: list[int], built: list[int] | None = None):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    n = len(servers)
    t = custom_topology(
        ["r"], [1.0], [f"s{i}" for i in range(n)], servers, [i % 2 == 1 for i in range(n)],
        np.arange(1.0, n + 1.0)[None, :],
    )  # fmt: skip
    return replace(t, cluster_built_servers=np.asarray(built if built else servers, dtype=np.int64))


def test_a_site_splits_into_its_cpu_pool_then_its_gpu_pool_with_shares_by_design_power() -> None:
    cpu = ServerType("cpu", ServerPower(250.0, 600.0), 3.0, "FP32")
    gpu = ServerType("gpu", ServerPower(1500.0, 6000.0), 2500.0, "FP16")
    split = split_by_type(_topo([1000, 500], [2000, 500]), np.array([0.1, 0.0]), cpu=cpu, gpu=gpu)
    t = split.topology
    # CPU pools first in site order, then GPU pools; a site without GPUs is one column, as before
    assert t.cluster_ids == ("s0", "s1", "s0_gpu")
    assert t.types == ("cpu", "cpu", "gpu") and t.sites == ("s0", "s1", "s0")
    assert t.cluster_servers.tolist() == [900, 500, 100]
    assert t.built_servers.tolist() == [1800, 500, 200]
    assert t.occupancy.tolist() == pytest.approx([0.5, 1.0, 0.5])
    assert t.site_indices("s0") == [0, 2] and t.site_indices("nowhere") == []
    # design IT power: 900 x 600 W and 100 x 6000 W -> 0.47368 and 0.52632 of s0
    assert split.design_share.tolist() == pytest.approx([540 / 1140, 1.0, 600 / 1140])
    # what a pool sees of its site: copied (take) or shared out (share)
    assert split.take(np.array([1.2, 1.5])).tolist() == [1.2, 1.5, 1.2]
    green = split.share(np.array([[1140.0, 0.0], [10.0, 10.0]]))
    assert green[:, 0].tolist() == pytest.approx([540.0, 10.0, 600.0])
    # the RTT column of a pool is its site's
    assert t.rtt_ms[0].tolist() == [1.0, 2.0, 1.0]


def test_a_gpu_only_site_has_no_cpu_column_and_an_id_clash_is_refused() -> None:
    split = split_by_type(_topo([10, 10]), np.array([1.0, 0.0]), cpu=CPU, gpu=GPU)
    assert split.topology.cluster_ids == ("s1", "s0_gpu")
    clash = custom_topology(["r"], [1.0], ["a", "a_gpu"], [10, 10], [False, False], np.ones((1, 2)))
    with pytest.raises(ValueError, match="collide"):
        split_by_type(clash, np.array([0.5, 0.0]), cpu=CPU, gpu=GPU)
    with pytest.raises(ValueError, match="fractions"):
        split_by_type(clash, np.array([1.5, 0.0]), cpu=CPU, gpu=GPU)


@settings(max_examples=60, deadline=None)
@given(
    servers=st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
    shares=st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
)
def test_splitting_conserves_each_site_s_servers_and_power(servers: list[int], shares: list[float]) -> None:
    g = np.array(shares[: len(servers)])
    split = split_by_type(_topo(servers), g, cpu=CPU, gpu=GPU)
    t = split.topology
    for i, n in enumerate(servers):
        cols = t.site_indices(f"s{i}")
        assert int(t.cluster_servers[cols].sum()) == n
        assert split.design_share[cols].sum() == pytest.approx(1.0)
        gpu = [c for c in cols if t.types[c] == "gpu"]
        assert sum(int(t.cluster_servers[c]) for c in gpu) == min(round(n * g[i]), n)
