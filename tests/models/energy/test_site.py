"""The hourly SiteEnergy builder on the reference clusters and on hand-made sites."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from models.clock import TZ
from models.energy.site import SiteEnergy, SiteParams, build_site_energy, site_params_from_reference
from models.energy.tariffs import TouTariff
from models.reference import national_reference

START = datetime(2025, 7, 1, tzinfo=TZ)


def _site(**kw: object) -> SiteParams:
    base = SiteParams(
        temp_monthly_c=(0.0,) * 6 + (20.0,) * 6,
        temp_diurnal_swing_c=10.0,
        pue_annual_mean=1.2,
        tariff=TouTariff(0.6, 1.0, 0.3, peak_hours=(10,), valley_hours=(2,)),
        grid_kgco2_per_kwh=0.5,
        lon=110.0,
        lat=30.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_reference_clusters_build() -> None:
    ref = national_reference()
    sites = [site_params_from_reference(ref, c.id) for c in ref.clusters]
    e = build_site_energy(sites, START, 24 * 7, np.random.default_rng(0))
    assert e.pue.shape == (len(ref.clusters), 24 * 7)
    assert e.pue.min() >= 1.0 and e.pue.max() <= 2.0
    assert e.green_kw.min() >= 0.0
    for i, c in enumerate(ref.clusters):
        pr = ref.provinces[c.province]
        prices = {
            pr.tariff_flat_cny_per_kwh.scalar,
            pr.tariff_peak_cny_per_kwh.scalar,
            pr.tariff_valley_cny_per_kwh.scalar,
        }
        assert set(np.unique(e.tariff_cny_per_kwh[i])) <= prices
        assert np.all(e.grid_kgco2_per_kwh[i] == pr.grid_kgco2_per_kwh.scalar)
        assert sites[i].pue_annual_mean == c.pue_annual_mean.scalar


def test_annual_mean_pue_of_a_built_year_matches_target() -> None:
    """At the design load the PUE (marginal + fixed / design IT) averages to the target."""
    site = _site(mean_it_kw=1000.0)
    e = build_site_energy([site], datetime(2025, 1, 1, tzinfo=TZ), 8760, np.random.default_rng(0))
    assert abs((e.pue + e.fixed / 1000.0).mean() - 1.2) < 0.005
    assert np.all(e.fixed > 0) and np.all(e.pue < 1.2 + 0.4)
    assert e.effective_pue(np.array([1000.0]), 0, np.array([0]))[0] == pytest.approx(
        e.pue[0, 0] + e.fixed[0, 0] / 1000
    )
    assert e.tariff_cny_per_kwh[0, :24].tolist() == [0.6] * 2 + [0.3] + [0.6] * 7 + [1.0] + [0.6] * 13


def test_seeded_and_override() -> None:
    sites = [
        _site(
            green_share=0.5, mean_it_kw=100.0, solar_utilisation_hours=1300.0, wind_utilisation_hours=2000.0
        ),
        _site(),
    ]
    a = build_site_energy(sites, START, 48, np.random.default_rng(3))
    b = build_site_energy(sites, START, 48, np.random.default_rng(3))
    np.testing.assert_array_equal(a.green_kw, b.green_kw)
    assert np.all(a.green_kw[1] == 0.0) and a.green_kw[0].max() > 0.0
    over = np.full((2, 48), np.nan)
    over[1] = 7.0
    c = build_site_energy(sites, START, 48, np.random.default_rng(3), green_override_kw=over)
    np.testing.assert_array_equal(c.green_kw[0], a.green_kw[0])
    assert np.all(c.green_kw[1] == 7.0)


def test_dc_tariff_scaling_and_mean_it() -> None:
    ref = national_reference()
    c = ref.clusters[0]
    p = site_params_from_reference(ref, c, mean_it_kw=123.0)
    assert p.mean_it_kw == 123.0
    assert p.tariff.flat_cny_per_kwh == ref.provinces[c.province].tariff_flat_cny_per_kwh.scalar
    dflt = site_params_from_reference(ref, c.id)
    servers = c.occupied_servers  # only occupied servers draw power
    assert dflt.mean_it_kw == pytest.approx(servers * (0.2 + 0.3 * c.utilisation_target.scalar))


def test_flat_site_energy_still_works() -> None:
    e = SiteEnergy.flat(3, np.array([1.2]), np.array([0.5]), np.array([0.6]))
    assert e.n_hours == 3 and np.all(e.green_kw == 0.0)
