"""models.queueing against independent truth: the textbook Erlang B recursion and closed forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.queueing import erlang_b, erlang_c


def erlang_b_recursion(c: int, a: float) -> float:
    """B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)): stable, O(c), independent of the module."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


@pytest.mark.parametrize("c", [1, 2, 5, 14, 15, 16, 50, 100, 1000, 10_000, 100_000, 1_000_000])
@pytest.mark.parametrize("rho", [0.01, 0.3, 0.8, 0.95, 0.99, 0.999, 1.0, 1.3, 3.0])
def test_erlang_b_matches_the_recursion(c: int, rho: float) -> None:
    a = rho * c
    assert erlang_b(c, a) == pytest.approx(erlang_b_recursion(c, a), rel=1e-9, abs=1e-300)


def test_closed_forms() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)  # a / (1 + a)
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)  # 2 rho^2 / (1 + rho) at rho = 1/2
    assert erlang_c(10, 10.0) == 1.0 and erlang_b(5, 0.0) == 0.0
    # the figure: c = 100,000 at utilisation 0.95
    assert erlang_c(100_000, 95_000.0) == pytest.approx(1.72e-58, rel=0.01)


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 3000), rho=st.floats(0.0, 0.9999))
def test_erlang_c_is_a_probability_and_above_erlang_b(c: int, rho: float) -> None:
    a = rho * c
    b, p = erlang_b(c, a), erlang_c(c, a)
    assert 0.0 <= b <= p <= 1.0
    assert b == pytest.approx(erlang_b_recursion(c, a), rel=1e-9, abs=1e-300)
