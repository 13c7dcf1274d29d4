"""The house's architecture, checked on the source: the import graph of ``models/`` and ``sim/``.

The graph is built with :mod:`ast` from every ``import`` statement, including
those inside functions and under ``TYPE_CHECKING`` (an arrow is an arrow,
whenever it is followed). The test fails on any import cycle between modules,
on ``models`` importing ``sim``, and on any arrow between the parts of
``sim`` that the README's Development section does not draw.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "sim")

# The parts of sim/ (by module prefix) and the parts each may import. models is allowed
# everywhere in sim; every part may import itself. Keep in step with README "Development".
PARTS: dict[str, tuple[str, ...]] = {
    "runfolder": ("sim.runfolder",),
    "config": (
        "sim.config",
        "sim.config_base",
        "sim.config_expansion",
        "sim.config_io",
        "sim.config_policy",
        "sim.config_topology",
    ),
    "scenario": ("sim.scenario", "sim.site_energy", "sim.server_types", "sim.job_budget", "sim.new_sites"),
    "engine": ("sim.engine",),
    "policies": ("sim.policies",),
    "run": ("sim.runner", "sim.metrics", "sim.timeseries"),
    "sweep": ("sim.sweeps",),
    "expand": ("sim.expansion",),
    "report": ("sim.report",),
    "cli": ("sim.cli",),
    "api": ("sim", "sim.api"),
}
ALLOWED: dict[str, set[str]] = {
    "runfolder": set(),
    "config": set(),
    "scenario": {"config"},
    "engine": {"scenario", "config", "runfolder"},
    "policies": {"engine", "scenario", "config", "runfolder"},
    "run": {"engine", "policies", "scenario", "config", "runfolder"},
    "sweep": {"run", "config", "runfolder"},
    "expand": {"run", "scenario", "config", "runfolder"},
    "report": {"runfolder"},
    "cli": {"run", "sweep", "expand", "report", "scenario", "config", "runfolder"},
    "api": {"run", "sweep", "expand", "report", "config", "runfolder"},
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The project modules ``name`` imports, with the line of each import."""
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield _known(alias.name, modules), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in modules else _known(target, modules)), node.lineno


def _known(dotted: str, modules: dict[str, Path]) -> str:
    """The longest prefix of ``dotted`` that is a module of the project."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported project module: line}."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for target, line in _imports(name, path, modules):
            if target and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def _part(module: str) -> str | None:
    best: tuple[int, str | None] = (-1, None)
    for part, prefixes in PARTS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best[0]:
                best = (len(p), part)
    return best[1]


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, {})))))
    return None


def test_the_graph_sees_the_imports_it_should() -> None:
    # guards the parser itself: a graph that missed imports would pass everything
    g = import_graph()
    assert "sim.engine.policy" in g["sim.policies.base"]
    assert "sim.engine.kernel" in g["sim.runner"]
    assert "sim.api" in g["sim"]  # the lazy import inside sim.__getattr__
    assert "models.errors" in g["sim.runfolder.layout"]
    assert all(_part(m) is not None for m in g if m.startswith("sim")), [
        m for m in g if m.startswith("sim") and _part(m) is None
    ]


def test_find_cycle_finds_a_planted_cycle() -> None:
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1}}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_models_never_import_sim() -> None:
    bad = [
        f"{m} -> {t} (line {line})"
        for m, edges in import_graph().items()
        if m.startswith("models")
        for t, line in edges.items()
        if t.startswith("sim")
    ]
    assert not bad, "models/ must not import sim/: " + "; ".join(bad)


@pytest.mark.parametrize("part", sorted(PARTS))
def test_only_the_allowed_arrows_between_the_parts_of_sim(part: str) -> None:
    bad = []
    for m, edges in import_graph().items():
        if not m.startswith("sim") or _part(m) != part:
            continue
        for t, line in edges.items():
            if t.startswith("models"):
                continue
            tp = _part(t)
            if tp != part and tp not in ALLOWED[part]:
                bad.append(f"{m} -> {t} (line {line}): {part} -> {tp} is not an allowed arrow")
    assert not bad, "\n".join(bad)


def test_the_forbidden_arrows_of_design_md_are_forbidden_here() -> None:
    # DESIGN.md: never engine -> a concrete policy, report, cli; reports read run folders only
    for src, dst in [
        ("engine", "policies"),
        ("engine", "report"),
        ("engine", "cli"),
        ("report", "engine"),
        ("report", "run"),
        ("report", "policies"),
        ("report", "scenario"),
        ("runfolder", "engine"),
    ]:
        assert dst not in ALLOWED[src], (src, dst)
