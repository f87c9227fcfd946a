"""The provenance every result carries: versions, the checkout's revision, where a component's code comes from."""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness._version import __version__
from climb_harness.api import API_VERSION

__all__ = ["component_source", "git_revision", "now", "provenance"]


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _distributions_of_packages() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def component_source(obj: object) -> str | None:
    """``"<distribution> <version>"`` that installed the code of ``obj``, else ``"module <name>"``."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    if not isinstance(module, str) or module == "builtins":
        return None
    dists = _distributions_of_packages().get(module.split(".")[0]) or []
    return f"{dists[0]} {_version_of(dists[0]) or '?'}" if dists else f"module {module}, distribution unknown"


def git_revision() -> str | None:
    """The harness checkout's commit, when it is installed from one (editable install)."""
    root = Path(__file__).resolve().parents[2]  # climb_harness/core/results.py -> the checkout
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(plugins: list[dict[str, str]], seed: int, device: str) -> dict[str, Any]:
    return {
        "harness_version": __version__,
        "api_version": API_VERSION,
        "plugins": plugins,
        "git_revision": git_revision(),
        "seed": seed,
        "device": device,
        "python": sys.version.split()[0],
        "torch": _version_of("torch"),
        "transformers": _version_of("transformers"),
        "platform": platform.platform(),
        "started_at": now(),
        "finished_at": None,
    }
