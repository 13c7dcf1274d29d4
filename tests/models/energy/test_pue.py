"""PUE physics: cooling curve, calibration to the annual mean, load dependence, ordering by climate."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from models.clock import hour_index, reference_year
from models.energy.pue import CoolingModel, PueCurve, PueModel, calibrate_pue
from models.energy.weather import temperature_on
from models.reference import Cluster, national_reference

SITES = [*national_reference().clusters, *national_reference().metro_dcs]


def _year(c: Cluster) -> np.ndarray:
    return temperature_on(reference_year(), c.temp_monthly_c.values, c.temp_diurnal_swing_c.scalar)


def _july(c: Cluster) -> np.ndarray:
    idx = hour_index(datetime(2025, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai")), 31 * 24)
    return temperature_on(idx, c.temp_monthly_c.values, c.temp_diurnal_swing_c.scalar)


@pytest.mark.parametrize("site", [c.id for c in SITES])
def test_calibrated_curve_per_reference_site(site: str) -> None:
    c = next(x for x in SITES if x.id == site)
    temps = _year(c)
    curve = calibrate_pue(temps, c.pue_annual_mean.scalar)
    pue = curve.pue(temps)
    assert pue.min() >= 1.0 and pue.max() <= 2.0
    assert pue.mean() == pytest.approx(c.pue_annual_mean.scalar, abs=1e-9)
    order = np.argsort(temps)
    assert np.all(np.diff(pue[order]) >= -1e-12)  # never higher in a colder hour
    assert curve.overhead >= 0.0 and curve.cooling_scale >= 0.0


def test_cooling_by_hand() -> None:
    m = CoolingModel(aux=0.04, free_full_c=10, free_none_c=18, cop_ref=6, cop_ref_c=20, cop_slope_per_c=0.15)
    # 5 degC: full economiser -> fans only; 14 degC: half economiser, COP 6.9; 30 degC: COP 4.5
    got = m.cooling(np.array([5.0, 14.0, 30.0]))
    assert got.tolist() == pytest.approx([0.04, 0.04 + 0.5 / 6.9, 0.04 + 1 / 4.5])


def test_calibration_by_hand() -> None:
    m = PueModel(cooling=CoolingModel(aux=0.05, free_full_c=10, free_none_c=20), fixed_fraction=0.5)
    temps = np.array([0.0, 0.0, 0.0, 0.0])  # always free cooling: cooling = 0.05
    curve = calibrate_pue(temps, 1.25, m)
    assert curve.overhead == pytest.approx(0.20)
    assert curve.cooling_scale == 1.0
    # marginal = 1 + 0.5 * 0.20 + 0.05 = 1.15; fixed = 0.10 per design kW
    assert curve.marginal(temps).tolist() == pytest.approx([1.15] * 4)
    assert curve.fixed_per_design_kw == pytest.approx(0.10)
    # at half the design load the fixed part is spread over half the IT power
    assert curve.pue(np.array([0.0]), 0.5).tolist() == pytest.approx([1.15 + 0.20])


def test_low_target_scales_the_cooling_down() -> None:
    m = PueModel(cooling=CoolingModel(aux=0.10), min_overhead=0.02)
    curve = calibrate_pue(np.array([0.0, 0.0]), 1.08, m)
    assert curve.overhead == pytest.approx(0.02)
    assert curve.cooling_scale == pytest.approx(0.06 / 0.10)
    assert curve.pue(np.array([0.0, 0.0])).mean() == pytest.approx(1.08)


def test_target_outside_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        calibrate_pue(np.array([0.0]), 2.5)


def test_same_design_orders_sites_by_july_climate() -> None:
    """A colder site never shows a higher July PUE than a hotter one with the same design:
    hour by hour, and in the July mean wherever the July means differ by more than 0.5 degC."""
    design = PueCurve(overhead=0.10, cooling_scale=1.0, fixed_fraction=0.5)
    temps = {c.id: _july(c) for c in SITES}
    pues = {k: design.pue(t) for k, t in temps.items()}
    for a, b in itertools.combinations(temps, 2):
        colder = temps[a] < temps[b]
        assert np.all(pues[a][colder] <= pues[b][colder] + 1e-12), (a, b)
        ta, tb = temps[a].mean(), temps[b].mean()
        if abs(ta - tb) > 0.5:
            cold, hot = (a, b) if ta < tb else (b, a)
            assert pues[cold].mean() < pues[hot].mean(), (cold, hot)


def test_calibrated_cold_cluster_below_hot_cluster_in_july() -> None:
    """The review's inversion: Zhangjiakou (cold) must not exceed Shaoguan (hot) in July."""
    by_id = {c.id: c for c in SITES}

    def july_pue(cid: str) -> float:
        c = by_id[cid]
        return float(calibrate_pue(_year(c), c.pue_annual_mean.scalar).pue(_july(c)).mean())

    assert july_pue("zhangjiakou") < july_pue("shaoguan")
    assert july_pue("helingeer") < july_pue("chongqing")
    assert july_pue("zhongwei") < july_pue("yrd_demo")


def test_load_dependence_keeps_fixed_overhead() -> None:
    curve = PueCurve(overhead=0.2, cooling_scale=1.0, fixed_fraction=0.5)
    t = np.array([25.0])
    full, half = curve.pue(t, 1.0)[0], curve.pue(t, 0.5)[0]
    assert half - full == pytest.approx(0.1)  # fixed 0.1 per design kW over half the load
    with pytest.raises(ValueError):
        curve.pue(t, 0.0)
