"""Diurnal/weekly profiles, NHPP arrivals, heavy-tailed sizes and the forecast."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from models.clock import TZ
from models.demand.profiles import Burst, diurnal_profile, forecast_work, rate_profile, week_factors
from models.demand.workload import (
    KIND_BATCH,
    ClassSpec,
    draw_sizes,
    generate_jobs,
    iter_jobs,
    pareto_alpha_for_cv,
)

MONDAY = datetime(2025, 6, 30, tzinfo=TZ)


def _spec(rate: float = 100.0, **kw: object) -> ClassSpec:
    base = ClassSpec(
        name="c",
        kind=KIND_BATCH,
        rate_per_h=rate,
        service_dist="exponential",
        service_mean_s=600.0,
        service_cv=1.0,
        region_weight=np.array([0.25, 0.75]),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_diurnal_shapes() -> None:
    for kind in ("daytime", "evening", "night", "flat"):
        assert diurnal_profile(kind).mean() == pytest.approx(1.0)
    day = diurnal_profile("daytime")
    assert int(np.argmax(day)) in (10, 11)
    assert day[15] > day[13] and day[15] > day[17] and day[15] > 1.5
    assert int(np.argmax(diurnal_profile("evening"))) in (20, 21)
    assert int(np.argmax(diurnal_profile("night"))) in (0, 1, 2, 3)
    assert np.all(diurnal_profile("flat") == 1.0)
    with pytest.raises(ValueError):
        diurnal_profile("noon")


def test_week_is_mean_preserving_with_weekend_factor() -> None:
    wd, we = week_factors(0.8)
    assert (5 * wd + 2 * we) / 7 == pytest.approx(1.0) and we / wd == pytest.approx(0.8)
    prof = rate_profile(MONDAY, 24 * 7 * 2, "daytime", weekend_factor=0.8)
    assert prof.mean() == pytest.approx(1.0)
    # Saturday 10:00 vs Monday 10:00 (Jun 30 2025 is a Monday).
    assert prof[5 * 24 + 10] / prof[10] == pytest.approx(0.8)


def test_bursts_multiply_whole_and_partial_hours() -> None:
    prof = rate_profile(MONDAY, 6, bursts=[Burst(1.0, 2.0, 3.0), Burst(4.5, 1.0, 2.0)])
    assert prof.tolist() == pytest.approx([1.0, 3.0, 3.0, 1.0, 1.5, 1.5])


def test_nhpp_counts_per_hour_match_the_profile() -> None:
    hours = 24 * 28
    prof = rate_profile(MONDAY, hours, "daytime", weekend_factor=0.8)
    spec = _spec(rate=200.0, rate_profile=prof)
    jobs = generate_jobs([spec], hours * 3600.0, np.random.default_rng(2024))
    observed = np.bincount((jobs.arrival_s // 3600).astype(int), minlength=hours)
    expected = 200.0 * prof
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    # chi-square with 672 dof, 0.999 quantile by Wilson-Hilferty: 672 (1 - 2/(9*672) + 3.09 sqrt(2/(9*672)))^3
    assert chi2 < 791.0
    # Within each hour the arrivals are uniform: half fall in the first 30 minutes.
    first_half = np.mean(jobs.arrival_s % 3600 < 1800)
    assert abs(first_half - 0.5) < 4 * np.sqrt(0.25 / len(jobs))
    # Per clock hour of day (24 z-scores, Bonferroni at 0.001 overall: |z| < 4.06).
    by_clock = np.bincount((jobs.arrival_s // 3600).astype(int) % 24, minlength=24)
    exp_clock = expected.reshape(28, 24).sum(axis=0)
    assert np.all(np.abs(by_clock - exp_clock) / np.sqrt(exp_clock) < 4.06)


def test_regions_and_partial_last_hour() -> None:
    jobs = generate_jobs([_spec(rate=4000.0)], 1.5 * 3600.0, np.random.default_rng(1))
    assert jobs.arrival_s.max() < 5400.0
    second = np.sum(jobs.arrival_s >= 3600.0)
    assert abs(second - 2000) < 4 * np.sqrt(2000)
    assert abs(np.mean(jobs.region == 1) - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(jobs))


def test_iter_jobs_chunks_by_day_in_order_and_deterministic() -> None:
    specs = [_spec(rate=50.0), _spec(rate=20.0, service_dist="lognormal", service_cv=2.0)]
    chunks = list(iter_jobs(specs, 3 * 86400.0 + 100.0, np.random.default_rng(9)))
    assert len(chunks) == 4
    for d, ch in enumerate(chunks):
        assert np.all(np.diff(ch.arrival_s) >= 0)
        assert np.all((ch.arrival_s >= d * 86400.0) & (ch.arrival_s < (d + 1) * 86400.0))
    whole = generate_jobs(specs, 3 * 86400.0 + 100.0, np.random.default_rng(9))
    np.testing.assert_array_equal(whole.arrival_s, np.concatenate([c.arrival_s for c in chunks]))
    np.testing.assert_array_equal(whole.klass, np.concatenate([c.klass for c in chunks]))


def test_short_rate_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="rate_profile"):
        generate_jobs([_spec(rate_profile=np.ones(2))], 3 * 3600.0, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("dist", "cv", "alpha"),
    [("pareto", 1.0, 2.5), ("pareto", 0.5, None), ("lognormal", 2.0, None), ("exponential", 1.0, None)],
)
def test_size_draws_keep_the_mean(dist: str, cv: float, alpha: float | None) -> None:
    n, mean = 400_000, 10.0
    x = draw_sizes(np.random.default_rng(7), dist, mean, cv, n, alpha)
    a = alpha if alpha is not None else pareto_alpha_for_cv(cv)
    true_cv = 1.0 / np.sqrt(a * (a - 2.0)) if dist == "pareto" else cv
    assert abs(x.mean() - mean) < 5 * mean * true_cv / np.sqrt(n)
    if dist == "pareto":
        assert x.min() >= mean * (a - 1) / a


def test_pareto_alpha_from_cv_and_bad_alpha() -> None:
    a = pareto_alpha_for_cv(0.5)
    assert 1.0 / (a * (a - 2.0)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="alpha > 1"):
        draw_sizes(np.random.default_rng(0), "pareto", 1.0, 1.0, 3, alpha=1.0)


def test_data_volumes_follow_their_distribution() -> None:
    spec = _spec(rate=20000.0, data_gb=50.0, data_dist="exponential")
    jobs = generate_jobs([spec], 3600.0, np.random.default_rng(4))
    assert abs(jobs.data_gb.mean() - 50.0) < 5 * 50.0 / np.sqrt(len(jobs))
    assert np.all(generate_jobs([_spec(data_gb=5.0)], 3600.0, np.random.default_rng(4)).data_gb == 5.0)


def test_forecast_equals_the_analytic_expectation() -> None:
    spec = _spec(rate=10.0, job_scale=4, service_mean_s=900.0, rate_profile=np.array([1.0, 2.0, 0.5, 1.0]))
    flat = _spec(rate=3.0, service_mean_s=3600.0, region_weight=np.array([1.0, 0.0]))
    f = forecast_work([spec, flat], 3)
    assert f.shape == (2, 2, 3)
    # 10 sim jobs/h x 4 real jobs x 2 x 0.25 x 900 s / 3600 = 5 server-hours per hour
    assert f[0, 0, 1] == pytest.approx(5.0)
    assert f[1, 0].tolist() == pytest.approx([7.5, 15.0, 3.75])
    np.testing.assert_allclose(f[:, 1], [[3.0] * 3, [0.0] * 3])
    assert forecast_work([spec], 2, start_h=2)[0, 0].tolist() == pytest.approx([1.25, 2.5])


def test_forecast_matches_simulated_work() -> None:
    spec = _spec(rate=50.0, job_scale=3, rate_profile=rate_profile(MONDAY, 48, "evening"))
    jobs = generate_jobs([spec], 48 * 3600.0, np.random.default_rng(12))
    work_sh = jobs.service_s.sum() * spec.job_scale / 3600.0
    want = forecast_work([spec], 48).sum()
    # compound Poisson: var of total service = rate x T x E[S^2] = n x 2 mean^2 (exponential)
    sd = np.sqrt(50.0 * 48 * 2 * 600.0**2) * 3 / 3600.0
    assert abs(work_sh - want) < 4 * sd


def test_forecast_error_is_mean_one_lognormal_and_seeded() -> None:
    spec = _spec(rate=10.0)
    base = forecast_work([spec], 5000)
    noisy = forecast_work([spec], 5000, error_sigma=0.3, rng=np.random.default_rng(1))
    again = forecast_work([spec], 5000, error_sigma=0.3, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(noisy, again)
    ratio = noisy / base
    assert abs(ratio.mean() - 1.0) < 5 * np.sqrt(np.expm1(0.09) / ratio.size)
    assert np.log(ratio).std() == pytest.approx(0.3, rel=0.03)
    with pytest.raises(ValueError, match="rng"):
        forecast_work([spec], 5, error_sigma=0.3)


def test_expected_discrete_jobs_by_hand() -> None:
    import numpy as np

    from models.demand.workload import KIND_BATCH, ClassSpec, expected_discrete_jobs

    w = np.array([1.0])
    flat = ClassSpec("a", KIND_BATCH, 100.0, "fixed", 1.0, 0.0, w)
    shaped = ClassSpec("b", KIND_BATCH, 10.0, "fixed", 1.0, 0.0, w, rate_profile=np.array([1.0, 3.0, 0.0]))
    # 2.5 h: 100 x 2.5; 10 x (1 + 3 + 0 x 0.5)
    assert expected_discrete_jobs([flat, shaped], 2.5 * 3600).tolist() == [250.0, 40.0]
    assert expected_discrete_jobs([flat], 0.0).tolist() == [0.0]
