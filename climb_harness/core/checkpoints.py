"""Per-task checkpoints without pickle: safetensors for tensors, JSON for everything else.

A checkpoint is ``task-<i>-<name>.safetensors`` (the model's weights, with metadata saying which run,
task and task list it belongs to, the tasks the encoder was adapted to (``encoder_adapted_to``, what
``Encoder.adapt_to_tasks`` received) and the shapes that adaptation changed (``encoder_shape_changes``,
e.g. ViLT's token-type table grown from 2 to 3 rows), so shape-changing set-up is reproduced from the
metadata (:func:`adapted_tasks`), not guessed from paths) and ``task-<i>-<name>.algorithm.safetensors``
(the algorithm's tensors, its other state as JSON in the metadata). Both are written atomically.

Loading never unpickles (safetensors and ``json`` only), so a hostile checkpoint cannot run code;
a file that is missing, corrupt or of the wrong form is a RunError naming that very file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from climb_harness.api import HeadSpec, TaskInfo
from climb_harness.api.bounded_json import loads
from climb_harness.api.errors import RunError
from climb_harness.core.io import atomic_write_bytes
from climb_harness.core.messages import clip, describe_exception


def task_info_json(info: TaskInfo) -> dict[str, Any]:
    """A TaskInfo as the JSON a checkpoint's metadata keep (see :func:`adapted_tasks`)."""
    return {"name": info.name, "modality": info.modality, "images_per_example": info.images_per_example,
            "head": {"type": info.head.type, "num_labels": info.head.num_labels}, "max_text_length": info.max_text_length}


def adapted_tasks(path: Path, metadata: Mapping[str, Any]) -> list[TaskInfo]:
    """The TaskInfos the checkpoint's encoder was adapted to: pass them to ``encoder.adapt_to_tasks`` (with
    any new task) before loading the weights. A checkpoint without the record is a RunError naming it."""
    entries = metadata.get("encoder_adapted_to")
    try:
        if not isinstance(entries, list):
            raise TypeError("missing")
        return [TaskInfo(str(e["name"]), e["modality"], int(e["images_per_example"]),
                         HeadSpec(e["head"]["type"], int(e["head"]["num_labels"])),
                         None if e.get("max_text_length") is None else int(e["max_text_length"])) for e in entries]
    except (TypeError, KeyError, ValueError) as exc:
        raise RunError(f"The model checkpoint {path} does not record the tasks its encoder was adapted to "
                       f"(metadata encoder_adapted_to: {type(exc).__name__} {clip(exc, 80)}); it was written by an older "
                       f"harness or altered. {retrain_fix(path)}") from None


def shape_changes(before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]) -> dict[str, list[Any]]:
    """``{tensor: [shape before, shape after]}`` for each tensor whose shape changed (``None``: absent)."""
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old = list(before[name].shape) if name in before else None
        new = list(after[name].shape) if name in after else None
        if old != new:
            changes[name] = [old, new]
    return changes


def retrain_fix(path: Path) -> str:
    """The fix for a checkpoint that cannot be used: retrain that run (its folder holds ``checkpoints/``)."""
    return (f"results.json was left untouched. Fix: delete the run folder {path.parent.parent} (or move it "
            f"away) and run again to retrain that run; other runs are kept.")


def checkpoint_path(run_dir: Path, index: int, task: str) -> Path:
    return run_dir / "checkpoints" / f"task-{index:02d}-{task}.safetensors"


def algorithm_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name.replace(".safetensors", ".algorithm.safetensors"))


def _tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors that share storage (tied weights)
    return {key: value.detach().to("cpu").contiguous().clone() for key, value in state.items()}


