"""Fixtures for the prompt-file tests: the real prompts folder and a scratch copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_prompts_dir() -> Path:
    return REPO_ROOT / "prompts"


@pytest.fixture
def prompt_dir(tmp_path: Path, real_prompts_dir: Path) -> Path:
    """A copy of the real prompts folder that a test may break as a manager would."""
    target = tmp_path / "prompts"
    shutil.copytree(real_prompts_dir, target)
    return target
