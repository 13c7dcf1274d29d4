"""TOU tariffs and grid carbon factors by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from models.clock import TZ, hour_index
from models.energy.tariffs import TouTariff, hourly_grid_kgco2_per_kwh, hourly_tariff_cny_per_kwh

T = TouTariff(0.6, 1.0, 0.3, peak_hours=(8, 9, 18), valley_hours=(23, 0, 1))


def test_hand_example_local_hours() -> None:
    got = hourly_tariff_cny_per_kwh(datetime(2025, 7, 1, 6, tzinfo=TZ), 5, T)
    assert got.tolist() == [0.6, 0.6, 1.0, 1.0, 0.6]
    # The same local hours given in UTC (22:00 UTC = 06:00 in Shanghai).
    utc = hourly_tariff_cny_per_kwh(datetime(2025, 6, 30, 22, tzinfo=UTC), 5, T)
    assert utc.tolist() == got.tolist()


def test_day_wraps_over_midnight() -> None:
    got = hourly_tariff_cny_per_kwh(datetime(2025, 7, 1, 22, tzinfo=TZ), 5, T)
    assert got.tolist() == [0.6, 0.3, 0.3, 0.3, 0.6]
    day = hourly_tariff_cny_per_kwh(datetime(2025, 7, 1, tzinfo=TZ), 24, T)
    assert day.sum() == pytest.approx(3 * 1.0 + 3 * 0.3 + 18 * 0.6)


def test_bad_hours_are_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        TouTariff(0.6, 1.0, 0.3, peak_hours=(1,), valley_hours=(1,))
    with pytest.raises(ValueError, match=r"0\.\.23"):
        TouTariff(0.6, 1.0, 0.3, peak_hours=(24,))


def test_grid_factor_constant_and_shaped() -> None:
    idx = hour_index(datetime(2025, 7, 1, tzinfo=TZ), 48)
    assert np.all(hourly_grid_kgco2_per_kwh(idx, 0.6) == 0.6)
    shape = np.where(np.arange(24) < 12, 1.0, 3.0)
    g = hourly_grid_kgco2_per_kwh(idx, 0.6, shape)
    assert g.mean() == pytest.approx(0.6)
    assert g[0] == pytest.approx(0.3) and g[12] == pytest.approx(0.9)
