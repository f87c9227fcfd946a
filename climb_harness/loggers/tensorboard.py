"""The ``tensorboard`` logger (needs the ``tensorboard`` package: ``pip install climb-harness[tensorboard]``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.api import Logger
from climb_harness.api.errors import ConfigError

#: Pixels per accuracy-matrix cell in the image TensorBoard shows.
CELL = 24


def matrix_image(matrix: list[list[float]], cell: int = CELL) -> Any:
    """The accuracy matrix as a ``(rows * cell, columns * cell)`` float image in [0, 1] (score / 100)."""
    import numpy as np

    values = np.asarray(matrix, dtype=np.float32) / 100.0
    return np.kron(np.clip(values, 0.0, 1.0), np.ones((cell, cell), dtype=np.float32))


class TensorBoardLogger(Logger):
    """Scalars and the accuracy matrix of a run as TensorBoard event files (see the manifest)."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.writer: Any = None
        self.epochs = 0

    def run_start(self, run: Mapping[str, Any]) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ConfigError(f"The tensorboard logger needs the tensorboard package ({exc}); "
                              "pip install climb-harness[tensorboard].") from None
        folder = Path(str(run["output_dir"])) / str(self.options.get("subfolder", "tensorboard"))
        self.writer = SummaryWriter(log_dir=str(folder))
        self.writer.add_text("run", f"{run['algorithm']} seed {run['seed']}: {' -> '.join(run['tasks'])}", 0)

    def epoch_end(self, run: Mapping[str, Any], task_index: int, task: str, epoch: int, logs: Mapping[str, float]) -> None:
        self.epochs += 1
        for key, tag in (("train_loss", "train/loss"), ("selection_score", "train/selection_score"),
                         ("train_examples_per_second", "train/examples_per_second")):
            if key in logs:
                self.writer.add_scalar(tag, float(logs[key]), self.epochs)

    def task_end(self, run: Mapping[str, Any], task_index: int, task: str, scores: Mapping[str, float]) -> None:
        for name, score in scores.items():
            self.writer.add_scalar(f"score/{name}", float(score), task_index + 1)

    def run_end(self, run: Mapping[str, Any], results: Mapping[str, Any]) -> None:
        matrix = [list(row) for row in results["accuracy_matrix"]]
        if matrix:
            self.writer.add_image("accuracy_matrix", matrix_image(matrix), 0, dataformats="HW")
            tasks = list(results["tasks"])
            table = "| after \\ task | " + " | ".join(tasks) + " |\n|" + " --- |" * (len(tasks) + 1) + "\n"
            table += "\n".join(f"| {tasks[i]} | " + " | ".join(f"{v:.2f}" for v in row) + " |" for i, row in enumerate(matrix))
            self.writer.add_text("accuracy_matrix", table, 0)
        for key, value in (results.get("metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(f"metrics/{key}", float(value), 0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
