"""Calendar index and synthetic temperature."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import pytest

from models.clock import TZ, hour_index
from models.energy.weather import MONTH_DAYS, diurnal_c, hourly_temperature_c
from models.reference import national_reference

YEAR = datetime(2025, 1, 1, tzinfo=TZ)


def _zjk() -> tuple[list[float], float]:
    c = next(c for c in national_reference().clusters if c.id == "zhangjiakou")
    return c.temp_monthly_c.values, c.temp_diurnal_swing_c.scalar


def test_hour_index_is_local_time() -> None:
    # 2025-07-04 22:00 UTC is Saturday 2025-07-05 06:00 in Shanghai.
    idx = hour_index(datetime(2025, 7, 4, 22, tzinfo=UTC), 3)
    assert idx.local_hour.tolist() == [6, 7, 8]
    assert idx.weekday.tolist() == [5, 5, 5]
    assert idx.local_hour_mid.tolist() == [6.5, 7.5, 8.5]
    assert idx.utc_hour_mid.tolist() == [22.5, 23.5, 0.5]


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hour_index(datetime(2025, 1, 1), 1)


def test_annual_and_monthly_means_are_preserved() -> None:
    monthly, swing = _zjk()
    t = hourly_temperature_c(YEAR, 8760, monthly, swing)
    # Exactly the day-weighted mean of the months; close to their plain mean.
    assert t.mean() == pytest.approx(np.average(monthly, weights=MONTH_DAYS), abs=1e-3)
    assert abs(t.mean() - np.mean(monthly)) < 0.15
    edges = np.concatenate([[0], np.cumsum(MONTH_DAYS * 24)]).astype(int)
    got = [t[a:b].mean() for a, b in itertools.pairwise(edges)]
    np.testing.assert_allclose(got, monthly, atol=0.05)


def test_hottest_hour_is_mid_afternoon_and_coldest_before_dawn() -> None:
    monthly, swing = _zjk()
    t = hourly_temperature_c(YEAR, 8760, monthly, swing)
    by_hour = t.reshape(365, 24).mean(axis=0)
    assert int(np.argmax(by_hour)) in (14, 15)
    assert int(np.argmin(by_hour)) in (4, 5)
    assert by_hour.max() - by_hour.min() == pytest.approx(swing, rel=0.05)


def test_diurnal_shape_by_hand() -> None:
    assert diurnal_c(np.array([5.0, 15.0, 10.0, 22.0]), 10.0).tolist() == pytest.approx([-5.0, 5.0, 0.0, 0.0])
    hours = np.arange(0, 24, 0.001)
    assert diurnal_c(hours, 8.0).mean() == pytest.approx(0.0, abs=1e-6)
