"""The ``wandb`` logger, offline (needs the ``wandb`` package: ``pip install climb-harness[wandb]``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.api import Logger
from climb_harness.api.errors import ConfigError


class WandbLogger(Logger):
    """One offline W&B run per climb run (see the manifest); nothing is sent over the network."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.run: Any = None
        self.epochs = 0

    def run_start(self, run: Mapping[str, Any]) -> None:
        try:
            import wandb
        except ImportError as exc:
            raise ConfigError(f"The wandb logger needs the wandb package ({exc}); pip install climb-harness[wandb].") from None
        os.environ["WANDB_MODE"] = "offline"  # never the network, whatever the user's settings say
        folder = Path(str(run["output_dir"]))
        config = run.get("config") or {}
        self.run = wandb.init(
            mode="offline", dir=str(folder), project=str(self.options.get("project", "climb-harness")),
            group=self.options.get("group") or str(config.get("name", "")) or None,
            name=f"{run['algorithm']}-seed-{run['seed']}", config=_plain(config), reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
        )

    def epoch_end(self, run: Mapping[str, Any], task_index: int, task: str, epoch: int, logs: Mapping[str, float]) -> None:
        self.epochs += 1
        self.run.log({"task_index": task_index, **{f"train/{k}": float(v) for k, v in logs.items()}}, step=self.epochs)

    def task_end(self, run: Mapping[str, Any], task_index: int, task: str, scores: Mapping[str, float]) -> None:
        self.run.log({f"score/{name}": float(score) for name, score in scores.items()}, step=self.epochs)

    def run_end(self, run: Mapping[str, Any], results: Mapping[str, Any]) -> None:
        import wandb

        tasks = list(results["tasks"])
        table = wandb.Table(columns=["after", *tasks], data=[[tasks[i], *row] for i, row in enumerate(results["accuracy_matrix"])])
        metrics = {f"metrics/{k}": v for k, v in (results.get("metrics") or {}).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.run.log({"accuracy_matrix": table, **metrics}, step=self.epochs)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


def _plain(value: Any) -> Any:
    """A read-only view (the runner's) as plain dicts and lists for wandb's config."""
    from climb_harness.core.engine import plain

    return plain(value)
