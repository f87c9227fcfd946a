"""Engineering options every algorithm shares (``training`` in a config), and the devices they name."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api.errors import ConfigError
from climb_harness.core.messages import clip

__all__ = ["TrainingOptions", "available_devices", "resolve_device"]


@dataclasses.dataclass
class TrainingOptions:
    """Engineering options shared by every algorithm (CLiMB's defaults where it had them)."""

    epochs: int | None = None  # None: the task manifest's default
    lr: float | None = None  # None: the task manifest's default
    batch_size: int | None = None  # None: the task manifest's default, else 32
    eval_batch_size: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    adam_betas: tuple[float, float] = (0.9, 0.98)
    adam_eps: float = 1e-8
    max_grad_norm: float | None = None
    max_steps_per_epoch: int | None = None
    preload: bool | str = "auto"  # true, false, or "auto": preload a split when it fits memory_budget_mb
    memory_budget_mb: float = 4096.0  # per split, for preload "auto"
    num_workers: int = 2  # DataLoader workers collating splits that are not preloaded (0: the main process)
    prefetch_factor: int = 2  # batches each worker prepares ahead
    skip_unreadable_images: bool = False  # leave out (and count) examples whose image cannot be read
    precision: str = "fp32"  # "bf16" / "fp16": autocast of the harness's forward passes (fp16 with a gradient scaler)
    compile: bool | str = False  # torch.compile the encoder in place: true / "default", "reduce-overhead", "max-autotune"
    device: str = "auto"
    progress: bool = True
    threads: int = 1  # torch intra-op threads of every process that trains (local, Ray cells, data parallel)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainingOptions:
        values = dict(values)
        if "adam_betas" in values:
            values["adam_betas"] = tuple(values["adam_betas"])
        return cls(**values)


def available_devices() -> list[str]:
    """The devices this torch can run on here, e.g. ``["cpu", "cuda:0"]``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def _unavailable(device: torch.device) -> str | None:
    """Why ``device`` cannot be used here (None when it can)."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            built = "was built without CUDA" if torch.version.cuda is None else "sees no CUDA device"
            return f"this torch ({torch.__version__}) {built}"
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            return f"only {count} CUDA device(s) are visible (cuda:0 to cuda:{count - 1})"
        return None
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return None
        return f"MPS is not available to this torch ({torch.__version__}; it needs Apple silicon)"
    backend = getattr(torch, device.type, None)
    probe = getattr(backend, "is_available", None) if device.type != "cpu" else None
    if callable(probe) and not probe():
        return f"this torch ({torch.__version__}) has no {device.type} device"
    return None


def resolve_device(name: str) -> torch.device:
    """``training.device`` as a torch device; one not available here is a ConfigError listing the others."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError) as exc:
        problem: str | None = f"torch does not know it ({clip(exc, 120)})"
    else:
        problem = _unavailable(device)
    if problem:
        raise ConfigError(
            f"training.device is {name!r}, but {problem}. Devices available here: "
            f"{', '.join(available_devices())}. Fix: --set training.device=auto (the first GPU, else the "
            f"CPU) or one of those devices."
        )
    return device
