"""A bounded cache keeps the most recent entries, at most its limit, in the order they came."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.engine.bounded import remember


@given(st.lists(st.tuples(st.integers(0, 9), st.integers()), max_size=60), st.integers(1, 6), st.booleans())
def test_the_cache_holds_the_recent_keys(puts: list[tuple[int, int]], limit: int, lru: bool) -> None:
    cache: dict[int, int] = {}
    ref: list[tuple[int, int]] = []  # (key, value), oldest first
    for key, value in puts:
        if lru:  # a hit is taken out and stored again: the most recently used last
            cache.pop(key, None)
        assert remember(cache, key, value, limit) == value
        old = [i for i, (k, _) in enumerate(ref) if k == key]
        if old and lru:
            del ref[old[0]]
        if old and not lru:
            ref[old[0]] = (key, value)  # stored again in place
        else:
            if len(ref) >= limit:
                del ref[0]
            ref.append((key, value))
        assert list(cache.items()) == ref
