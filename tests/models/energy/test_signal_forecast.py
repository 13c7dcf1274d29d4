"""Signal forecasts and the cleanest-start rule, against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from models.energy.signal_forecast import cleanest_start, forecast_signal


def test_cleanest_start_picks_the_lowest_mean_over_the_run() -> None:
    f = np.array([5.0, 4.0, 1.0, 9.0, 0.0, 0.0])
    assert cleanest_start(f, run_h=1.0, last_start=5) == 4  # single hour: the first zero
    assert cleanest_start(f, run_h=2.0, last_start=5) == 4  # (0 + 0) / 2
    assert cleanest_start(f, run_h=1.0, last_start=3) == 2  # the deadline rules out hours 4-5
    assert cleanest_start(f, run_h=1.0, last_start=0) == 0
    assert cleanest_start(f, run_h=1.0, last_start=-3) == 0  # already late: start now
    assert cleanest_start(f, run_h=1.0, last_start=5, threshold=5.0) == 0  # clean enough now
    assert cleanest_start(f, run_h=1.0, last_start=5, threshold=4.9) == 4
    assert cleanest_start(np.array([2.0, 1.0, 1.0]), run_h=0.5, last_start=9) == 1  # ties: earliest


def test_three_hour_means_by_hand() -> None:
    f = np.array([5.0, 4.0, 1.0, 9.0])
    # starts 0, 1, 2 (last_start 2), means over 3 hours cut at the forecast's end:
    # (5+4+1)/3 = 3.33, (4+1+9)/3 = 4.67, (1+9)/2 = 5
    assert cleanest_start(f, run_h=3.0, last_start=2) == 0


def test_forecast_is_exact_now_and_mean_one_noisy_later() -> None:
    actual = np.full((2, 50_001), 0.5)
    assert forecast_signal(actual, 0.0, None).tolist() == actual.tolist()
    got = forecast_signal(actual, 0.3, np.random.default_rng(1))
    assert got[:, 0].tolist() == [0.5, 0.5]
    assert got[:, 1:].mean() == pytest.approx(0.5, rel=0.01)  # mean-1 lognormal error
    assert np.log(got[:, 1:] / 0.5).std() == pytest.approx(0.3, rel=0.02)
    with pytest.raises(ValueError):
        forecast_signal(actual, 0.3, None)
