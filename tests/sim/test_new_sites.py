"""Sites added by ``overrides.new_sites``: like an existing site, at their own place."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from models.errors import InputError
from tests.helpers import scenario_of, two_site_config


def _national(**new_sites: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "n",
        "horizon_h": 24,
        "topology": "national",
        "workloads": [
            {"name": "b", "kind": "batch", "rate_per_h": 10, "service": {"mean_s": 60}, "deadline_h": 24}
        ],
        "engine": {"job_scale": 5000},
        "overrides": {"new_sites": new_sites},
    }


def test_a_national_new_site_is_its_like_site_at_its_own_place() -> None:
    ulanqab = {"like": "helingeer", "lon": 113.13, "lat": 40.99, "servers": 200_000}
    scn = scenario_of(_national(ulanqab=ulanqab))
    base = scenario_of(_national())
    topo, t0 = scn.topology, base.topology
    new, like = topo.cluster_index("ulanqab"), t0.cluster_index("helingeer")
    # the site and its GPU pool (like's gpu_share 0.02), 200,000 occupied servers between them
    cols = topo.site_indices("ulanqab")
    assert topo.cluster_servers[cols].sum() == 200_000 and len(cols) == 2
    assert topo.cluster_hub[new] == "inner_mongolia" and topo.side(new) == "west"
    # like's climate, tariff and grid, hour by hour
    e, e0 = scn.energy, base.energy
    assert np.allclose(e.pue[new], e0.pue[like]) and np.allclose(
        e.tariff_cny_per_kwh[new], e0.tariff_cny_per_kwh[like]
    )
    assert np.allclose(e.grid_kgco2_per_kwh[new], e0.grid_kgco2_per_kwh[like])
    # its own RTTs: Ulanqab is nearer Beijing than Helingeer
    beijing = topo.region_index("beijing")
    assert topo.rtt_ms[beijing, new] < t0.rtt_ms[beijing, like]
    # nothing else moved
    assert np.allclose(topo.rtt_ms[:, topo.cluster_index("helingeer")], t0.rtt_ms[:, like])


def test_an_inline_new_site_copies_its_like_cluster_and_rtt_column() -> None:
    doc = two_site_config()
    doc["topology"]["latency_ms"] = {
        "beijing": {"east1": 4.0, "west1": 30.0},
        "shanghai": {"east1": 12.0, "west1": 25.0},
    }
    doc["overrides"] = {"new_sites": {"west2": {"like": "west1", "servers": 50}}}
    scn = scenario_of(doc)
    topo = scn.topology
    c = topo.cluster_index("west2")
    assert topo.cluster_servers[c] == 50 and topo.side(c) == "west"
    assert topo.rtt_ms[:, c].tolist() == [30.0, 25.0]
    assert scn.energy.tariff_cny_per_kwh[c, 0] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("site", "key"),
    [
        ({"west9": {"like": "nowhere", "servers": 5}}, "overrides.new_sites.west9.like"),
        ({"east1": {"like": "west1", "servers": 5}}, "overrides.new_sites.east1"),
    ],
)
def test_a_bad_new_site_is_refused_with_its_key_path(site: dict[str, Any], key: str) -> None:
    doc = copy.deepcopy(two_site_config())
    doc["overrides"] = {"new_sites": site}
    with pytest.raises(InputError) as err:
        scenario_of(doc)
    assert err.value.key_path == key
