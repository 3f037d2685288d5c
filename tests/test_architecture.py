"""The layout the design promises, checked: the domain knows nothing of Slack or OpenAI,
and no two top-level packages of ``app`` import each other, however indirectly."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

FORBIDDEN = {
    "domain": (
        "slack_bolt",
        "slack_sdk",
        "openai",
        "app.slack",
        "app.llm",
        "app.store",
        "app.playbook",
    ),
    "playbook": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm", "app.store"),
    "store": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm"),
    "llm": ("slack_bolt", "slack_sdk", "app.slack", "app.store"),
    # The use cases see Slack only through SlackPort, and the LLM only through the pipelines.
    "usecases": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm", "app.cli"),
}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_stays_free_of_outside_types(package: str) -> None:
    offenders = []
    for path in sorted((APP / package).rglob("*.py")):
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(APP.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_only_the_llm_package_talks_to_openai() -> None:
    users = sorted(
        str(p.relative_to(APP.parent))
        for p in APP.rglob("*.py")
        if any(n == "openai" or n.startswith("openai.") for n in imports_of(p))
    )
    assert users and all(u.startswith("app/llm/") for u in users), users


def test_only_the_slack_package_talks_to_slack() -> None:
    users = sorted(
        str(p.relative_to(APP.parent))
        for p in APP.rglob("*.py")
        if any(n.startswith(("slack_bolt", "slack_sdk")) for n in imports_of(p))
    )
    assert users and all(u.startswith("app/slack/") for u in users), users


@pytest.mark.parametrize("module", ["app.llm", "app.store", "app.playbook", "app.usecases"])
def test_public_names_are_declared_and_importable(module: str) -> None:
    package = importlib.import_module(module)
    assert package.__all__, f"{module} declares its public names"
    for name in package.__all__:
        assert hasattr(package, name), f"{module}.__all__ lists {name} but it is missing"


def test_modules_stay_small() -> None:
    too_long = [
        f"{p.relative_to(APP.parent)}: {n} lines"
        for p in APP.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    ]
    assert not too_long, too_long


def top_level_of(name: str) -> str | None:
    """``app.domain.offers`` -> ``app.domain``; None for anything outside ``app``."""
    parts = name.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app import metrics` imports the module app.metrics.
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def package_graph() -> dict[str, dict[str, str]]:
    """Top-level package -> {package it imports: one file and import showing it}."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(APP.rglob("*.py")):
        source = top_level_of(module_name(path))
        if source is None:
            continue
        edges = graph.setdefault(source, {})
        for name in sorted(imported_modules(path)):
            target = top_level_of(name)
            if target is None or target == source or not _exists(target):
                continue
            edges.setdefault(target, f"{path.relative_to(APP.parent)} imports {name}")
    return graph


def _exists(top_level: str) -> bool:
    # `from app import __version__` names no module; only real ones count.
    relative = top_level.replace(".", "/")
    return (APP.parent / relative).is_dir() or (APP.parent / f"{relative}.py").is_file()


def cycles_in(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One shortest cycle through each group of packages that reach each other."""
    cycles: list[list[str]] = []
    covered: set[str] = set()
    for start in sorted(graph):
        if start in covered:
            continue
        # Breadth-first from start: the first path back to start is a shortest cycle.
        paths = [[start, nxt] for nxt in sorted(graph.get(start, {}))]
        seen = {start}
        while paths:
            path = paths.pop(0)
            if path[-1] == start:
                cycles.append(path)
                covered.update(path)
                break
            if path[-1] in seen:
                continue
            seen.add(path[-1])
            paths.extend([*path, nxt] for nxt in sorted(graph.get(path[-1], {})))
    return cycles


def test_the_cycle_finder_names_a_cycle_and_ignores_a_chain() -> None:
    graph = {
        "app.a": {"app.b": "a imports b"},
        "app.b": {"app.c": "b imports c"},
        "app.c": {"app.a": "c imports a", "app.d": "c imports d"},
        "app.d": {},
    }

    assert cycles_in(graph) == [["app.a", "app.b", "app.c", "app.a"]]
    assert cycles_in({"app.a": {"app.b": ""}, "app.b": {}}) == []


def test_the_import_graph_sees_lazy_and_relative_imports() -> None:
    graph = package_graph()

    assert "app.playbook" in graph["app.cli"]  # imported inside a command function
    assert "app.domain" in graph["app.playbook"]
    assert "app.playbook" not in graph["app.domain"]


def test_no_import_cycles_between_the_top_level_packages_of_app() -> None:
    graph = package_graph()

    cycles = [
        " -> ".join(cycle)
        + "\n"
        + "\n".join(f"    {graph[a][b]}" for a, b in zip(cycle, cycle[1:], strict=False))
        for cycle in cycles_in(graph)
    ]
    assert not cycles, "import cycles between packages of app/:\n" + "\n".join(cycles)
