"""Experiment fingerprints: which runs are seeds of one experiment, and which are different experiments.

Two runs may be averaged as seeds only if everything that determines their numbers, apart from the
seed, is the same. results.json's ``experiment`` records that in two parts:

* ``settings`` (hashed into ``fingerprint``): the tasks in order with their options (defaults filled
  in) and plugin versions, the encoder likewise, the training settings that change what is learned,
  the protocol (selection and report splits, interval settings), whether direct references are used,
  and the harness version;
* ``method`` (hashed into ``method_fingerprint``): the algorithm, its label, its resolved options and
  its plugin version.

Execution details that do not change the experiment's design are left out (the device, loading
settings, progress bars, the number of threads and processes: they are recorded in the provenance,
since they can change float rounding, but runs that differ only in them are the same experiment).
``climb report`` groups runs by ``fingerprint``, then by (label, ``method_fingerprint``), and pairs
methods only within one ``fingerprint``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["EXECUTION_SETTINGS", "digest", "legacy_record", "record", "training_settings"]

#: Training keys that say how a run executes, not what it learns (left out of the fingerprint).
EXECUTION_SETTINGS = ("progress", "device", "preload", "eval_batch_size", "memory_budget_mb", "num_workers",
                      "prefetch_factor", "threads")


def digest(obj: Any) -> str:
    """A 16-hex-digit SHA-256 of ``obj`` as canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def training_settings(training: Mapping[str, Any]) -> dict[str, Any]:
    """The training settings that belong to the experiment (:data:`EXECUTION_SETTINGS` left out)."""
    return {k: v for k, v in training.items() if k not in EXECUTION_SETTINGS}


def record(name: str, settings: Mapping[str, Any], method: Mapping[str, Any]) -> dict[str, Any]:
    """results.json's ``experiment`` object."""
    return {"name": name, "fingerprint": digest(settings), "method_fingerprint": digest(method),
            "settings": dict(settings), "method": dict(method)}


def legacy_record(results: Mapping[str, Any]) -> dict[str, Any]:
    """An ``experiment`` object for a results file written before fingerprints, from what it does record:
    its config (options as given, not resolved) and its provenance's versions."""
    config: Mapping[str, Any] = results["config"] if isinstance(results.get("config"), Mapping) else {}
    provenance: Mapping[str, Any] = results["provenance"] if isinstance(results.get("provenance"), Mapping) else {}
    versions = {str(p.get("distribution")): p.get("version") for p in provenance.get("plugins", [])
                if isinstance(p, Mapping)}
    settings = {
        "tasks": config.get("tasks"), "encoder": config.get("encoder"),
        "training": training_settings(config.get("training") or {}), "protocol": config.get("protocol")
        or {"selection_split": results.get("eval_split"), "report_split": results.get("eval_split")},
        "references": {"direct": (config.get("references") or {}).get("direct")},
        "harness_version": provenance.get("harness_version"), "plugin_versions": dict(sorted(versions.items())),
        "tasks_in_order": results.get("tasks"),
    }
    algorithm: Mapping[str, Any] = config["algorithm"] if isinstance(config.get("algorithm"), Mapping) else {}
    method = {"name": algorithm.get("name", results.get("algorithm")), "label": results.get("algorithm"),
              "options": results.get("algorithm_options", algorithm.get("options"))}
    return {**record(str(config.get("name", "unnamed")), settings, method), "derived": True}