def save_checkpoint(path: Path, model_state: Mapping[str, torch.Tensor], metadata: Mapping[str, Any], algorithm_state: Mapping[str, Any]) -> None:
    tensors = {k: v for k, v in algorithm_state.items() if isinstance(v, torch.Tensor)}
    other = {k: v for k, v in algorithm_state.items() if not isinstance(v, torch.Tensor)}
    try:
        other_json = json.dumps(other)
    except (TypeError, ValueError) as exc:
        raise RunError(
            f"The algorithm's state_dict() holds a value that is neither a tensor nor JSON-serialisable "
            f"({clip(exc, 200)}); the algorithm must return a flat dict of tensors and JSON values."
        ) from exc
    # the algorithm file first: a model file on disk means the pair is complete
    atomic_write_bytes(algorithm_path(path), st_save(_tensors(tensors), metadata={"state": other_json}))
    atomic_write_bytes(path, st_save(_tensors(model_state), metadata={"climb": json.dumps(dict(metadata))}))


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(model state, metadata, algorithm state); a missing, corrupt or malformed file is a RunError naming it.

    Each of the two files is read and checked on its own, so the error names the file at fault."""
    model_state, metadata = _load_file(path, "climb", "model checkpoint")
    algorithm_tensors, other = _load_file(algorithm_path(path), "state", "algorithm-state checkpoint")
    clash = sorted(set(other) & set(algorithm_tensors))
    if clash:
        raise RunError(f"The algorithm-state checkpoint {algorithm_path(path)} holds {clip(clash[:3], 120)} "
                       f"both as tensors and as JSON state, which the harness never writes. "
                       f"{retrain_fix(path)}")
    return model_state, metadata, {**other, **algorithm_tensors}


def _load_file(path: Path, key: str, what: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors of one safetensors file and the JSON object stored under metadata ``key``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunError(
            f"The {what} {path} is missing, so the run cannot resume after that task. Nothing was changed. "
            f"Fix: delete the run folder {path.parent.parent} (or run again without --resume in a new "
            f"--output folder) to start that run over."
        ) from None
    except OSError as exc:
        reason = describe_exception(exc, 160)
        raise RunError(f"The {what} {path} cannot be read ({reason}). {retrain_fix(path)}") from None
    try:
        tensors = st_load(data)
        stored = _metadata(data).get(key, "{}")
        value = loads(stored, source=f"{path} metadata {key!r}")
    except (SafetensorError, ValueError, TypeError, AttributeError, RuntimeError) as exc:
        reason = describe_exception(exc, 200)
        raise RunError(f"The {what} {path} is corrupt or truncated ({reason}). {retrain_fix(path)}") from None
    if not isinstance(value, dict):
        raise RunError(f"The {what} {path} stores its {key!r} metadata as {type(value).__name__} "
                       f"({clip(stored, 80)}), not a JSON object: it was not written by this harness. "
                       f"{retrain_fix(path)}")
    return tensors, value


def _metadata(data: bytes) -> dict[str, str]:
    header_len = int.from_bytes(data[:8], "little")
    header = loads(data[8 : 8 + header_len], source="the safetensors header")
    metadata = header.get("__metadata__", {}) or {}
    if not isinstance(metadata, dict):
        raise TypeError(f"__metadata__ is {type(metadata).__name__}, not an object")
    return metadata


def check_metadata(path: Path, metadata: Mapping[str, Any], expected: Mapping[str, Any]) -> int:
    """The checkpoint's ``global_step``, after checking that its metadata describe ``expected``
    (task index, task, task list, seed): a checkpoint of another run or task does not match the model."""
    step = metadata.get("global_step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise RunError(f"The model checkpoint {path} has global_step {clip(repr(step), 60)} in its metadata, "
                       f"not a non-negative integer: the checkpoint does not match the model. "
                       f"{retrain_fix(path)}")
    for key, want in expected.items():
        if key in metadata and metadata[key] != want:
            raise RunError(f"The model checkpoint {path} belongs to another run: its metadata say {key} = "
                           f"{clip(repr(metadata[key]), 80)}, this run has {clip(repr(want), 80)}; the "
                           f"checkpoint does not match the model. {retrain_fix(path)}")
    return step
