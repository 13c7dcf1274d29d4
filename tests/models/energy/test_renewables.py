"""Synthetic solar and wind: geometry, utilisation hours, user profiles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.clock import TZ, hour_index, reference_year
from models.energy.renewables import (
    WindParams,
    _unit_weibull,
    clear_sky_ghi_w_m2,
    expected_wind_cf,
    green_supply_kw,
    load_green_profiles,
    power_curve,
    solar_kw_per_kw,
    utc_days,
    weibull_scale_for,
    wind_kw_per_kw,
)
from models.errors import InputError
from models.reference import national_reference

LON, LAT = 115.09, 40.717  # Zhangjiakou (seeds/clusters.yaml)
YEAR = datetime(2025, 1, 1, tzinfo=TZ)


def test_solar_is_zero_at_night_and_up_at_noon() -> None:
    idx = reference_year()
    ghi = clear_sky_ghi_w_m2(utc_days(idx), LON, LAT).reshape(365, 24)
    night = [21, 22, 23, 0, 1, 2, 3]
    assert np.all(ghi[:, night] == 0.0)
    assert np.all(ghi[:, 12] > 300.0)
    assert np.all(np.argmax(ghi, axis=1) == 12)  # the 12:00-13:00 hour holds solar noon all year


def test_solar_noon_at_zhangjiakou_is_about_1220_beijing_time() -> None:
    # Apr 15 (equation of time ~ 0): noon = 12:00 + 4 min x (120 - 115.09) = 12:19.6.
    minutes = np.arange(11 * 60, 14 * 60)
    t_utc_days = 104.0 + (minutes / 60.0 - 8.0) / 24.0
    ghi = clear_sky_ghi_w_m2(t_utc_days, LON, LAT)
    noon = minutes[int(np.argmax(ghi))]
    assert 12 * 60 + 16 <= noon <= 12 * 60 + 24


def test_solar_utilisation_hours_are_matched() -> None:
    out = solar_kw_per_kw(reference_year(), LON, LAT, 1400.0, np.random.default_rng(3))
    assert out.min() >= 0.0
    assert out.sum() == pytest.approx(1400.0, rel=0.05)


def test_power_curve_by_hand() -> None:
    v = np.array([0.0, 2.9, 3.0, 7.0, 12.0, 20.0, 24.9, 25.0, 30.0])
    want = [0, 0, 0, (343 - 27) / (1728 - 27), 1, 1, 1, 0, 0]
    assert power_curve(v).tolist() == pytest.approx(want)


def test_weibull_scale_solves_capacity_factor() -> None:
    for cf in (0.1, 0.24, 0.35):
        assert expected_wind_cf(weibull_scale_for(cf)) == pytest.approx(cf, abs=1e-6)
    with pytest.raises(ValueError):
        weibull_scale_for(0.99)


@settings(max_examples=200, deadline=None)
@given(
    scale=st.floats(0.01, 40.0),
    shape=st.sampled_from([1.5, 2.0, 2.4, 3.0]),
    cut_in=st.floats(0.5, 5.0),
    ramp=st.floats(0.5, 15.0),
    rated_span=st.floats(0.0, 20.0),
)
def test_expected_wind_cf_is_the_power_curves_mean_bit_for_bit(
    scale: float, shape: float, cut_in: float, ramp: float, rated_span: float
) -> None:
    """The sliced evaluation gives exactly the mean of the whole power curve (the wind scale's
    bisection, and so every green supply, depends on it to the last bit)."""
    w = WindParams(
        weibull_shape=shape, cut_in_ms=cut_in, rated_ms=cut_in + ramp, cut_out_ms=cut_in + ramp + rated_span
    )
    want = float(power_curve(scale * _unit_weibull(shape), w).mean())
    assert expected_wind_cf(scale, w) == want


def test_wind_utilisation_hours_are_matched_over_twenty_years() -> None:
    out = wind_kw_per_kw(20 * 8760, 2100.0, np.random.default_rng(5))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.sum() / 20 == pytest.approx(2100.0, rel=0.06)
    # Hourly persistence: neighbouring hours are strongly correlated.
    assert np.corrcoef(out[:-1], out[1:])[0, 1] > 0.8


def test_green_supply_matches_share_of_annual_energy() -> None:
    idx = hour_index(YEAR, 10 * 8760)
    annual_kwh = 1000.0 * 1.2 * 8760
    g = green_supply_kw(
        idx,
        lon_deg=LON,
        lat_deg=LAT,
        green_share=0.33,
        solar_share_of_green=0.31,
        annual_energy_kwh=annual_kwh,
        solar_utilisation_hours=1400.0,
        wind_utilisation_hours=2100.0,
        rng=np.random.default_rng(11),
    )
    assert g.min() >= 0.0
    assert g.sum() / 10 == pytest.approx(0.33 * annual_kwh, rel=0.05)


def test_reference_provinces_give_sane_profiles() -> None:
    ref = national_reference()
    for c in ref.clusters:
        pr = ref.provinces[c.province]
        s = solar_kw_per_kw(
            reference_year(),
            c.lon.scalar,
            c.lat.scalar,
            pr.solar_utilisation_hours.scalar,
            np.random.default_rng(0),
        )
        assert 0.0 <= s.max() < 1.6


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_load_profiles_by_hour_and_time(tmp_path: Path) -> None:
    start = datetime(2025, 7, 1, tzinfo=TZ)
    p = _write(tmp_path, "g.csv", "hour,cluster,green_kw\n0,b,5\n1,b,6\n2,b,7\n9,b,1\n")
    got = load_green_profiles(p, ["a", "b"], start, 3)
    assert np.isnan(got[0]).all() and got[1].tolist() == [5.0, 6.0, 7.0]
    q = _write(
        tmp_path, "t.csv", "time,cluster,green_kw\n2025-07-01T01:00:00+08:00,a,2\n2025-07-01T00:00,a,1\n"
    )
    assert load_green_profiles(q, ["a"], start, 2)[0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("body", "key", "msg"),
    [
        ("hour,cluster,green_kw\n0,a,1\n1,zz,1\n", "row 2", "unknown cluster"),
        ("hour,cluster,green_kw\n0,a,-1\n1,a,x\n", "rows 1, 2", "green_kw"),
        ("hour,cluster,green_kw\n0,a,1\n0,a,1\n", "row 2", "duplicate"),
        ("hour,cluster,green_kw\n0.5,a,1\n", "row 1", "whole hour"),
        ("hour,cluster\n0,a\n", "", "missing column"),
        ("hour,cluster,green_kw\n0,a,1\n", "", "cover every hour"),
    ],
)
def test_load_profiles_bad_rows(tmp_path: Path, body: str, key: str, msg: str) -> None:
    p = _write(tmp_path, "g.csv", body)
    with pytest.raises(InputError, match=msg) as err:
        load_green_profiles(p, ["a"], datetime(2025, 7, 1, tzinfo=TZ), 2)
    assert err.value.key_path == key
    assert err.value.source == str(p)
