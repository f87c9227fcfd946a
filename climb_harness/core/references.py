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
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from climb_harness.core.io import atomic_write_bytes, write_json

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


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

    return {"harness_version": __version__, "core_source": source_hash(str(Path(__file__).resolve().parent.parent)),
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


#: The direct reference's per-example statistics: ``(example indices, statistics)`` on the report split.
Statistics = tuple["np.ndarray", "np.ndarray"]


def _number(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ValueError(f"{str(value)[:40]!r} is not a number in [{low:g}, {high:g}]")
    return float(value)


def _read_entry(path: Path, key: str, task_name: str) -> tuple[float, list[float] | None]:
    """A cache entry's score and interval, validated (a damaged or foreign entry raises ValueError)."""
    from climb_harness.api.bounded_json import JsonLimits, load

    entry = load(path, limits=JsonLimits(max_bytes=1_000_000, max_depth=16))  # a JsonError is a ValueError
    if not isinstance(entry, dict):
        raise ValueError("the entry is not a JSON object")
    if entry.get("key") != key or entry.get("task") != task_name:
        raise ValueError("its 'key' or 'task' does not match its file name")
    score = _number(entry.get("score"), 0.0, 100.0)
    interval = entry.get("interval")
    if interval is None:
        return score, None
    if not isinstance(interval, list) or len(interval) != 2:
        raise ValueError("its 'interval' is not a [low, high] pair")
    low, high = (_number(x, 0.0, 100.0) for x in interval)
    if not low <= score <= high:
        raise ValueError(f"its interval [{low}, {high}] does not contain its score {score}")
    return score, [low, high]


def statistics_path(entry: Path | str) -> Path:
    """Where a cache entry keeps the reference's per-example statistics."""
    return Path(entry).with_suffix(".stats.safetensors")


def read_statistics(entry: Path | str) -> Statistics | None:
    """The per-example statistics beside a cache entry, validated; ``None`` when absent or invalid."""
    import numpy as np
    from safetensors import SafetensorError, safe_open

    path = statistics_path(entry)
    try:
        if path.stat().st_size > 2**31:
            return None
        with safe_open(str(path), framework="numpy") as handle:
            index, stats = handle.get_tensor("index"), handle.get_tensor("stats")
    except (OSError, SafetensorError, ValueError, TypeError, KeyError):
        return None
    valid = (index.dtype == np.int64 and index.ndim == 1 and len(index) > 0 and index[0] >= 0
             and bool(np.all(np.diff(index) > 0)) and stats.dtype == np.float64 and stats.ndim == 2
             and len(stats) == len(index) and bool(np.all(np.isfinite(stats))) and bool(np.all(stats >= 0)))
    return (index, stats) if valid else None


def direct_reference(key: str, task_name: str, cache: Path,
                     compute: Callable[[Path], tuple[float, list[float], Statistics | None]],
                     describe: Mapping[str, Any], warn: Callable[[str], None] | None = None,
                     ) -> tuple[float, list[float] | None, str, Statistics | None]:
    """The cached direct score under ``key``, or ``compute(tmp_dir)`` stored there.

    Returns ``(score, interval, path, statistics)``; ``compute`` returns the score, its interval and the
    per-example statistics (kept beside the entry). An entry that fails validation (a score outside
    [0, 100] or not finite, an interval that is not an ordered pair around the score, a key or task that
    does not match its file name, missing statistics) is recomputed, with a warning through ``warn``.
    """
    path = cache / "direct" / f"{task_name}-{key}.json"
    if path.is_file():
        try:
            score, interval = _read_entry(path, key, task_name)
            statistics = read_statistics(path)
            if statistics is None:
                raise ValueError(f"its per-example statistics ({statistics_path(path).name}) are missing or invalid")
            return score, interval, str(path), statistics
        except (ValueError, KeyError, OSError, TypeError, AttributeError) as exc:
            if warn is not None:
                warn(f"warning: the cached direct reference {path} cannot be used ({str(exc)[:200]}); recomputing it.")
    with tempfile.TemporaryDirectory(prefix="climb-direct-") as tmp:
        score, interval, statistics = compute(Path(tmp))
    fix, elsewhere = ("free space (or make the cache folder writable) and rerun with --resume",
                      "point references.cache_dir (or CLIMB_CACHE_DIR) at another folder")
    if statistics is not None:
        from safetensors.numpy import save

        index, stats = statistics
        atomic_write_bytes(statistics_path(path), save({"index": index, "stats": stats}), fix, elsewhere)
    write_json(path, {"score": score, "interval": interval, "task": task_name, "key": key, **describe}, fix, elsewhere)
    return score, interval, str(path), statistics
