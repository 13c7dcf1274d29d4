"""Loading configs: YAML files, ``--set`` overrides, validation errors as InputError.

Loading never raises anything but :class:`models.errors.InputError`, whose
message names the file, the key path, the bad value and what was expected.
Only ``yaml.safe_load`` is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from models.errors import InputError, format_loc
from sim.config import Config, InlineTopology


def parse_set(item: str) -> tuple[list[str], Any]:
    """Parse one ``--set key.path=value``; the value is read as YAML (``1`` -> int)."""
    if "=" not in item:
        raise InputError("--set", item, "expected KEY.PATH=VALUE")
    key, _, text = item.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p for p in parts):
        raise InputError("--set", item, "expected a dotted key path like policy.name")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise InputError("--set", key, f"value is not valid YAML: {exc}") from None
    return parts, value


def apply_set(doc: dict[str, Any], parts: list[str], value: Any, origin: str = "--set") -> None:
    """Set ``doc[parts[0]][parts[1]]... = value``; numeric parts index lists."""
    node: Any = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InputError(origin, where, f"expected a list index below {len(node)}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), dict | list):
                    node[part] = {}
                node = node[part]
        else:
            raise InputError(origin, where, "cannot set a key inside a scalar value")


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (``yaml.safe_load`` only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"cannot read file: {exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(str(path), "", f"not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict):
        raise InputError(str(path), "", f"expected a YAML mapping of config keys, got {type(doc).__name__}")
    return doc


def validate_config(doc: dict[str, Any], source: str) -> Config:
    """Validate a raw config mapping; raise InputError naming the first bad key."""
    try:
        return Config.model_validate(doc)
    except ValidationError as exc:
        raise _to_input_error(exc, source) from None


def _to_input_error(exc: ValidationError, source: str) -> InputError:
    errors = exc.errors(include_url=False)
    # A union such as `"national" | InlineTopology` reports one error per branch;
    # when the user wrote a mapping, the literal branch's complaint is noise.
    branchy = [e for e in errors if any(isinstance(p, str) and p.startswith("literal[") for p in e["loc"])]
    if len(branchy) < len(errors):
        errors = [e for e in errors if e not in branchy]
    first = errors[0]
    loc = _clean_loc(tuple(first["loc"]))
    bad = first.get("input")
    if first["type"] == "extra_forbidden":
        msg = f"unknown key '{loc.rsplit('.', 1)[-1]}'; allowed keys here: {_allowed_keys(first['loc'])}"
    elif first["type"] == "missing":
        msg = "required key is missing"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if not isinstance(bad, dict | list):
            msg += f" (got {bad!r})"
    more = f" [and {len(errors) - 1} more problem(s)]" if len(errors) > 1 else ""
    return InputError(source, loc, msg + more)


def _clean_loc(loc: tuple[int | str, ...]) -> str:
    # pydantic puts union-branch names in locations ("InlineTopology", "literal[...]"):
    drop = ("InlineTopology", "function-after[", "literal[")
    parts = tuple(p for p in loc if not (isinstance(p, str) and p.startswith(drop)))
    return format_loc(parts) or "(top level)"


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        if isinstance(part, str) and part.startswith("function-after["):
            continue
        if part == "InlineTopology":
            model = InlineTopology
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            # a dict key (cluster id etc.): the value type is the model
            continue
        model = _model_in(field.annotation)
    fields = getattr(model, "model_fields", None)
    return ", ".join(sorted(fields)) if fields else "(none)"


def _model_in(tp: Any) -> Any:
    """The pydantic model inside an annotation like ``list[X] | None``, else None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in getattr(tp, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    meta = getattr(tp, "__origin__", None)
    if meta is not None:
        return _model_in(meta)
    return None


def load_config(path: Path, sets: list[str] | None = None) -> Config:
    """Load, override (``--set``) and validate a config file."""
    doc = read_yaml_mapping(path)
    for item in sets or []:
        parts, value = parse_set(item)
        apply_set(doc, parts, value)
    source = str(path) + (" (with --set)" if sets else "")
    return validate_config(doc, source)


def resolved_yaml(cfg: Config) -> str:
    """The config as resolved (defaults filled in), as YAML text."""
    data = cfg.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
