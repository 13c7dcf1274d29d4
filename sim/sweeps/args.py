"""Sweeps from the command line: ``edwc sweep PATH --grid/--zip/--random ...`` -> a :class:`SweepSpec`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from models.errors import InputError
from sim.sweeps.spec import (
    DIST_PARAMS,
    Mode,
    SweepSpec,
    check_spec,
    is_spec,
    key_path,
    parse_axis,
    parse_spec,
)


def _cli_values(option: str, item: str) -> tuple[str, str]:
    if "=" not in item:
        raise InputError(option, item, "expected KEY.PATH=VALUES")
    key, _, text = item.partition("=")
    return key_path(option, key), text


def _yaml_scalar(option: str, key: str, text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise InputError(option, key, f"value {text!r} is not valid YAML: {exc}") from None


def cli_axis(option: str, item: str) -> tuple[str, Any]:
    """``--grid/--zip key=v1,v2`` -> (key, [v1, v2]); ``--random key=dist:p1,p2`` -> (key, {dist: ...}).

    Values are read as YAML scalars. Random forms: ``uniform:LOW,HIGH``,
    ``loguniform:LOW,HIGH``, ``normal:MEAN,SD``, ``randint:LOW,HIGH`` (both
    included), ``choice:A,B,...``.
    """
    key, text = _cli_values(option, item)
    if option != "--random":
        return key, [_yaml_scalar(option, key, v) for v in text.split(",")]
    name, sep, params = text.partition(":")
    name = name.strip()
    if not sep or name not in DIST_PARAMS:
        raise InputError(
            option, key, f"expected DIST:PARAMS with DIST one of {sorted(DIST_PARAMS)} (got {text!r})"
        )
    vals = [_yaml_scalar(option, key, v) for v in params.split(",")]
    if name == "choice":
        return key, {"dist": name, "values": vals}
    names = DIST_PARAMS[name]
    if len(vals) != len(names):
        raise InputError(
            option, key, f"{name} takes {len(names)} parameters ({', '.join(names)}), got {text!r}"
        )
    return key, {"dist": name, **dict(zip(names, vals, strict=True))}


def spec_from_cli(
    path: Path,
    doc: dict[str, Any],
    axes: dict[str, list[str]],
    sets: list[str],
    samples: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    common_seeds: bool = False,
) -> SweepSpec:
    """The sweep of ``edwc sweep PATH ...``; ``axes`` maps --grid/--zip/--random to their items.

    PATH is a spec (axes on the command line are added to its own, and must be
    of its mode) or a base config (the mode is that of the axis options).
    """
    from sim.config_io import parse_set

    kinds = [opt for opt, items in axes.items() if items]
    if len(kinds) > 1:
        raise InputError("edwc sweep", kinds[1], f"cannot mix {' and '.join(kinds)}; use one kind of axis")
    spec = (
        parse_spec(doc, path)
        if is_spec(doc)
        else SweepSpec(name=path.stem, base=path.resolve(), source=str(path))
    )
    if kinds and is_spec(doc) and spec.axes and kinds[0] != f"--{spec.mode}":
        raise InputError(kinds[0], "", f"{path} is a {spec.mode} sweep; add axes with --{spec.mode}")
    modes: dict[str, Mode] = {"--grid": "grid", "--zip": "zip", "--random": "random"}
    mode: Mode = modes[kinds[0]] if kinds else spec.mode
    extra = []
    for opt in kinds:
        for item in axes[opt]:
            key, raw = cli_axis(opt, item)
            extra.append(parse_axis(opt, key, raw, mode))
    merged_sets = dict(spec.sets)
    for item in sets:
        parts, value = parse_set(item)
        merged_sets[".".join(parts)] = value
    out = SweepSpec(
        name=spec.name,
        base=spec.base,
        source=spec.source if is_spec(doc) else "edwc sweep",
        axes=spec.axes + tuple(extra),
        sets=merged_sets,
        mode=mode,
        samples=samples if samples is not None else spec.samples,
        replications=replications if replications is not None else spec.replications,
        seed=seed if seed is not None else spec.seed,
        seeds="common" if common_seeds else spec.seeds,
    )
    if out.mode != "random" and samples is not None:
        raise InputError("--samples", "", "is for random sweeps (--random)")
    check_spec(out)
    return out
