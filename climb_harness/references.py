"""Reference scores for CLiMB's normalised metrics.

* random: the task manifest's ``random_baseline``.
* direct: the same encoder fine-tuned on the task alone from its initial weights (CLiMB's
  ``singletask_ft``). Computed by the harness when missing and cached under a key of encoder
  (name, options, plugin version), task (name, options, data fingerprint), training options and
  seed, so a grid of algorithms and later runs share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from climb_harness.results import write_json


def cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured)
    if env := os.environ.get("CLIMB_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "climb-harness"


def direct_key(encoder: Mapping[str, Any], task: Mapping[str, Any], training: Mapping[str, Any], seed: int, eval_split: str) -> str:
    """A stable hash of everything the direct fine-tuning score depends on."""
    relevant = {k: v for k, v in training.items() if k not in ("progress", "device", "preload", "eval_batch_size")}
    blob = json.dumps({"encoder": encoder, "task": task, "training": relevant, "seed": seed, "eval_split": eval_split}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def direct_reference(key: str, task_name: str, cache: Path, compute: Callable[[Path], float], describe: Mapping[str, Any]) -> tuple[float, str]:
    """The cached direct score under ``key``, or ``compute(tmp_dir)`` stored there. Returns (score, path)."""
    path = cache / "direct" / f"{task_name}-{key}.json"
    if path.is_file():
        try:
            return float(json.loads(path.read_text())["score"]), str(path)
        except (ValueError, KeyError, OSError):
            pass  # a damaged cache entry is recomputed
    with tempfile.TemporaryDirectory(prefix="climb-direct-") as tmp:
        score = compute(Path(tmp))
    write_json(path, {"score": score, "task": task_name, "key": key, **describe})
    return score, str(path)
