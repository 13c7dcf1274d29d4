"""PUE curve: bounds, monotonicity, calibration to the annual mean."""

from __future__ import annotations

import numpy as np
import pytest

from models.clock import reference_year
from models.energy.pue import PueModel, calibrate_pue
from models.energy.weather import temperature_on
from models.reference import national_reference


@pytest.mark.parametrize("cluster", [c.id for c in national_reference().clusters])
def test_calibrated_curve_per_reference_cluster(cluster: str) -> None:
    c = next(x for x in national_reference().clusters if x.id == cluster)
    temps = temperature_on(reference_year(), c.temp_monthly_c.values, c.temp_diurnal_swing_c.scalar)
    curve = calibrate_pue(temps, c.pue_annual_mean.scalar)
    pue = curve.pue(temps)
    assert pue.min() >= 1.0 and pue.max() <= 2.0
    assert abs(pue.mean() - c.pue_annual_mean.scalar) < 0.005
    order = np.argsort(temps)
    assert np.all(np.diff(pue[order]) >= 0)  # never higher in a colder hour
    decile = len(temps) // 10
    assert pue[order[:decile]].mean() < pue[order[-decile:]].mean()


def test_curve_by_hand() -> None:
    temps = np.array([0.0, 10.0, 20.0, 30.0])
    curve = calibrate_pue(temps, 1.2, PueModel(floor=1.1, threshold_c=10.0))
    # mean = 1.1 + slope * (0 + 0 + 10 + 20) / 4 = 1.2  =>  slope = 0.4 / 30
    assert curve.slope_per_c == pytest.approx(0.4 / 30, rel=1e-8)
    assert curve.pue(np.array([-5.0, 10.0, 100.0])).tolist() == pytest.approx([1.1, 1.1, 2.0])


def test_target_below_floor_gives_flat_curve() -> None:
    curve = calibrate_pue(np.array([0.0, 30.0]), 1.05, PueModel(floor=1.1))
    assert curve.pue(np.array([0.0, 30.0])).tolist() == [1.05, 1.05]


def test_unreachable_target_is_an_error() -> None:
    with pytest.raises(ValueError, match="unreachable"):
        calibrate_pue(np.array([0.0, 0.0, 0.0, 11.0]), 1.9, PueModel(max_slope_per_c=0.1))
