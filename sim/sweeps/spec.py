"""Sweep specs: axes, modes and seeds, and the list of runs a spec expands to.

A spec is YAML (or built from ``edwc sweep`` options)::

    name: carbon_price              # optional; default: the spec file's stem
    base: baseline.yaml             # the base config, relative to the spec file
    set: {horizon_h: 6}             # optional overrides of the base (dotted key paths)
    axes:                           # dotted key path -> values
      policy.name: [nearest, lp]                      # a list
      energy.carbon_price_cny_per_t: {range: [0, 400, 100]}   # start, stop (excluded), step
      policy.params.rho_max: {dist: uniform, low: 0.6, high: 0.95}  # random mode only
    mode: grid                      # grid (Cartesian product) | zip | random
    samples: 20                     # random mode: number of draws
    replications: 3                 # runs per point, each with its own seed
    seed: 7                         # the sweep seed

Each run's config ``seed`` is derived from (sweep seed, point index,
replication) by :class:`numpy.random.SeedSequence`, so it depends on neither
the worker nor the order of execution. A run's id is a short SHA-256 of its
resolved config (seed included): the same config always maps to the same run
folder. Everything here raises only :class:`models.errors.InputError`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from models.errors import InputError

Mode = Literal["grid", "zip", "random"]
MODES: tuple[Mode, ...] = ("grid", "zip", "random")
SPEC_KEYS = ("name", "base", "set", "axes", "mode", "samples", "replications", "seed", "seeds", "runs")
DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "randint": ("low", "high"),
    "choice": ("values",),
}
_RANDOM_STREAM = 0x5EED  # spawn key of the random-mode draws (run seeds use (index, replication))


@dataclass(frozen=True)
class Axis:
    """One swept key: explicit ``values`` (list or range) or a random ``dist``."""

    key: str
    values: tuple[Any, ...] | None = None
    dist: dict[str, Any] | None = None

    def as_yaml(self) -> Any:
        return list(self.values) if self.values is not None else dict(self.dist or {})


@dataclass(frozen=True)
class SweepSpec:
    name: str
    base: Path
    source: str
    axes: tuple[Axis, ...] = ()
    sets: dict[str, Any] = field(default_factory=dict)
    mode: Mode = "grid"
    samples: int | None = None
    replications: int = 1
    seed: int = 0
    # "independent": every point draws its own seeds; "common": replication r of every point
    # shares one seed (common random numbers: points differ only by their parameters)
    seeds: Literal["independent", "common"] = "independent"


@dataclass(frozen=True)
class RunTask:
    """One run of the sweep: its id, where it sits in the sweep, and its config document."""

    run_id: str
    index: int
    replication: int
    seed: int
    values: dict[str, Any]
    config: dict[str, Any]

    def label(self) -> str:
        vals = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"point {self.index}" + (f" ({vals})" if vals else "") + f", replication {self.replication}"


# --------------------------------------------------------------------------- parsing


def is_spec(doc: dict[str, Any]) -> bool:
    """A file with top-level ``axes`` or ``base`` is a sweep spec, else a config."""
    return "axes" in doc or "base" in doc


def _int(source: str, key: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise InputError(source, key, f"expected an integer >= {lo} (got {v!r})")
    return v


def _num(source: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(source, key, f"expected a finite number (got {v!r})")
    return float(v)


def key_path(source: str, key: Any) -> str:
    if not isinstance(key, str) or not key.strip() or any(not p for p in key.strip().split(".")):
        raise InputError(source, "axes", f"expected a dotted key path like policy.name (got {key!r})")
    return key.strip()


def range_values(source: str, key: str, spec: Any) -> tuple[Any, ...]:
    """``[start, stop, step]``: start, start + step, ... up to but excluding stop."""
    where = f"axes.{key}.range"
    if not isinstance(spec, list) or len(spec) != 3:
        raise InputError(source, where, f"expected [start, stop, step] (got {spec!r})")
    start, stop, step = (_num(source, where, v) for v in spec)
    if step == 0:
        raise InputError(source, where, "step must not be 0")
    n = math.ceil((stop - start) / step - 1e-9)
    if n <= 0:
        raise InputError(source, where, f"range {spec!r} is empty")
    if n > 100_000:
        raise InputError(source, where, f"range {spec!r} has {n} values; at most 100000")
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
    return tuple(int(start) + i * int(step) if ints else round(start + i * step, 12) for i in range(n))


def check_dist(source: str, key: str, d: dict[str, Any]) -> dict[str, Any]:
    where = f"axes.{key}"
    name = d.get("dist")
    if name not in DIST_PARAMS:
        raise InputError(source, f"{where}.dist", f"expected one of {sorted(DIST_PARAMS)} (got {name!r})")
    allowed = {"dist", "round", *DIST_PARAMS[name]}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise InputError(source, f"{where}.{unknown[0]}", f"unknown key; {name} takes {sorted(allowed)}")
    missing = [p for p in DIST_PARAMS[name] if p not in d]
    if missing:
        raise InputError(source, f"{where}.{missing[0]}", f"required for dist {name}")
    if name == "choice":
        if not isinstance(d["values"], list) or not d["values"]:
            raise InputError(source, f"{where}.values", "expected a non-empty list")
        return dict(d)
    vals = {p: _num(source, f"{where}.{p}", d[p]) for p in DIST_PARAMS[name]}
    if name in ("uniform", "loguniform", "randint") and vals["low"] > vals["high"]:
        raise InputError(source, where, f"low must be <= high (got {vals['low']} > {vals['high']})")
    if name == "loguniform" and vals["low"] <= 0:
        raise InputError(source, f"{where}.low", "loguniform needs low > 0")
    if name == "normal" and vals["sd"] < 0:
        raise InputError(source, f"{where}.sd", "must be >= 0")
    if name == "randint" and not all(float(v).is_integer() for v in vals.values()):
        raise InputError(source, where, "randint needs integer low and high")
    if "round" in d:
        _int(source, f"{where}.round", d["round"], 0)
    return dict(d)


def parse_axis(source: str, key: Any, spec: Any, mode: Mode) -> Axis:
    key = key_path(source, key)
    if isinstance(spec, list):
        if not spec:
            raise InputError(source, f"axes.{key}", "expected at least one value")
        return Axis(key, values=tuple(spec))
    if isinstance(spec, dict) and set(spec) == {"range"}:
        return Axis(key, values=range_values(source, key, spec["range"]))
    if isinstance(spec, dict) and "dist" in spec:
        if mode != "random":
            raise InputError(source, f"axes.{key}", f"a dist axis needs mode: random (mode is {mode})")
        return Axis(key, dist=check_dist(source, key, spec))
    raise InputError(
        source, f"axes.{key}", f"expected a list of values, {{range: [start, stop, step]}} or {{dist: ...}} "
        f"(got {spec!r})",
    )  # fmt: skip


def parse_spec(doc: dict[str, Any], path: Path) -> SweepSpec:
    """Validate a spec document read from ``path``."""
    src = str(path)
    unknown = sorted(set(doc) - set(SPEC_KEYS))
    if unknown:
        raise InputError(src, unknown[0], f"unknown key; a sweep spec has {', '.join(SPEC_KEYS[:-1])}")
    base = doc.get("base")
    if not isinstance(base, str) or not base:
        raise InputError(src, "base", "required: the base config file, relative to the spec")
    mode = doc.get("mode", "grid")
    if mode not in MODES:
        raise InputError(src, "mode", f"expected one of {list(MODES)} (got {mode!r})")
    axes_doc = doc.get("axes") or {}
    if not isinstance(axes_doc, dict):
        raise InputError(src, "axes", "expected a mapping of key path -> values")
    sets = doc.get("set") or {}
    if not isinstance(sets, dict):
        raise InputError(src, "set", "expected a mapping of key path -> value")
    name = doc.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise InputError(src, "name", f"expected a non-empty string (got {name!r})")
    spec = SweepSpec(
        name=name,
        base=(path.parent / base).resolve(),
        source=src,
        axes=tuple(parse_axis(src, k, v, mode) for k, v in axes_doc.items()),
        sets={key_path(src, k): v for k, v in sets.items()},
        mode=mode,
        samples=None if doc.get("samples") is None else _int(src, "samples", doc["samples"], 1),
        replications=_int(src, "replications", doc.get("replications", 1), 1),
        seed=_int(src, "seed", doc.get("seed", 0), 0),
        seeds=_seeds_mode(src, doc.get("seeds", "independent")),
    )
    check_spec(spec)
    return spec


def _seeds_mode(src: str, value: Any) -> Literal["independent", "common"]:
    if value == "independent":
        return "independent"
    if value == "common":
        return "common"
    raise InputError(src, "seeds", f"expected independent or common (got {value!r})")


def check_spec(spec: SweepSpec) -> None:
    src = spec.source
    keys = [a.key for a in spec.axes]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise InputError(src, "axes", f"key path {dup[0]!r} appears twice")
    if spec.mode == "random" and spec.samples is None:
        raise InputError(src, "samples", "mode random needs samples: N")
    if spec.mode != "random" and spec.samples is not None:
        raise InputError(src, "samples", f"samples is for mode random (mode is {spec.mode})")
    if spec.mode != "random" and any(a.dist is not None for a in spec.axes):
        raise InputError(src, "axes", f"dist axes need mode random (mode is {spec.mode})")
    if spec.mode == "zip":
        lengths = {a.key: len(a.values or ()) for a in spec.axes}
        if len(set(lengths.values())) > 1:
            raise InputError(src, "axes", f"zipped axes need equal lengths (got {lengths})")
    if "seed" in keys and spec.replications > 1:
        raise InputError(src, "axes.seed", "seed is an axis: replications must be 1")


# --------------------------------------------------------------------------- expansion


def _draw(rng: np.random.Generator, d: dict[str, Any]) -> Any:
    name = d["dist"]
    if name == "choice":
        return copy.deepcopy(d["values"][int(rng.integers(len(d["values"])))])
    if name == "randint":
        return int(rng.integers(int(d["low"]), int(d["high"]), endpoint=True))
    if name == "uniform":
        x = float(rng.uniform(d["low"], d["high"]))
    elif name == "loguniform":
        x = float(math.exp(rng.uniform(math.log(d["low"]), math.log(d["high"]))))
    else:
        x = float(rng.normal(d["mean"], d["sd"]))
    if "round" in d:
        return round(x) if d["round"] == 0 else round(x, int(d["round"]))
    return x


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The axis values of every point, in sweep order (before replications)."""
    keys = [a.key for a in spec.axes]
    if spec.mode == "random":
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_RANDOM_STREAM,)))
        out = []
        for _ in range(spec.samples or 0):
            row = {}
            for a in spec.axes:
                dist = a.dist if a.dist is not None else {"dist": "choice", "values": list(a.values or ())}
                row[a.key] = _draw(rng, dist)
            out.append(row)
        return out
    columns = [list(a.values or ()) for a in spec.axes]
    combos = zip(*columns, strict=True) if spec.mode == "zip" and columns else itertools.product(*columns)
    return [dict(zip(keys, copy.deepcopy(list(c)), strict=True)) for c in combos]


