"""The programme's 2025 national targets are in seeds/ with their sources."""

from __future__ import annotations

from models.reference import national_reference


def test_national_targets_are_sourced() -> None:
    ref = national_reference()
    t = ref.national_targets
    assert t["compute_2025_eflops"].scalar == 300
    assert t["intelligent_compute_share_2025"].scalar == 0.35
    assert t["hub_new_dc_green_power_share_2025"].scalar == 0.80
    for key, fig in t.items():
        src = ref.sources[fig.source]
        assert src.grade in ("A", "B", "C"), key
        assert not fig.estimate, key


def test_cluster_occupancy_is_below_the_target_today() -> None:
    """The seeds' occupancy reproduces the reported national cluster 上架率 (62.72 % < 65 %)."""
    ref = national_reference()
    target = ref.national_targets["cluster_rack_utilisation_target"].scalar
    others = [c for c in ref.clusters if c.id != "shaoguan"]
    assert all(abs(c.occupancy.scalar - 0.6272) < 1e-9 for c in others)
    assert all(c.occupancy.scalar < target for c in ref.clusters)
