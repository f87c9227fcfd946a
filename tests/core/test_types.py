"""mypy with the real dependencies: the contract (``climb_harness.api``) passes ``--strict``, the kernel
(``climb_harness.core``) the default checks. Both are what plugins and the engine rely on; a type error there is
a broken promise, so CI runs this (it takes about a minute: the slow marker keeps it out of the quick loop)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import climb_harness

PACKAGE = Path(climb_harness.__file__).parent
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (the test extra)")]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--config-file",
                           str(PACKAGE.parent / "pyproject.toml"), *args], capture_output=True, text=True, timeout=900,
                          cwd=PACKAGE.parent)


def test_the_contract_passes_mypy_strict() -> None:
    done = _mypy("--strict", str(PACKAGE / "api"))
    assert done.returncode == 0, done.stdout[-4000:]


def test_the_kernel_passes_mypy() -> None:
    done = _mypy(str(PACKAGE / "api"), str(PACKAGE / "core"))
    assert done.returncode == 0, done.stdout[-4000:]
