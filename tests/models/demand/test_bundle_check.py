"""The honest-scale check: its simulated pool against Erlang C, and what streams do to it.

Independent truth: unbundled (S = 1) the simulated pool is an M/M/c queue, so its mean
response is Erlang C's; bundles arriving as several streams bundled apart queue more
than one stream of the same load (their superposition loses each one's regularity).
"""

from __future__ import annotations

import math

import pytest

from models.demand.bundle_check import PoolLoad, bundled_response, erlang_response, honest_scale, scale_error


@pytest.mark.parametrize(("servers", "rho"), [(10, 0.8), (100, 0.9)])
def test_unbundled_the_simulated_pool_is_erlang_c(servers: int, rho: float) -> None:
    got = bundled_response(servers, rho, 1, n_bundles=200_000)
    assert got == pytest.approx(erlang_response(servers, rho), rel=0.02)


def test_erlang_response_by_hand() -> None:
    # M/M/1 at rho 0.5: W = 1 / (mu - lambda) = 2 service times
    assert erlang_response(1, 0.5) == pytest.approx(2.0)
    assert erlang_response(0.5, 0.5) == math.inf  # no whole server


def _load(streams: tuple[float, ...]) -> PoolLoad:
    return PoolLoad("p", 28_000.0, 0.9, 0.95, 28_000.0, streams, 1e6)


def test_streams_bundled_apart_queue_more_and_lower_the_honest_scale() -> None:
    one, many = _load((1.0,)), _load((1 / 12,) * 12)
    assert scale_error(many, 5_000) > 2 * scale_error(one, 5_000)
    s_one, err_one = honest_scale(one)
    s_many, err_many = honest_scale(many)
    assert 0 < s_many < s_one and err_one <= 0.02 and err_many <= 0.02
    # the next scale of the ladder fails: the largest honest one was found
    assert scale_error(many, {1_000: 2_000, 2_000: 5_000, 500: 1_000}.get(s_many, 10 * s_many)) > 0.02


def test_a_pool_too_small_for_the_ladder_has_no_scale() -> None:
    tiny = PoolLoad("p", 5.0, 0.5, 0.6, 5.0, (1.0,), 100.0)
    assert honest_scale(tiny)[0] == 0
