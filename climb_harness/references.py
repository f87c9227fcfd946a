"""Reference scores for CLiMB's normalised metrics.

* random: the task manifest's ``random_baseline``.
* direct: the same encoder fine-tuned on the task alone from its initial weights (CLiMB's
  ``singletask_ft``), with its bootstrap interval. Computed by the harness when missing and cached
  so that a grid of algorithms and later runs share it.

The cache key must change whenever the score could: it hashes the encoder and task (name, options
with their defaults resolved, distribution version, the installed versions of what the distribution
requires (e.g. the packages that ship pretrained weights), a hash of the source files of the packages
that implement them, the task's data fingerprint), the training options, the protocol (selection and
report splits, interval settings), the seed, the harness version, a hash of the core's own source
files, and the versions of the libraries that compute the numbers (torch, transformers, adapters,
numpy). An upgrade of any of them recomputes the reference instead of reusing a stale score. Not in
the key: the contents of weight folders a user points an option at (their paths are), and non-Python
files of the packages. Any edit of the core's source, even of a report module, recomputes every
reference: safe, at the cost of one direct fine-tuning run per task.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from climb_harness.results import write_json


def cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured)
    from climb_harness.api import cache_dir as harness_cache

    return harness_cache()


#: Libraries whose version can change a score.
SCORE_LIBRARIES = ("torch", "transformers", "adapters", "numpy")


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in SCORE_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.lru_cache(maxsize=64)
def source_hash(folder: str) -> str:
    """SHA-256 over the ``.py`` files under ``folder`` (relative paths and contents, in a fixed order)."""
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def package_folder(module: str) -> str | None:
    """The folder of the top-level package that ``module`` belongs to (``None`` if it is not found)."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    return str(origin.parent if origin.name == "__init__.py" else origin)


def requirement_versions(distribution: str | None) -> dict[str, str | None]:
    """Installed versions of what ``distribution`` requires (e.g. the packages that ship its weights)."""
    if not distribution:
        return {}
    try:
        requires = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    versions: dict[str, str | None] = {}
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return dict(sorted(versions.items()))


def code_hash(factory: Any) -> str | None:
    """Hash of the source of the package implementing a component factory (``"module:attr"`` or callable)."""
    module = factory.partition(":")[0] if isinstance(factory, str) else getattr(factory, "__module__", None)
    folder = package_folder(module) if module else None
    if folder is None:
        return None
    return source_hash(folder) if Path(folder).is_dir() else hashlib.sha256(Path(folder).read_bytes()).hexdigest()[:16]


def core_identity() -> dict[str, Any]:
    """The harness's version, its source hash and the score libraries' versions."""
    from climb_harness._version import __version__

    return {"harness_version": __version__, "core_source": source_hash(str(Path(__file__).resolve().parent)),
            "libraries": library_versions()}


def direct_key(encoder: Mapping[str, Any], task: Mapping[str, Any], training: Mapping[str, Any], seed: int,
               protocol: Mapping[str, Any], core: Mapping[str, Any] | None = None) -> str:
    """A stable hash of everything the direct fine-tuning score depends on (see the module docstring).

    ``encoder`` and ``task`` describe the components (resolved options, version, code hash, data
    fingerprint); ``core`` defaults to :func:`core_identity`.
    """
    # how batches are loaded does not change a score (the loading paths give the same tensors: tested)
    loading = ("progress", "device", "preload", "eval_batch_size", "memory_budget_mb", "num_workers", "prefetch_factor")
    relevant = {k: v for k, v in training.items() if k not in loading}
    blob = json.dumps({"encoder": encoder, "task": task, "training": relevant, "seed": seed, "protocol": protocol,
                       "core": dict(core_identity() if core is None else core)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def direct_reference(key: str, task_name: str, cache: Path, compute: Callable[[Path], tuple[float, list[float]]],
                     describe: Mapping[str, Any]) -> tuple[float, list[float] | None, str]:
    """The cached direct score under ``key``, or ``compute(tmp_dir)`` stored there.

    Returns ``(score, interval, path)``; ``compute`` returns the score and its interval.
    """
    path = cache / "direct" / f"{task_name}-{key}.json"
    if path.is_file():
        try:
            entry = json.loads(path.read_text())
            interval = entry.get("interval")
            return float(entry["score"]), None if interval is None else [float(x) for x in interval], str(path)
        except (ValueError, KeyError, OSError, TypeError, AttributeError):
            pass  # a damaged cache entry is recomputed
    with tempfile.TemporaryDirectory(prefix="climb-direct-") as tmp:
        score, interval = compute(Path(tmp))
    write_json(path, {"score": score, "interval": interval, "task": task_name, "key": key, **describe},
               "free space (or make the cache folder writable) and rerun with --resume",
               "point references.cache_dir (or CLIMB_CACHE_DIR) at another folder")
    return score, interval, str(path)
