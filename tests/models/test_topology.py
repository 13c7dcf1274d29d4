"""Topology and latency: distances and RTTs against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.topology import LatencyModel, haversine_km, rtt_ms_from_km
from tests.helpers import run_in_memory

BEIJING = (116.407526, 39.90403)
SHANGHAI = (121.473701, 31.230416)


def _cosine_law_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the spherical law of cosines (independent of haversine)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    cos_c = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0088 * math.acos(cos_c)


def test_beijing_shanghai_distance() -> None:
    d = float(haversine_km(*BEIJING, *SHANGHAI))
    assert d == pytest.approx(_cosine_law_km(BEIJING, SHANGHAI), abs=0.01)
    assert 1060 < d < 1075  # the published Beijing-Shanghai great-circle distance is ~1,067 km


def test_rtt_beijing_to_zhangjiakou_by_hand() -> None:
    # Zhangjiakou cluster representative point (mean of its start-zone counties)
    zjk = (115.09, 40.717)
    d = _cosine_law_km(BEIJING, zjk)
    # by hand: 2 ways x d km x 1.5 route factor x 4.9 us/km, in ms, + 2 ms overhead
    expected = 2 * d * 1.5 * 4.9 / 1000 + 2.0
    lm = LatencyModel(route_factor=1.5, fibre_us_per_km=4.9, overhead_ms=2.0)
    got = lm.rtt_ms(np.array([BEIJING[0]]), np.array([BEIJING[1]]), np.array([zjk[0]]), np.array([zjk[1]]))
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(expected, rel=1e-9)
    assert 3.0 < got[0, 0] < 4.5  # ~147 km: about 2.2 ms of fibre plus the overhead


def test_rtt_grows_linearly_with_distance() -> None:
    d = np.array([0.0, 100.0, 1000.0])
    rtt = rtt_ms_from_km(d, 1.5, 5.0, 1.0)
    np.testing.assert_allclose(rtt, [1.0, 2.5, 16.0])


def test_inline_topology_with_120_regions_loads_and_runs() -> None:
    rng = np.random.default_rng(3)
    regions = [
        {
            "id": f"r{i:03d}",
            "lon": float(rng.uniform(-170, 170)),
            "lat": float(rng.uniform(-60, 70)),
            "weight": float(rng.uniform(0.5, 2.0)),
        }
        for i in range(120)
    ]
    clusters = [
        {"id": f"c{j}", "lon": float(lon), "lat": float(lat), "servers": 40}
        for j, (lon, lat) in enumerate([(-100, 40), (10, 50), (110, 30), (150, -30), (-50, -10)])
    ]
    doc = {
        "name": "world",
        "horizon_h": 1,
        "topology": {"regions": regions, "clusters": clusters},
        "workloads": [
            {
                "name": "batch",
                "kind": "batch",
                "rate_per_h": 200,
                "service": {"mean_s": 600},
                "deadline_h": 4,
            },
        ],
    }
    scn, out = run_in_memory(doc)
    assert scn.topology.rtt_ms.shape == (120, 5)
    s = out.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    assert set(out.jobs.column("region").to_pylist()) <= {r["id"] for r in regions}
