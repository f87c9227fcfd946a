"""Building a run: the encoder (adapted to the tasks, loaded with upstream weights), the model, the splits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api.errors import RunError
from climb_harness.core.checkpoints import shape_changes, task_info_json
from climb_harness.core.confidence import group_codes
from climb_harness.core.data import BatchLoader, SplitData, load_split
from climb_harness.core.engine.context import Context
from climb_harness.core.engine.rng import seed_everything
from climb_harness.core.engine.state import RunState
from climb_harness.core.heads import ContinualModel
from climb_harness.core.messages import blame, describe_exception

__all__ = ["Building"]


class Building(RunState):
    """What :class:`climb_harness.core.engine.runner.Runner` builds before its first task."""

    # ------------------------------------------------------------------ set-up
    def _build(self) -> None:
        spec = self.spec
        torch.set_num_threads(self.training.threads)  # the float rounding depends on it: the same in every backend
        seed_everything(spec.seed)  # same initial weights for every algorithm under one seed
        encoder = blame("encoder", self._encoder_name(), spec.encoder_factory, "being built",
                        spec.encoder_factory, spec.sources.get("encoder"))
        own = [self.infos[n] for n in self.task_order]
        infos = list(spec.adapt_to) + [i for i in own if i.name not in {a.name for a in spec.adapt_to}]
        before = {k: v.detach() for k, v in encoder.state_dict().items()}
        self._encoder_call(encoder, "adapt_to_tasks()", lambda: encoder.adapt_to_tasks(infos))
        self.adaptation = {"encoder_adapted_to": [task_info_json(info) for info in infos],
                           "encoder_shape_changes": {f"encoder.{k}": v for k, v in shape_changes(before, encoder.state_dict()).items()}}
        self.ignored_encoder_tensors: list[str] = []
        if spec.encoder_state is not None:
            self._load_encoder_state(encoder, spec.encoder_state)
        self.encoder = encoder
        model = self._encoder_call(encoder, "building the model (heads over its hidden_size)",
                                   lambda: ContinualModel(encoder, self.infos, spec.sources.get("encoder")))
        self.model = model.to(self.device)
        if self.training.compile:  # in place (nn.Module.compile): parameter names and checkpoints are unchanged
            mode = "default" if self.training.compile is True else str(self.training.compile)
            self.model.encoder.compile(mode=mode)
        self.splits = {role: self._load_splits(split) for role, split in
                       (("train", "train"), ("selection", spec.selection_split), ("report", spec.report_split))}
        self.train_data = self.splits["train"]
        self.groups = {name: group_codes([getattr(example, "group", None) for example in data.examples])
                       for name, data in self.splits["report"].items()}
        self.loader = BatchLoader({f"{role}/{task}": data for role, by_task in self.splits.items() for task, data in by_task.items()},
                                  self.training.num_workers, pin_memory=self.device.type == "cuda",
                                  prefetch_factor=self.training.prefetch_factor)
        self.batch_sizes = {t.name: self.training.batch_size or int(t.manifest.get("defaults", {}).get("batch_size", 32)) for t in spec.tasks}
        self.ctx = Context(self.model, self.device, spec.seed, self.task_order, self.infos, self.train_data, self.training, self.batch_sizes)
        self.run_info = {"output_dir": str(spec.output_dir), "algorithm": spec.label or spec.algorithm.name, "seed": spec.seed, "tasks": self.task_order, "config": spec.config}

    def _load_encoder_state(self, encoder: Any, state: Mapping[str, torch.Tensor]) -> None:
        """Load an upstream checkpoint's encoder weights; tensors the fresh encoder lacks (an algorithm's
        additions, e.g. adapters) are left out and listed in :attr:`ignored_encoder_tensors`."""
        try:
            missing, unexpected = encoder.load_state_dict(dict(state), strict=False)
        except RuntimeError as exc:  # a size mismatch
            raise RunError(f"The upstream encoder weights do not fit the encoder ({describe_exception(exc, 300)}); "
                           "build it with the options and tasks of the run that wrote the checkpoint.") from None
        if missing:
            raise RunError(f"The upstream checkpoint lacks {len(missing)} of the encoder's tensors (e.g. "
                           f"{', '.join(sorted(missing)[:3])}); it was written by another encoder or its options changed.")
        self.ignored_encoder_tensors = sorted(unexpected)

    def _encoder_name(self) -> str:
        configured = self.spec.config.get("encoder")
        if isinstance(configured, Mapping):
            return str(configured.get("name", "?"))
        return "(from RunSpec.encoder_factory)"

    def _load_splits(self, split: str) -> dict[str, SplitData]:
        preload, sources, budget = self.training.preload, self.spec.sources, self.training.memory_budget_mb
        skip, cache = self.training.skip_unreadable_images, self.spec.split_cache
        loaded = {}
        for t in self.spec.tasks:
            identity = getattr(t, "split_identity", None)
            key = (identity(split) if identity else (id(t), split), preload, budget, skip)
            if cache is None or key not in cache:
                data = load_split(t, split, self.encoder, preload, sources.get(f"task:{t.name}"), budget, skip)
                if cache is None:
                    loaded[t.name] = data
                    continue
                cache[key] = data
            loaded[t.name] = cache[key]
        return loaded
