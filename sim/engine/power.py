"""Server power management: which servers of each cluster are powered (``energy.power_management``).

The engine keeps one number per cluster that every consumer of capacity reads,
:attr:`PowerManager.online`: servers that are installed, not failed, powered
and booted. The cluster's pool serves on exactly that many servers. A manager
sees the engine through the narrow :class:`PowerHost` interface and changes
``online`` only through :meth:`PowerHost.set_online`.

Modes:

- ``always_on`` (:class:`AlwaysOn`): every available server is online; faults
  take servers away and give them back at once (no transitions).
- ``reactive`` (:class:`Reactive`): a per-cluster autoscaler. It wants
  ``ceil(demand x (1 + headroom))`` servers, demand being busy servers plus
  jobs waiting for one, within ``[ceil(min_powered_share x installed),
  available]``. Short of that, it switches servers on; they serve work after
  ``boot_s`` and draw ``boot_w`` meanwhile. Above it, a server is switched off
  once it has been idle for ``idle_timeout_s``: the most recently freed server
  is reused first (the "most recently busy" rule of DelayedOff, Gandhi et al.
  2010/2012), so the servers idle longest are the ones switched off.
- ``planned`` (:class:`Planned`): the policy sets a target per cluster
  (:meth:`PowerManager.set_target`, the ``lp`` plan's active servers); more
  servers boot in ``boot_s``, fewer stop taking work at once (busy ones
  finish their job first).

Faults: a cluster's available servers bound ``online`` and the servers
booting. An outage powers nothing up: available is zero, so boots are
cancelled and nothing is switched on until it ends; after it, a reactive or
planned cluster boots what it needs (``always_on`` comes back at once).

Every power-up and power-down is counted per cluster and time step
(:attr:`PowerManager.ups`, :attr:`PowerManager.downs`); booting servers are a
step function the engine integrates, so their energy lands in the time
step it is spent in.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

import numpy as np
import simpy

from sim.config import PowerControl

_EPS = 1e-9


class PowerHost(Protocol):
    """What a power manager reads of the engine, and the one thing it changes."""

    env: simpy.Environment
    base_servers: list[int]  # real servers installed
    available: list[int]

    def busy_servers(self, c: int) -> float:
        """Servers of cluster ``c`` serving work now."""
        ...

    def waiting(self, c: int) -> int:
        """Jobs at cluster ``c`` waiting for a server now."""
        ...

    def set_online(self, c: int, servers: int) -> None:
        """Let cluster ``c`` serve on ``servers`` servers from now on (and log its state)."""
        ...

    def log_state(self, c: int) -> None:
        """Record cluster ``c``'s state now (servers booting changed)."""
        ...