def run_seed(sweep_seed: int, index: int, replication: int) -> int:
    """The config seed of one run: (sweep seed, point index, replication) -> [0, 2**63)."""
    ss = np.random.SeedSequence(sweep_seed, spawn_key=(index, replication))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def run_id_of(resolved: str) -> str:
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:12]


def base_document(spec: SweepSpec) -> dict[str, Any]:
    """The base config with the spec's ``set`` (and the command line's ``--set``) applied."""
    from sim.config_io import apply_set, read_yaml_mapping

    doc = read_yaml_mapping(spec.base)
    for key, value in spec.sets.items():
        apply_set(doc, key.split("."), copy.deepcopy(value), f"{spec.source}: set")
    output = doc.get("output")
    if isinstance(output, dict):
        # the sweep decides where runs go; keeping output.dir would only change the run ids
        output.pop("dir", None)
    return doc


def plan_runs(spec: SweepSpec, check: bool = True) -> list[RunTask]:
    """Every run of the sweep, validated (schema, ids, policy) before anything runs.

    An invalid combination raises InputError naming the axis values.
    """
    from sim.config_io import apply_set, resolved_yaml, validate_config

    base = base_document(spec)
    tasks: list[RunTask] = []
    seen: dict[str, RunTask] = {}
    for index, values in enumerate(points(spec)):
        for rep in range(spec.replications):
            doc = copy.deepcopy(base)
            seed_index = 0 if spec.seeds == "common" else index
            seed = int(values["seed"]) if "seed" in values else run_seed(spec.seed, seed_index, rep)
            probe = RunTask("", index, rep, seed, values, doc)
            where = f"{spec.source} [{probe.label()}]"
            for key, value in values.items():
                apply_set(doc, key.split("."), copy.deepcopy(value), where)
            doc["seed"] = seed
            cfg = _validated(lambda d=doc, w=where: validate_config(copy.deepcopy(d), w), where)
            if check and rep == 0:
                _check_scenario(cfg, where, spec.base)
            task = RunTask(run_id_of(resolved_yaml(cfg)), index, rep, seed, values, doc)
            if task.run_id in seen:
                raise InputError(
                    spec.source, "axes",
                    f"{seen[task.run_id].label()} and {task.label()} give the same config; remove one",
                )  # fmt: skip
            seen[task.run_id] = task
            tasks.append(task)
    return tasks


