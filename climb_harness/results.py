"""results.json: atomic writing, reading back, and the provenance every result carries."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness._version import __version__
from climb_harness.api import API_VERSION
from climb_harness.errors import RunError

RESULTS_FILE = "results.json"
SCHEMA_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader (or a killed process) sees the old file or the new
    one, never half of one: write a temporary file beside it, fsync, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def read_results(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} cannot be read as JSON ({exc}); it is left as it is. Move it away to start the run afresh.") from exc


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_revision() -> str | None:
    """The harness checkout's commit, when it is installed from one (editable install)."""
    root = Path(__file__).resolve().parent.parent
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


def validate_results(results: Mapping[str, Any]) -> list[str]:
    from climb_harness.schemas import validate

    return [str(v) for v in validate("results", dict(results))]
