"""The synthetic grid-carbon series: calibrated annual mean, midday dip, noise, draws."""

from __future__ import annotations

import numpy as np
import pytest

from models.clock import REFERENCE_YEAR_START, hour_index, reference_year
from models.energy.grid_synthetic import SyntheticGridParams, synthetic_grid_kgco2_per_kwh

LON, LAT = 105.2, 37.5  # Zhongwei, Ningxia


def test_expected_annual_mean_is_the_provincial_factor() -> None:
    idx = reference_year()
    quiet = SyntheticGridParams(noise_sigma=0.0)
    f = synthetic_grid_kgco2_per_kwh(idx, 0.6, LON, LAT, np.random.default_rng(0), quiet)
    assert f.mean() == pytest.approx(0.6, rel=1e-12)  # no noise: exact by construction
    noisy = synthetic_grid_kgco2_per_kwh(idx, 0.6, LON, LAT, np.random.default_rng(1))
    assert noisy.mean() == pytest.approx(0.6, rel=0.01)  # mean-1 noise: within 1 % over a year


def test_intensity_dips_at_midday_by_the_dip_at_the_sunniest_noon() -> None:
    idx = reference_year()
    p = SyntheticGridParams(solar_dip=0.35, noise_sigma=0.0)
    f = synthetic_grid_kgco2_per_kwh(idx, 0.6, LON, LAT, np.random.default_rng(0), p)
    night = f.max()  # sun down: the undipped level k
    assert f.min() == pytest.approx(night * (1 - 0.35), rel=1e-3)
    by_hour = np.array([f[idx.local_hour == h].mean() for h in range(24)])
    assert by_hour.argmin() in (12, 13)  # local solar noon at 105 E is ~13:00 Beijing time
    assert by_hour[0] == pytest.approx(night)


def test_noise_draws_and_persistence() -> None:
    idx = hour_index(REFERENCE_YEAR_START, 2000)
    rng = np.random.default_rng(5)
    p = SyntheticGridParams(solar_dip=0.0, noise_sigma=0.2, persistence=0.9)
    f = synthetic_grid_kgco2_per_kwh(idx, 0.5, LON, LAT, rng, p)
    z = np.log(f)
    assert np.corrcoef(z[:-1], z[1:])[0, 1] == pytest.approx(0.9, abs=0.05)
    # the same number of draws whatever the noise, so other sites' series do not move
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    synthetic_grid_kgco2_per_kwh(idx, 0.5, LON, LAT, a, SyntheticGridParams(noise_sigma=0.0))
    synthetic_grid_kgco2_per_kwh(idx, 0.5, LON, LAT, b)
    assert a.random() == b.random()
    with pytest.raises(ValueError):
        SyntheticGridParams(solar_dip=1.0)