def _validated(fn: Any, where: str) -> Any:
    try:
        return fn()
    except InputError as exc:
        if exc.source.startswith(where):
            raise
        raise InputError(where, exc.key_path, exc.message) from None


def _check_scenario(cfg: Any, where: str, base: Path) -> None:
    """Cross references and the policy, as ``edwc validate`` checks them."""
    from sim.runner import check_config

    _validated(lambda: check_config(cfg, where, base_dir=base.parent), where)


def resolved_spec(spec: SweepSpec, tasks: list[RunTask]) -> dict[str, Any]:
    """The spec as resolved, with its runs: what ``sweep.yaml`` holds."""
    return {
        "name": spec.name,
        "base": str(spec.base),
        "set": dict(spec.sets),
        "axes": {a.key: a.as_yaml() for a in spec.axes},
        "mode": spec.mode,
        "samples": spec.samples,
        "replications": spec.replications,
        "seed": spec.seed,
        "seeds": spec.seeds,
        "runs": [
            {"run_id": t.run_id, "index": t.index, "replication": t.replication, "seed": t.seed,
             "values": copy.deepcopy(t.values)}
            for t in tasks
        ],
    }  # fmt: skip


def spec_yaml(spec: SweepSpec, tasks: list[RunTask]) -> str:
    return yaml.safe_dump(resolved_spec(spec, tasks), sort_keys=False, allow_unicode=True)