class PowerManager:
    """Base: the bookkeeping every mode shares. ``always_on`` is this class as is.

    Parameters
    ----------
    host
        The engine (through :class:`PowerHost`).
    params
        ``energy.power_control``.
    boot_w
        Power of a booting server in W (``params.boot_w`` or the server's peak).
    step_s, n_steps
        The time-series step, for the per-step transition counts.
    """

    mode = "always_on"

    def __init__(
        self, host: PowerHost, params: PowerControl, boot_w: float, step_s: float, n_steps: int
    ) -> None:
        self.host = host
        self.params = params
        self.boot_s = float(params.boot_s)
        self.boot_w = float(boot_w)
        n_c = len(host.base_servers)
        self.online: list[int] = list(host.available)
        self.booting: list[int] = [0] * n_c
        self._step_s = float(step_s)
        self._last_step = n_steps - 1
        self.ups = np.zeros((n_c, n_steps), dtype=np.int64)  # real servers switched on, per step
        self.downs = np.zeros((n_c, n_steps), dtype=np.int64)
        # boots under way per cluster: [time they come online, servers], oldest first
        self._boots: list[deque[list[float]]] = [deque() for _ in range(n_c)]

    # ------------------------------------------------------------------ engine -> manager
    def start(self) -> None:
        """Called once when the run starts (t = 0)."""

    def capacity_changed(self, c: int) -> int:
        """The cluster's available servers changed (a fault): return the servers online now."""
        avail = self.host.available[c]
        if self.mode == "always_on":
            self.online[c] = avail
            return avail
        self.online[c] = min(self.online[c], avail)
        excess = self.online[c] + self.booting[c] - avail
        boots = self._boots[c]
        while excess > 0 and boots:  # cancel the latest boots first
            last = boots[-1]
            take = min(excess, int(last[1]))
            last[1] -= take
            self.booting[c] -= take
            excess -= take
            if last[1] <= 0:
                boots.pop()
        return self.online[c]

    def changed(self, c: int) -> None:
        """Busy or waiting counts of cluster ``c`` changed (after every arrival and departure)."""

    def set_target(self, c: int, servers: int | None) -> None:
        """Keep ``servers`` of cluster ``c`` powered (``None``: all available); ``planned`` only."""
        raise RuntimeError(
            f"power targets are followed only with energy.power_management: planned (mode: {self.mode})"
        )

    # ------------------------------------------------------------------ helpers
    def _step(self) -> int:
        return min(int(self.host.env.now // self._step_s), self._last_step)

    def _boot(self, c: int, n: int) -> None:
        """Switch ``n`` servers of cluster ``c`` on: online after ``boot_s``."""
        if n <= 0:
            return
        self.ups[c, self._step()] += n
        if self.boot_s <= 0.0:
            self._go_online(c, n)
            return
        env = self.host.env
        self.booting[c] += n
        self.host.log_state(c)
        self._boots[c].append([env.now + self.boot_s, float(n)])
        ev = env.timeout(self.boot_s, value=c)
        ev.callbacks.append(self._booted)

    def _booted(self, ev: simpy.Event) -> None:
        c: int = ev._value
        now = self.host.env.now
        boots = self._boots[c]
        n = 0
        while boots and boots[0][0] <= now + _EPS:
            n += int(boots.popleft()[1])
        if n:
            self.booting[c] -= n
            self._go_online(c, n)

    def _go_online(self, c: int, n: int) -> None:
        self.online[c] = min(self.online[c] + n, self.host.available[c])
        self.host.set_online(c, self.online[c])
        self.changed(c)


class AlwaysOn(PowerManager):
    """Every available server stays powered."""

    mode = "always_on"


class Planned(PowerManager):
    """The policy's targets (``lp``: planned active servers x headroom)."""

    mode = "planned"

    def __init__(
        self, host: PowerHost, params: PowerControl, boot_w: float, step_s: float, n_steps: int
    ) -> None:
        super().__init__(host, params, boot_w, step_s, n_steps)
        self.target: list[int | None] = [None] * len(self.online)

    def set_target(self, c: int, servers: int | None) -> None:
        self.target[c] = servers
        avail = self.host.available[c]
        want = avail if servers is None else min(avail, max(0, int(servers)))
        on = self.online[c]
        if want > on + self.booting[c]:
            self._boot(c, want - on - self.booting[c])
        elif want < on:
            self.downs[c, self._step()] += on - want
            self.online[c] = want
            self.host.set_online(c, want)  # busy servers above it finish their job, none starts


class Reactive(PowerManager):
    """Per-cluster autoscaler: headroom over demand, idle timeout, boot delay."""

    mode = "reactive"

    def __init__(
        self, host: PowerHost, params: PowerControl, boot_w: float, step_s: float, n_steps: int
    ) -> None:
        super().__init__(host, params, boot_w, step_s, n_steps)
        n_c = len(self.online)
        self.factor = 1.0 + float(params.headroom)
        self.timeout_s = float(params.idle_timeout_s)
        share = float(params.min_powered_share)
        self.floor = [math.ceil(share * s - _EPS) for s in host.base_servers]
        # idle servers as runs [idle since, count], oldest first (the most recently freed are reused first)
        self._idle: list[deque[list[float]]] = [deque() for _ in range(n_c)]
        self._n_idle = [0] * n_c
        self._shed_at = [math.inf] * n_c
        self._busy_in = [False] * n_c

    def start(self) -> None:
        # every server starts powered (a warm cluster), idle since t = 0
        for c in range(len(self.online)):
            self.changed(c)

    def capacity_changed(self, c: int) -> int:
        online = super().capacity_changed(c)
        self._track_idle(c)
        return online

    def want(self, c: int) -> int:
        """Servers cluster ``c`` should have powered now."""
        host = self.host
        demand = host.busy_servers(c) + host.waiting(c)
        need = math.ceil(demand * self.factor - _EPS)
        return min(host.available[c], max(self.floor[c], need))

    def changed(self, c: int) -> None:
        if self._busy_in[c]:  # set_online below re-enters through the engine's log
            return
        self._busy_in[c] = True
        try:
            want = self.want(c)
            short = want - self.online[c] - self.booting[c]
            if short > 0:
                self._boot(c, short)
            self._track_idle(c)
            if self.online[c] > want and self._n_idle[c] > 0:
                self._shed(c, want)
        finally:
            self._busy_in[c] = False

    def _track_idle(self, c: int) -> None:
        """Bring the idle runs in line with online - busy (LIFO: the last freed are taken first)."""
        idle = max(0, self.online[c] - math.ceil(self.host.busy_servers(c) - _EPS))
        runs = self._idle[c]
        have = self._n_idle[c]
        if idle > have:
            now = self.host.env.now
            if runs and runs[-1][0] == now:
                runs[-1][1] += idle - have
            else:
                runs.append([now, float(idle - have)])
        elif idle < have:
            drop = have - idle
            while drop > 0:
                last = runs[-1]
                take = min(drop, int(last[1]))
                last[1] -= take
                drop -= take
                if last[1] <= 0:
                    runs.pop()
        self._n_idle[c] = idle

    def _shed(self, c: int, want: int) -> None:
        """Switch off idle servers idle for ``idle_timeout_s`` or more, down to ``want``."""
        now = self.host.env.now
        runs = self._idle[c]
        excess = self.online[c] - want
        off = 0
        while excess > 0 and runs and runs[0][0] + self.timeout_s <= now + _EPS:
            first = runs[0]
            take = min(excess, int(first[1]))
            first[1] -= take
            excess -= take
            off += take
            if first[1] <= 0:
                runs.popleft()
        if off:
            self._n_idle[c] -= off
            self.online[c] -= off
            self.downs[c, self._step()] += off
            self.host.set_online(c, self.online[c])
        if excess > 0 and runs:  # more to switch off once the next idle server times out
            at = runs[0][0] + self.timeout_s
            if not (now < self._shed_at[c] <= at):
                self._shed_at[c] = at
                ev = self.host.env.timeout(max(0.0, at - now), value=c)
                ev.callbacks.append(self._shed_due)

    def _shed_due(self, ev: simpy.Event) -> None:
        c: int = ev._value
        if self._shed_at[c] <= self.host.env.now + _EPS:
            self._shed_at[c] = math.inf
        self.changed(c)


MANAGERS: dict[str, type[PowerManager]] = {"always_on": AlwaysOn, "reactive": Reactive, "planned": Planned}


def make_power_manager(
    mode: str, host: PowerHost, params: PowerControl, boot_w: float, step_s: float, n_steps: int
) -> PowerManager:
    """The manager of ``energy.power_management`` ``mode``."""
    return MANAGERS[mode](host, params, boot_w, step_s, n_steps)
