"""Fixtures of the eval stories: the environment `tactful eval` reads, case files, prompt sets.

The model is ``FakeOpenAI`` (in-process through respx), so `tactful eval`
runs its real pipeline, LLM client and playbook loading; only the answers
are canned.  Case files are written per test with ``write_case``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factories import PROMPTS_DIR
from tests.fakes.openai_api import BASE_URL


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Settings for the CLI: a scratch store, the repo's prompts, the fake model."""
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    monkeypatch.setenv("TACTFUL_DATABASE_URL", url)
    monkeypatch.setenv("TACTFUL_PROMPTS_DIR", str(PROMPTS_DIR))
    monkeypatch.setenv("OPENAI_BASE_URL", BASE_URL)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.chdir(tmp_path)
    return url


def write_case(directory: Path, case: dict[str, Any], name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name or case['id']}.yaml"
    path.write_text(yaml.safe_dump(case, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def copy_prompts(target: Path) -> Path:
    shutil.copytree(PROMPTS_DIR, target)
    return target


def parse_json(stdout: str) -> dict[str, Any]:
    """The JSON document; structlog's default logger may print a retry warning before it."""
    start = 0 if stdout.startswith("{") else stdout.index("\n{") + 1
    report: dict[str, Any] = json.loads(stdout[start:])
    return report
