"""What a run costs: seconds and examples of training and evaluation, and peak memory."""

from __future__ import annotations

import resource
import sys

import torch

__all__ = ["Clock", "memory_source", "peak_accelerator_mb", "peak_memory_mb", "peak_rss_mb"]


def memory_source(device: torch.device) -> str:
    return "torch.cuda.max_memory_allocated" if device.type == "cuda" else "process max RSS (getrusage)"


def peak_memory_mb(device: torch.device) -> float:
    """Peak accelerator memory on CUDA, else the process's peak RSS (MiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """The process's peak resident set size so far (MiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def peak_accelerator_mb(device: torch.device) -> float | None:
    """Peak memory allocated on the run's accelerator (MiB); None on the CPU or where torch cannot say."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    mps = getattr(torch, "mps", None)
    if device.type == "mps" and mps is not None and hasattr(mps, "driver_allocated_memory"):
        return mps.driver_allocated_memory() / 2**20
    return None


class Clock:
    """Seconds and examples of training and of evaluation, for throughput in results.json."""

    def __init__(self) -> None:
        self.train_seconds = self.eval_seconds = 0.0
        self.train_examples = self.eval_examples = 0

    def rates(self) -> dict[str, float | None]:
        def rate(n: int, t: float) -> float | None:
            return round(n / t, 2) if t > 0 else None
        return {"train_seconds": round(self.train_seconds, 3), "eval_seconds": round(self.eval_seconds, 3),
                "train_examples": self.train_examples, "eval_examples": self.eval_examples,
                "train_examples_per_second": rate(self.train_examples, self.train_seconds),
                "eval_examples_per_second": rate(self.eval_examples, self.eval_seconds)}
