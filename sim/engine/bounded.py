"""Caches of recent results, bounded: the oldest entry goes first when one is full.

A dict keeps its keys in insertion order, so the first key is the oldest; a caller
that pops a hit and stores it again keeps the most recently used last (LRU), one
that only stores keeps them first in, first out.
"""

from __future__ import annotations

__all__ = ["remember"]


def remember[K, V](cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key`` in ``cache`` (at most ``limit`` entries: the oldest is
    dropped first); return ``value``."""
    if key not in cache and len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value
