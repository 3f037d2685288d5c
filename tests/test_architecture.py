"""The layout the design promises, checked: the domain knows nothing of Slack or OpenAI."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

FORBIDDEN = {
    "domain": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm", "app.store"),
    "prompting": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm", "app.store"),
    "store": ("slack_bolt", "slack_sdk", "openai", "app.slack", "app.llm"),
    "llm": ("slack_bolt", "slack_sdk", "app.slack", "app.store"),
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


@pytest.mark.parametrize("module", ["app.llm", "app.store", "app.prompting"])
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
