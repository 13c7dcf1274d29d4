"""Scheduled callbacks: the lightest event simpy's loop can step.

The engine's hot paths only need "call ``fn`` at ``now + delay``" (a job's
arrival, the end of its transfer, propagation or service). A
:class:`simpy.events.Timeout` does more than that (it checks its delay, can be
yielded by a process and fail), and creating one costs about twice as much as
scheduling a :class:`Call` through the public
:meth:`simpy.Environment.schedule`. A call is stepped exactly like a timeout
scheduled at the same moment: same time (``now + delay``, summed as simpy
sums it), same priority, and the next event id, so the order of events, and
every output, is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL

__all__ = ["Call", "call_later"]


class Call:
    """A scheduled callback: the event simpy steps (``callbacks``, ``_ok``, ``_value``).

    ``fn`` receives the call itself, as a simpy callback receives its event;
    ``call._value`` is the value it was scheduled with. Keep the call to tell
    later whether it went stale (compare by identity), as with a timeout.
    """

    __slots__ = ("_value", "callbacks")
    _ok = True  # a call never fails

    def __init__(self, fn: Callable[[Any], None], value: Any) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [fn]
        self._value = value


def call_later(env: simpy.Environment, delay: float, fn: Callable[[Any], None], value: Any = None) -> Call:
    """Schedule ``fn(call)`` at ``env.now + delay`` (``delay >= 0``); return the call."""
    call = Call(fn, value)
    env.schedule(call, NORMAL, delay)  # type: ignore[arg-type]  # duck-typed: stepped as an event
    return call
