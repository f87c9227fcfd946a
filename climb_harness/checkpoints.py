"""Per-task checkpoints without pickle: safetensors for tensors, JSON for everything else.

A checkpoint is ``task-<i>-<name>.safetensors`` (the model's weights, with metadata saying which run,
task and task list it belongs to, so shape-changing encoder set-up such as token-type growth is
reproduced from metadata, not guessed from paths) and ``task-<i>-<name>.algorithm.safetensors``
(the algorithm's tensors, its other state as JSON in the metadata). Both are written atomically.
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

from climb_harness.errors import RunError
from climb_harness.results import atomic_write_bytes


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
    except TypeError as exc:
        raise RunError(
            f"The algorithm's state_dict() holds a value that is neither a tensor nor JSON-serialisable ({exc}); "
            f"the algorithm must return a flat dict of tensors and JSON values."
        ) from exc
    # the algorithm file first: a model file on disk means the pair is complete
    atomic_write_bytes(algorithm_path(path), st_save(_tensors(tensors), metadata={"state": other_json}))
    atomic_write_bytes(path, st_save(_tensors(model_state), metadata={"climb": json.dumps(dict(metadata))}))


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(model state, metadata, algorithm state); a missing or corrupt file is a clear RunError."""
    try:
        model_bytes = path.read_bytes()
        algorithm_bytes = algorithm_path(path).read_bytes()
        model_state = st_load(model_bytes)
        algorithm_tensors = st_load(algorithm_bytes)
        metadata = json.loads(_metadata(model_bytes).get("climb", "{}"))
        other = json.loads(_metadata(algorithm_bytes).get("state", "{}"))
    except FileNotFoundError as exc:
        raise RunError(
            f"Checkpoint {exc.filename} is missing, so the run cannot resume after that task. Nothing was changed; "
            f"run again without --resume in a new --output folder to start over."
        ) from exc
    except (SafetensorError, ValueError, OSError, RuntimeError) as exc:
        raise RunError(
            f"Checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}). results.json was left untouched. "
            f"Delete that checkpoint and the rows after it cannot be recovered; run again without --resume in a new "
            f"--output folder to start over."
        ) from exc
    return model_state, metadata, {**other, **algorithm_tensors}


def _metadata(data: bytes) -> dict[str, str]:
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    return header.get("__metadata__", {}) or {}
