"""Phase I: the engineering loop of upstream continual learning.

Learns the tasks in order, calls the algorithm's hooks (research code lives only there), keeps the
best epoch on the validation split, evaluates *every* task after each task (future ones too, so the
accuracy matrix is full), and writes a checkpoint and results.json after each task so that
``--resume`` continues after the last completed task with the same final numbers.

**Best or last weights?** The next task starts from the *best-epoch* weights of the previous task,
the same weights that are checkpointed, evaluated and used for forgetting. (The original CLiMB
continued from the last epoch but reported the best one; here every number describes the model that
is actually carried forward.)

**Selection and report splits.** The epoch is chosen on the selection split (``val``); every
reported number (the accuracy matrix, its confidence intervals and every metric) comes from the
report split (``test``), so no reported score is the maximum over epochs of the examples it is
read on.

**Randomness.** Python, NumPy and torch are seeded from ``(seed, task index)`` at every task start.
Evaluation runs on forked RNG states (torch via ``torch.random.fork_rng``, Python and NumPy saved
and restored), seeded inside (ViLT samples image-patch order from the global RNG even in eval
mode): how often a run evaluates never changes the random numbers its training draws, and a
resumed run replays exactly what an uninterrupted one does.

**Failures.** An exception from an algorithm hook, the encoder or a task's data is a PluginError
naming the component, its distribution and the call; a full disk or a checkpoint that does not fit
is a RunError. Either way the tasks completed so far stay checkpointed and resumable.

**Observers** (the lifecycle hooks of ``RunSpec.hooks``) get read-only deep copies of ``run``,
``logs``, ``scores`` and ``results`` (mappings as ``MappingProxyType``, lists as tuples; :func:`plain`
turns one back into plain dicts and lists), so they cannot change what results.json records. With a
pluggy relay (plugins), each implementation is called on its own: one that raises, even
``SystemExit``, is warned about (once per plugin and hook, then counted) and the run goes on. Only
``KeyboardInterrupt`` propagates: a user's Ctrl-C, or :class:`AbortRun` (a subclass) that an observer
raises to stop the run on purpose, as a crash would. A ``RunSpec.hooks`` that is not a pluggy relay
is the caller's own in-process object (e.g. :class:`climb_harness.testing.runs.StopAfterTask`): it
also gets read-only views, but its exceptions propagate, as any caller code's do.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import json
import math
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from climb_harness import parallel
from climb_harness.api import Algorithm, OptimizerConfig, Task, TaskInfo
from climb_harness.confidence import DEFAULT_LEVEL, DEFAULT_RESAMPLES, INTERVAL_METHOD, group_codes, score_interval, task_stream
from climb_harness.checkpoints import (
    algorithm_path,
    check_metadata,
    checkpoint_path,
    load_checkpoint,
    retrain_fix,
    save_checkpoint,
    shape_changes,
    task_info_json,
)
from climb_harness.data import BatchLoader, SplitData, load_split
from climb_harness.errors import ClimbError, ConfigError, RunError
from climb_harness.events import EventLog
from climb_harness.example_scores import SCORES_FILE, ScoresError, ScoresRecorder, read_run_scores
from climb_harness.heads import ContinualModel, ScoreAccumulator, statistic_kind
from climb_harness.uncertainty import run_intervals
from climb_harness.results import (
    RESULTS_FILE,
    atomic_write_bytes,
    blame,
    clip,
    component_source,
    describe_exception,
    is_out_of_memory,
    now,
    out_of_memory,
    provenance,
    read_results,
    schema_version_of,
    remove_orphan_temps,
    write_json,
    write_results,
)

#: The files a run folder's atomic writes target: the only temporary files ``--resume`` removes.
RUN_FILES = (RESULTS_FILE, "config.json", "task-*.safetensors", SCORES_FILE)


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


class AbortRun(KeyboardInterrupt):
    """Raised by a lifecycle observer to stop the run on purpose, as a crash or Ctrl-C would.

    The one exception (with KeyboardInterrupt itself) the runner lets out of an observer; the tasks
    completed before it stay checkpointed and resumable."""


def read_only(value: Any) -> Any:
    """A deep read-only copy: mappings as ``MappingProxyType``, lists and tuples as tuples, sets frozen."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: read_only(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(read_only(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(read_only(item) for item in value)
    return copy.deepcopy(value)


def plain(view: Any) -> Any:
    """What an observer may keep or serialise: a :func:`read_only` view as plain (mutable) dicts and lists."""
    if isinstance(view, Mapping):
        return {key: plain(item) for key, item in view.items()}
    if isinstance(view, (list, tuple)):
        return [plain(item) for item in view]
    return copy.deepcopy(view)


class Observers:
    """Calls the lifecycle hooks so that no observer can stop or change a run (see the module docstring)."""

    def __init__(self, hooks: Any, echo: Callable[[str], None],
                 plugins: Sequence[Mapping[str, Any]] = (), loggers: Sequence[Any] = ()) -> None:
        self.hooks = hooks
        self.loggers = list(loggers)
        self.echo = echo
        self.failures: dict[tuple[str, str], int] = {}
        self._sources = {str(p.get("plugin")): f"{p.get('distribution')} {p.get('version')}" for p in plugins}

    def emit(self, hook: str, **kwargs: Any) -> None:
        caller = getattr(self.hooks, hook, None) if self.hooks is not None else None
        if caller is None and not self.loggers:
            return
        views = {key: read_only(value) for key, value in kwargs.items()}
        for logger in self.loggers:  # climb_epoch_end -> logger.epoch_end(...)
            self._call_logger(hook, logger, hook.removeprefix("climb_"), views)
        if caller is None:
            return
        impls = getattr(caller, "get_hookimpls", None)
        if impls is None:  # the caller's own hooks object, not plugins: its exceptions are the caller's
            caller(**views)
            return
        for impl in reversed(impls()):  # pluggy's own call order
            self._call(hook, impl, views)

    def _call(self, hook: str, impl: Any, views: Mapping[str, Any]) -> None:
        try:
            result = impl.function(**{key: value for key, value in views.items() if key in impl.argnames})
            if inspect.isgenerator(result):  # a hook wrapper: there is no inner result to wrap
                _drive_wrapper(result, bool(getattr(impl, "hookwrapper", False)))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - an observer must not end a run, not even by SystemExit
            self._failed(hook, str(impl.plugin_name), exc)

    def _call_logger(self, hook: str, logger: Any, method: str, views: Mapping[str, Any]) -> None:
        function = getattr(logger, method, None)
        if function is None:
            return
        name = f"logger {getattr(logger, 'manifest', {}).get('name', type(logger).__name__)}"
        try:
            accepted = inspect.signature(function).parameters
            function(**{key: value for key, value in views.items() if key in accepted})
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a logger must not end a run
            self._failed(hook, name, exc)

    def close_loggers(self) -> None:
        """``close()`` every logger (a failure is warned about, like any other)."""
        for logger in self.loggers:
            self._call_logger("close", logger, "close", {})

    def _failed(self, hook: str, plugin: str, exc: BaseException) -> None:
        key = (plugin, hook)
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] == 1:
            source = self._sources.get(plugin)
            self.echo(
                f"warning: observer plugin {plugin!r}{f' ({source})' if source else ''} raised "
                f"{describe_exception(exc, 300)} in hook {hook}; it was ignored and the run goes on "
                f"(observers may not stop or change a run; later failures of this plugin in {hook} are only "
                f"counted). Fix or uninstall the plugin."
            )

    def report(self) -> None:
        """One line per plugin and hook that failed more than once."""
        for (plugin, hook), count in self.failures.items():
            if count > 1:
                self.echo(f"warning: observer plugin {plugin!r} failed {count} times in hook {hook}.")


def _drive_wrapper(generator: Any, old_style: bool) -> None:
    from pluggy import Result

    next(generator)
    try:
        generator.send(Result(None, None) if old_style else None)
    except StopIteration:
        return
    raise RuntimeError("the hook wrapper yielded more than once")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _not_a_tensor(loss: Any) -> Callable[[], None]:
    def fail() -> None:
        raise TypeError(f"it returned {type(loss).__name__} {clip(repr(loss), 60)}, not a torch.Tensor")

    return fail


def seed_everything(seed: int, *stream: int) -> None:
    """Seed Python, NumPy and torch from ``seed`` and a stream id (e.g. the task index)."""
    derived = int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)


_EVAL_STREAM = 999_983  # seeds the RNG inside evaluation
#: results.json's schema version: 1.2 added per-example scores (scores.safetensors), metrics_ci and experiment.
RESULTS_SCHEMA = "1.2"


@contextlib.contextmanager
def isolated_rng(device: torch.device) -> Iterator[None]:
    """Run a block on copies of the Python, NumPy and torch RNG states, restored afterwards."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    accelerator = device.type if device.type in ("cuda", "mps", "xpu") else "cuda"
    devices = [device.index or 0] if device.type == accelerator else []
    try:
        with torch.random.fork_rng(devices=devices, device_type=accelerator):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _memory_source(device: torch.device) -> str:
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


class _Clock:
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


class Context:
    """The :class:`climb_harness.api.TrainingContext` the runner hands to algorithm hooks."""

    def __init__(self, model: ContinualModel, device: torch.device, seed: int, task_order: list[str],
                 tasks: Mapping[str, TaskInfo], train: Mapping[str, SplitData], training: TrainingOptions,
                 batch_sizes: Mapping[str, int]) -> None:
        self.model = model
        self.device = device
        self.seed = seed
        self.task_order = task_order
        self.tasks = dict(tasks)
        self.task_index = 0
        self.global_step = 0
        self.batch_indices: list[int] = []  # the training examples of the step in flight
        self.optimizer: torch.optim.Optimizer | None = None
        self.initial_state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
        self._train = train
        self._training = training
        self._batch_sizes = dict(batch_sizes)
        self._dp = parallel.current()
        #: Data parallelism: this process's index and the number of processes (0 and 1 without it).
        self.rank, self.world_size = (self._dp.rank, self._dp.world) if self._dp else (0, 1)

    @property
    def current_task(self) -> str:
        return self.task_order[self.task_index]

    def num_train_examples(self, task: str) -> int:
        return len(self._train[task])

    def batch_size(self, task: str) -> int:
        return self._batch_sizes[task]

    def batch(self, task: str, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in self._train[task].batch(indices).items()}

    def train_batches(self, task: str, batch_size: int | None = None, epoch: int = 0) -> Iterator[list[int]]:
        """Shuffled index batches of ``task``'s training split (deterministic per seed, task, epoch)."""
        size = batch_size or self._batch_sizes[task]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.task_order.index(task) * 1_009 + epoch)
        order = torch.randperm(len(self._train[task]), generator=generator).tolist()
        limit = self._training.max_steps_per_epoch
        for step, start in enumerate(range(0, len(order), size)):
            if limit is not None and step >= limit:
                return
            yield order[start : start + size]

    def optimizer_step(self, loss: torch.Tensor) -> None:
        assert self.optimizer is not None, "optimizer_step() is only available while training a task"
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._sync_gradients(mean=True)  # every process computed this loss on the same examples
        self._clip()
        self.optimizer.step()

    def _sync_gradients(self, mean: bool = False) -> None:
        """Data parallel: sum (or average) the gradients over the processes; nothing in one process."""
        if self._dp is not None and self.optimizer is not None:
            self._dp.reduce_gradients((p for group in self.optimizer.param_groups for p in group["params"]), mean)

    def _clip(self) -> None:
        if self._training.max_grad_norm:
            params = [p for group in self.optimizer.param_groups for p in group["params"]]  # type: ignore[union-attr]
            torch.nn.utils.clip_grad_norm_(params, self._training.max_grad_norm)


#: Modules whose parameters never get weight decay (CLiMB's intent: "LayerNorm.weight" and biases).
NORM_TYPES: tuple[type[torch.nn.Module], ...] = (
    torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._NormBase,
    *((torch.nn.RMSNorm,) if hasattr(torch.nn, "RMSNorm") else ()),
)


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The trainable parameters in two groups: with weight decay, and without it.

    No decay on biases and on every parameter of a normalisation module, chosen by module type
    rather than by name (names differ between models: ``LayerNorm``, ``layernorm_before``, ``norm``).
    A parameter shared by several modules is listed once.
    """
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            is_bias = name == "bias" or name.endswith("_bias")  # e.g. nn.MultiheadAttention.in_proj_bias
            (no_decay if isinstance(module, NORM_TYPES) or is_bias else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(model: torch.nn.Module, lr: float, training: TrainingOptions,
                    groups: list[dict[str, Any]] | None = None) -> torch.optim.Optimizer | None:
    """AdamW over trainable parameters, no weight decay on biases and normalisation layers (as in CLiMB).

    ``groups`` are :func:`parameter_groups` of ``model`` when the caller already has them."""
    groups = parameter_groups(model, training.weight_decay) if groups is None else groups
    if not groups:
        return None
    # fused: one kernel for all parameters; ~10x cheaper than the per-tensor loop on CPU for large
    # embedding tables (the update itself is the same AdamW)
    fused = all(p.device.type in ("cpu", "cuda") for g in groups for p in g["params"])
    return torch.optim.AdamW(groups, lr=lr, betas=training.adam_betas, eps=training.adam_eps, fused=fused)


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float,
                    kind: str = "linear-warmup") -> torch.optim.lr_scheduler.LambdaLR:
    warmup = int(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if kind == "constant":
            return 1.0
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclasses.dataclass
class RunSpec:
    """One run: an algorithm, a seed, a task order and an encoder, already resolved from a config."""

    tasks: list[Task]
    encoder_factory: Any  # () -> Encoder, builds a fresh encoder
    algorithm: Algorithm
    seed: int
    training: TrainingOptions
    output_dir: Path
    config: dict[str, Any]
    references: dict[str, dict[str, float | None]]
    plugins: list[dict[str, str]]
    hooks: Any = None  # pluggy hook relay for lifecycle events
    selection_split: str = "val"  # picks the best epoch
    report_split: str = "test"  # every reported score
    confidence: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"resamples": DEFAULT_RESAMPLES, "level": DEFAULT_LEVEL})
    label: str | None = None  # how results name the run (an algorithm may run under several labels)
    echo: Callable[[str], None] | None = None  # progress and warning lines (default: stderr)
    #: where each component's code comes from, for error messages: "algorithm", "encoder" and
    #: "task:<name>" -> "<distribution> <version>" (else looked up from the component's module)
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Phase II: tasks an upstream checkpoint's encoder was adapted to (passed to adapt_to_tasks before
    #: the run's own), and that checkpoint's encoder weights, loaded before the heads are built.
    adapt_to: Sequence[TaskInfo] = ()
    encoder_state: Mapping[str, torch.Tensor] | None = None
    save_checkpoints: bool = True
    #: Loaded splits shared between runners (Phase II cells over the same data), keyed by the task's
    #: ``split_identity(split)`` (else the task object) and the loading options. Collated tensors do not
    #: depend on the weights, so sharing them is exact.
    split_cache: dict[Any, SplitData] | None = None
    #: Logger objects (climb_harness.api.Logger) the experiment enabled for this run.
    loggers: Sequence[Any] = ()
    #: Per task: the direct fine-tuning reference's ``(example indices, statistics)`` on the report split,
    #: kept in scores.safetensors so that knowledge transfer's interval resamples both sides together.
    direct_statistics: Mapping[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)
    #: results.json's ``experiment``: the fingerprints that say which runs may be aggregated as seeds.
    experiment: Mapping[str, Any] | None = None


class Runner:
    """Runs one :class:`RunSpec`; ``run(resume=...)`` returns the final results dict.

    What propagates out of :meth:`run`: ClimbErrors (RunError, PluginError, ConfigError: one-paragraph
    messages), ``KeyboardInterrupt`` (including an observer's :class:`AbortRun`), and any exception of
    a non-pluggy ``RunSpec.hooks`` object. Exceptions of plugin observers never do."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.training = spec.training
        self.dp = parallel.current()  # data parallel over the processes `accelerate launch` started, else None
        self.device = self.dp.device if self.dp and self.training.device == "auto" else resolve_device(self.training.device)
        self.task_order = [t.name for t in spec.tasks]
        self.infos = {t.name: t.info for t in spec.tasks}
        self.results_path = spec.output_dir / RESULTS_FILE
        self.echo = spec.echo or _stderr
        quiet = self.dp is not None and not self.dp.is_main  # the main process prints, logs and tells observers
        if quiet:
            self.echo = lambda line: None
        self.observers = Observers(None if quiet else spec.hooks, self.echo, spec.plugins, () if quiet else spec.loggers)
        if self.dp is not None:
            self._check_data_parallel()
        self.clock = _Clock()  # the task being learned (the initial evaluation counts towards the first)

    def _check_data_parallel(self) -> None:
        """Refuse an algorithm whose manifest does not declare ``data_parallel: true``."""
        algorithm = self.spec.algorithm
        manifest = getattr(algorithm, "manifest", None) or {}
        if manifest and not manifest.get("data_parallel", False):
            source = self.spec.sources.get("algorithm") or component_source(algorithm) or "its plugin"
            raise RunError(
                f"The algorithm {algorithm.name!r} ({source}) does not declare data-parallel support (data_parallel: "
                f"true in its manifest), and this run has {self.dp.world} processes (accelerate launch). Its state "  # type: ignore[union-attr]
                "(memories, gradients it edits, extra steps) may differ between processes. Run it in one process "
                "(plain `climb run`), or, as its author, make it correct under data parallelism and declare it.")
        if self.training.skip_unreadable_images:
            raise RunError("training.skip_unreadable_images is not supported under data parallelism (a batch one process "
                           "skips would leave the others waiting); run in one process, or fix the unreadable images.")

    # ------------------------------------------------------------------ plugin calls
    def _algorithm(self, hook: str, *args: Any) -> Any:
        """``algorithm.<hook>(*args)``; an exception that is not a ClimbError becomes a PluginError."""
        return self._blame_algorithm(f"{hook}()", lambda: getattr(self.spec.algorithm, hook)(*args))

    def _blame_algorithm(self, what: str, call: Callable[[], Any]) -> Any:
        algorithm = self.spec.algorithm
        return blame("algorithm", algorithm.name, algorithm, what, call, self.spec.sources.get("algorithm"))

    def _encoder_call(self, encoder: Any, hook: str, call: Callable[[], Any]) -> Any:
        name = str(getattr(encoder, "manifest", {}).get("name", type(encoder).__name__))
        return blame("encoder", name, encoder, hook, call, self.spec.sources.get("encoder"))

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

    def _emit(self, hook: str, **kwargs: Any) -> None:
        """Tell the observers (read-only views; see the module docstring for what propagates)."""
        self.observers.emit(hook, run=self.run_info, **kwargs)

    def _task_setting(self, task: Task, key: str, fallback: Any) -> Any:
        value = getattr(self.training, key)
        return value if value is not None else task.manifest.get("defaults", {}).get(key, fallback)

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, task: str, role: str) -> ScoreAccumulator:
        """The model's statistics on the ``role`` split (``"selection"`` or ``"report"``) of ``task``;
        leaves every training RNG stream untouched."""
        started = time.perf_counter()
        with isolated_rng(self.device):
            self._algorithm("before_evaluate", self.ctx, task)
            seed_everything(self.spec.seed, _EVAL_STREAM)  # ViLT draws patch order from the global RNG in eval too
            was_training = self.model.training
            self.model.eval()
            split = self.splits[role][task]
            score = ScoreAccumulator(self.infos[task])
            size = self.training.eval_batch_size
            mine = self.dp.eval_shard(len(split)) if self.dp else range(len(split))
            plan = [(task, list(mine[start : start + size])) for start in range(0, len(mine), size)]
            examples = 0
            for _, kept, cpu in self._loaded(role, plan):
                batch = {k: v.to(self.device, non_blocking=True) for k, v in cpu.items()}
                with self._autocast():
                    logits = self.model(task, batch)
                score.update(logits.float(), batch["targets"], kept)
                examples += len(kept)
            self.model.train(was_training)
            if self.dp is not None:  # every process's contiguous share, in order: each example once
                shares = self.dp.gather((score.statistics(), score.indices()))
                score.merge([stats for stats, _ in shares], [index for _, index in shares])
                examples = len(score.statistics())  # the clock counts the whole split, as in one process
        self.clock.eval_seconds += time.perf_counter() - started
        self.clock.eval_examples += examples
        return score

    def report_row(self, row: int) -> tuple[list[float], list[list[float]]]:
        """Scores and intervals of every task on the report split (``row`` -1: before training); the
        per-example statistics go to scores.safetensors (:mod:`climb_harness.example_scores`)."""
        scores, intervals = [], []
        for name in self.task_order:
            stats = self.evaluate(name, "report")
            values, index = stats.statistics(), stats.indices()
            if len(values) == 0:
                raise RunError(f"Task {name!r} has no examples in its {self.spec.report_split!r} split, which every score is "
                               "reported on (protocol.report_split); give the task labelled examples there, or choose "
                               "another report split.")
            scores.append(round(stats.value(), 6))
            low, high = score_interval(
                statistic_kind(self.infos[name]), values, self.groups[name][index], float(self.spec.confidence["level"]),
                int(self.spec.confidence["resamples"]), task_stream(name),
            )
            intervals.append([round(low, 6), round(high, 6)])
            self.scores.add("row", row + 1, name, index, values)
        return scores, intervals

    def _start_scores(self) -> None:
        """A fresh scores record: every report example's group, and the direct references' statistics."""
        self.scores = ScoresRecorder(self.task_order, [statistic_kind(self.infos[t]) for t in self.task_order])
        for name in self.task_order:
            self.scores.set_groups(name, self.groups[name])
            if name in self.spec.direct_statistics:
                index, stats = self.spec.direct_statistics[name]
                self.scores.add("direct", 0, name, index, stats)

    def _resume_scores(self, done: int) -> None:
        """The scores of the rows already measured (before training and the ``done`` completed tasks)."""
        path = self.spec.output_dir / SCORES_FILE
        try:
            self.scores = ScoresRecorder.read(path)
            read_run_scores(path, done + 1)  # every row up to the checkpoint is there and valid
        except ScoresError as exc:
            raise RunError(f"Cannot resume {self.spec.output_dir}: {exc} Start the run again in a new --output folder.") from None
        if self.scores.tasks != self.task_order:
            raise RunError(f"Cannot resume {self.spec.output_dir}: {path} holds the tasks {clip(self.scores.tasks, 200)}, "
                           f"not {clip(self.task_order, 200)}. Start the run again in a new --output folder.")
        self.scores.keep_rows(done + 1)

    def _write_scores(self) -> None:
        atomic_write_bytes(self.spec.output_dir / SCORES_FILE, self.scores.to_bytes())

    def _loaded(self, role: str, plan: Sequence[tuple[str, Sequence[int]]]) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
        """``(task, kept indices, CPU batch)`` of the planned batches of the ``role`` splits, collated ahead in
        the run's persistent DataLoader workers when their split is not preloaded."""
        prefix = f"{role}/"
        for key, kept, batch in self.loader.batches([(prefix + task, indices) for task, indices in plan]):
            yield key[len(prefix):], kept, batch

    # ------------------------------------------------------------------ training
    def _epoch_batches(self, task: str, epoch: int) -> list[tuple[str, list[int]]]:
        """The algorithm's batches for this epoch (e.g. joint training), else the task's own shuffled ones."""
        custom = self._algorithm("training_batches", self.ctx, epoch)
        if custom is None:
            return [(task, indices) for indices in self.ctx.train_batches(task, epoch=epoch)]
        limit = self.training.max_steps_per_epoch
        listed = self._blame_algorithm("training_batches() (iterating them)", lambda: list(custom))
        return listed[:limit] if limit else listed

    def _optimizer(self, lr: float) -> tuple[torch.optim.Optimizer | None, str]:
        """The algorithm's own optimizer and schedule, else the harness's AdamW with linear warm-up."""
        groups = parameter_groups(self.model, self.training.weight_decay)
        if not groups:
            return None, "constant"
        own = self._algorithm("configure_optimizer", self.ctx, groups, lr)
        if own is None:
            return build_optimizer(self.model, lr, self.training, groups), "linear-warmup"
        name = self.spec.algorithm.name
        if not isinstance(own, OptimizerConfig) or not isinstance(own.optimizer, torch.optim.Optimizer):
            got = type(own).__name__ if not isinstance(own, OptimizerConfig) else f"OptimizerConfig({type(own.optimizer).__name__})"
            raise RunError(f"Algorithm {name!r}: configure_optimizer returned {got}; return None (the harness's AdamW) or "
                           "climb_harness.api.OptimizerConfig(optimizer=<a torch.optim.Optimizer>, schedule=...).")
        if own.schedule not in ("linear-warmup", "constant"):
            raise RunError(f"Algorithm {name!r} asked for the learning-rate schedule {own.schedule!r}; "
                           "configure_optimizer must return OptimizerConfig(schedule='linear-warmup' or 'constant').")
        return own.optimizer, own.schedule

    def _selection_tasks(self) -> list[str]:
        """The tasks whose mean selection score picks the epoch (the algorithm may name seen tasks)."""
        current = self.ctx.current_task
        named = self._algorithm("selection_tasks", self.ctx)
        if named is None:
            return [current]
        if isinstance(named, str) or not isinstance(named, Iterable):
            raise RunError(f"Algorithm {self.spec.algorithm.name!r}: selection_tasks returned "
                           f"{clip(repr(named), 120)}; return None (the "
                           "current task) or a list of task names, e.g. [ctx.current_task].")
        chosen = list(dict.fromkeys(named))
        seen = self.task_order[: self.ctx.task_index + 1]
        unseen = [t for t in chosen if t not in seen]
        if not chosen or unseen:
            raise RunError(
                f"Algorithm {self.spec.algorithm.name!r} chose the epoch of task {current!r} on {chosen or 'no tasks'}; "
                f"selection_tasks() must name at least one task seen so far ({', '.join(seen)}), never a later one."
            )
        return chosen

    def train_task(self, index: int) -> dict[str, Any]:
        task = self.spec.tasks[index]
        algorithm, ctx, model = self.spec.algorithm, self.ctx, self.model
        ctx.task_index = index
        seed_everything(self.spec.seed, index + 1)
        if self.dp is not None:  # dropout masks of every process's own (ContinualModel.rank_stream)
            model.own_stream(self.spec.seed, self.dp.rank, index)
        self._algorithm("on_task_start", ctx)
        epochs = int(self._task_setting(task, "epochs", 1))
        lr = float(self._task_setting(task, "lr", 1e-4))
        ctx.optimizer, schedule = self._optimizer(lr)
        # The schedule spans the batches actually trained on: an algorithm's own batches (joint training
        # over several tasks) may outnumber the task's.
        batches = self._epoch_batches(task.name, 0)
        steps_per_epoch = len(batches)
        scheduler = (linear_schedule(ctx.optimizer, epochs * steps_per_epoch, self.training.warmup_ratio, schedule)
                     if ctx.optimizer else None)
        selection = self._selection_tasks()
        scaler = torch.amp.GradScaler(self.device.type) if self.training.precision == "fp16" and ctx.optimizer else None
        best_score, best_epoch, best_state = -math.inf, -1, None
        epoch_log = []
        for epoch in range(epochs):
            started = time.perf_counter()
            examples = 0
            model.train()
            if epoch:
                batches = self._epoch_batches(task.name, epoch)
            total_loss, steps = torch.zeros((), device=self.device), 0  # summed on the device: no sync per step
            weights: Iterator[float] | None = None
            if self.dp is not None:  # this process's share of each global batch, its loss weighted by the share
                shards = [(name, *self.dp.shard(indices)) for name, indices in batches]
                batches, weights = [(name, mine) for name, mine, _ in shards], iter([w for _, _, w in shards])
            steps_iter = self._loaded("train", batches)
            if self.training.progress:  # no wrapper at all when progress bars are off
                steps_iter = tqdm(steps_iter, total=len(batches), desc=f"{algorithm.name} {task.name} epoch {epoch + 1}/{epochs}",
                                  leave=False, disable=None, file=sys.stderr)
            for batch_task, indices, cpu in steps_iter:
                ctx.batch_indices = list(indices)
                batch = {k: v.to(self.device, non_blocking=True) for k, v in cpu.items()}
                with self._autocast():
                    loss = self._algorithm("training_loss", ctx, batch_task, batch)
                weight = 1.0 if weights is None else next(weights)
                if weights is not None and isinstance(loss, torch.Tensor):
                    loss = loss * weight  # summed over the processes: the whole batch's mean loss
                if ctx.optimizer is not None:
                    ctx.optimizer.zero_grad(set_to_none=True)
                    if scaler is None:
                        self._backward(loss)
                        ctx._sync_gradients()
                        self._algorithm("before_optimizer_step", ctx, batch_task, batch)
                        ctx._clip()
                        ctx.optimizer.step()
                    else:  # fp16: scaled backward, hooks and clipping see the unscaled gradients
                        self._backward(scaler.scale(loss))
                        ctx._sync_gradients()
                        scaler.unscale_(ctx.optimizer)
                        self._algorithm("before_optimizer_step", ctx, batch_task, batch)
                        ctx._clip()
                        scaler.step(ctx.optimizer)  # skipped when a gradient is inf/nan
                        scaler.update()
                    scheduler.step()  # type: ignore[union-attr]
                self._algorithm("after_optimizer_step", ctx, batch_task, batch)
                ctx.global_step += 1
                total_loss += loss.detach()
                steps += 1
                examples += len(indices) if weight else 0  # a weight-0 stand-in example is not trained on
            self._algorithm("on_epoch_end", ctx, epoch)
            if self.dp is not None:  # the weighted shares sum to each batch's loss; examples over every process
                total_loss = self.dp.sum_scalar(total_loss)
                examples = int(self.dp.sum_scalar(torch.tensor(float(examples), device=self.device)))
            train_loss = float(total_loss) / max(1, steps)  # the one device sync of the epoch
            train_seconds = time.perf_counter() - started
            self.clock.train_seconds += train_seconds
            self.clock.train_examples += examples
            evaluated = time.perf_counter()
            val = sum(self.evaluate(name, "selection").value() for name in selection) / len(selection)
            logs = {"train_loss": train_loss, "selection_score": val, "steps": steps, "examples": examples,
                    "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - evaluated,
                    "train_examples_per_second": examples / train_seconds if train_seconds > 0 else 0.0,
                    "seconds": time.perf_counter() - started}
            epoch_log.append(logs)
            self.events.write("epoch_end", task_index=index, task=task.name, epoch=epoch, **logs)
            self._emit("climb_epoch_end", task_index=index, task=task.name, epoch=epoch, logs=logs)
            if val > best_score:
                best_score, best_epoch = val, epoch
                best_state = copy.deepcopy({k: v.detach() for k, v in model.state_dict().items()}) if epoch < epochs - 1 else None
        if best_state is not None:  # None: the last epoch was the best, nothing to restore
            model.load_state_dict(best_state)
        self._algorithm("on_task_end", ctx)
        return {"best_epoch": best_epoch, "epochs": epoch_log}

    def _autocast(self) -> Any:
        """Mixed precision for the harness's forward passes (``training.precision``); fp32: nothing."""
        precision = self.training.precision
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)

    def _backward(self, loss: Any) -> None:
        """``loss.backward()``; a loss that is no differentiable scalar tensor is the algorithm's fault."""
        backward = loss.backward if isinstance(loss, torch.Tensor) else _not_a_tensor(loss)
        self._blame_algorithm("training_loss() (the backward pass of its loss)", backward)

    # ------------------------------------------------------------------ the run
    def run(self, resume: bool = False) -> dict[str, Any]:
        try:
            return self._run(resume)
        except Exception as exc:  # running out of memory is the run's size, wherever it happens
            if is_out_of_memory(exc) and not isinstance(exc, ClimbError):
                raise out_of_memory(exc, f"run {self._label()}") from exc
            if self.dp is not None and not isinstance(exc, ClimbError) and parallel.is_peer_failure(exc):
                raise RunError(f"Run {self._label()}: another data-parallel process stopped ({clip(exc, 160)}); this one "
                               "stops too. Its own message (above) names the cause; fix that and rerun with --resume "
                               "(the tasks completed so far are checkpointed).") from exc
            raise
        finally:
            loader = getattr(self, "loader", None)
            if loader is not None:
                loader.close()
            self.observers.close_loggers()
            self.observers.report()

    def _run(self, resume: bool) -> dict[str, Any]:
        if resume:
            self._remove_orphans()
        self._build()
        results = self._start_or_resume(resume)
        if self.dp is not None:  # no process reads the run's files after the main one writes them again
            self.dp.barrier()
        self.events = EventLog(self.spec.output_dir, self.echo)
        self.events.write("run_start", algorithm=self.run_info["algorithm"], seed=self.spec.seed, tasks=self.task_order,
                          resumed_after=len(results["accuracy_matrix"]) if resume else None)
        self._emit("climb_run_start")
        started = time.perf_counter() - float(results["timing"].get("total_seconds", 0.0))
        for index in range(len(results["accuracy_matrix"]), len(self.task_order)):
            name = self.task_order[index]
            self.events.write("task_start", task_index=index, task=name)
            self._emit("climb_task_start", task_index=index, task=name)
            task_started = time.perf_counter()
            self.clock = _Clock()
            log = self.train_task(index)
            row, intervals = self.report_row(index)
            results["accuracy_matrix"].append(row)
            results["accuracy_matrix_ci"].append(intervals)
            results["best_epochs"].append(log["best_epoch"])
            results["training_log"].append({"task": name, "epochs": log["epochs"]})
            results["timing"]["per_task_seconds"][name] = round(time.perf_counter() - task_started, 3)
            results["timing"]["total_seconds"] = round(time.perf_counter() - started, 3)
            results["timing"]["peak_memory_mb"] = round(peak_memory_mb(self.device), 1)
            results["timing"].setdefault("per_task", {})[name] = {
                "seconds": results["timing"]["per_task_seconds"][name], **self.clock.rates()}
            results["timing"]["peak_rss_mb"] = round(peak_rss_mb(), 1)
            accelerator = peak_accelerator_mb(self.device)
            results["timing"]["peak_accelerator_mb"] = None if accelerator is None else round(accelerator, 1)
            if self.training.skip_unreadable_images:
                results["skipped_examples"] = self._skipped(results.get("skipped_examples", {}))
            self._checkpoint(index)
            self._write_scores()
            if index == len(self.task_order) - 1:
                self._finish(results)
            write_results(self.results_path, results)
            self.events.write("task_end", task_index=index, task=name, scores=dict(zip(self.task_order, row)),
                              timing=results["timing"]["per_task"][name])
            self._emit("climb_task_end", task_index=index, task=name, scores=dict(zip(self.task_order, row)))
        self.events.write("run_end", status=results.get("status"),
                          metrics={k: v for k, v in (results.get("metrics") or {}).items() if not isinstance(v, (dict, list))})
        self._emit("climb_run_end", results=results)
        return results

    def _skipped(self, before: Mapping[str, Any]) -> dict[str, Any]:
        """results.json's ``skipped_examples``: per task and split, the examples left out because an image
        could not be read (merged with what an earlier, resumed process recorded)."""
        record: dict[str, Any] = {}
        for role, split in (("train", "train"), ("selection", self.spec.selection_split), ("report", self.spec.report_split)):
            for task, data in self.splits[role].items():
                old = before.get(task, {}).get(split, {})
                files = {int(i): f for i, f in zip(old.get("indices", []), old.get("files", []))}
                files.update(data.skipped)
                if files:
                    indices = sorted(files)
                    record.setdefault(task, {})[split] = {"count": len(indices), "indices": indices,
                                                          "files": [files[i] for i in indices]}
        for task, data in record.items():
            for split, entry in data.items():
                if entry["count"] and not before.get(task, {}).get(split):
                    self.echo(f"{self._label()}: {entry['count']} {split} example(s) of task {task!r} left out: their image "
                              f"cannot be read (e.g. {entry['files'][0]}); see skipped_examples in results.json.")
        return record

    def _finish(self, results: dict[str, Any]) -> None:
        from climb_harness.metrics import compute_all

        refs = results["references"]
        results["metrics"] = compute_all(
            results["accuracy_matrix"], results["initial_scores"],
            [refs["random"][t] for t in self.task_order],
            [refs["direct"].get(t) for t in self.task_order],
            tasks=self.task_order,
            ci=results["accuracy_matrix_ci"],
            direct_ci=[refs.get("direct_ci", {}).get(t) for t in self.task_order],
            level=float(self.spec.confidence["level"]),
        )
        if self.dp is None or self.dp.is_main:  # the file the main process wrote is the run's
            run = read_run_scores(self.spec.output_dir / SCORES_FILE, len(self.task_order) + 1)
            results["metrics_ci"] = run_intervals(
                run, results["metrics"], [refs["random"][t] for t in self.task_order],
                [refs["direct"].get(t) for t in self.task_order], int(self.spec.confidence["resamples"]),
                float(self.spec.confidence["level"]))
        results["status"] = "complete"
        results["provenance"]["finished_at"] = now()

    def _checkpoint(self, index: int) -> None:
        if not self.spec.save_checkpoints:
            return
        name = self.task_order[index]
        path = checkpoint_path(self.spec.output_dir, index, name)
        save_checkpoint(path, self.model.state_dict(), self._metadata(index), self._algorithm("state_dict"))

    def _metadata(self, index: int) -> dict[str, Any]:
        """What a checkpoint says about the run it belongs to (checked again on resume)."""
        return {"task_index": index, "task": self.task_order[index], "tasks": self.task_order,
                "algorithm": self.spec.algorithm.name, "seed": self.spec.seed,
                "global_step": self.ctx.global_step, **self.adaptation}

    def _remove_orphans(self) -> None:
        """Delete the temporary files of atomic writes a killed run left in the run folder (and say so)."""
        out = self.spec.output_dir
        count, size = remove_orphan_temps([out, out / "checkpoints"], RUN_FILES)
        if count:
            self.echo(f"{self._label()}: --resume removed {count} orphan temporary file(s) ({size} bytes, "
                      f"{size / 2**20:.1f} MiB) left in {out} by an interrupted write.")

    def _label(self) -> str:
        return f"{self.spec.label or self.spec.algorithm.name} seed {self.spec.seed}"

    def _restore(self, done: int) -> None:
        """Load the checkpoint of task ``done - 1`` into the algorithm and the model, or name the file that
        does not fit (the model file, or the algorithm-state file)."""
        spec, index = self.spec, done - 1
        path = checkpoint_path(spec.output_dir, index, self.task_order[index])
        state, metadata, algorithm_state = load_checkpoint(path)
        expected = {k: v for k, v in self._metadata(index).items() if k != "global_step"}
        self.ctx.global_step = check_metadata(path, metadata, expected)
        self._load_algorithm_state(algorithm_path(path), algorithm_state)
        try:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # e.g. size mismatch
            reason = describe_exception(exc, 300)
            raise RunError(f"The model checkpoint {path} does not match the model ({reason}); the encoder, "
                           f"its options or a task's head changed. {retrain_fix(path)}") from None
        if missing or unexpected:
            raise RunError(
                f"The model checkpoint {path} does not match the model (missing {clip(missing[:3], 150)}, "
                f"unexpected {clip(unexpected[:3], 150)}); the encoder or its options changed. "
                f"{retrain_fix(path)}"
            )

    def _load_algorithm_state(self, path: Path, state: dict[str, Any]) -> None:
        algorithm = self.spec.algorithm
        try:
            algorithm.load_state_dict(state, self.ctx)
        except (KeyboardInterrupt, RunError):
            raise
        except Exception as exc:
            source = self.spec.sources.get("algorithm") or component_source(algorithm) or "origin unknown"
            raise RunError(
                f"The algorithm {algorithm.name!r} ({source}) could not restore its state from {path} "
                f"({describe_exception(exc, 300)}): the checkpoint does not match the algorithm (its options "
                f"or version changed), or its load_state_dict() is faulty. {retrain_fix(path)}"
            ) from None

    def _start_or_resume(self, resume: bool) -> dict[str, Any]:
        spec, algorithm = self.spec, self.spec.algorithm
        self._algorithm("setup", self.ctx)
        if resume and self.results_path.exists():
            version = schema_version_of(self.results_path)  # before validation: an old file fails today's schema
            if version is not None and version != RESULTS_SCHEMA:
                raise RunError(
                    f"{self.results_path} was written by an earlier climb-harness (results schema {clip(version, 20)}, "
                    "which kept no per-example scores to give its metrics intervals, or selected and reported on one "
                    "split); it cannot be resumed under the current protocol. Nothing was changed; start the run again "
                    "in a new --output folder."
                )
            results = read_results(self.results_path)
            if results.get("config") != spec.config:
                raise RunError(
                    f"{self.results_path} was written by a different configuration, so --resume would mix two experiments. "
                    f"Nothing was changed; resume with the same config, or use a new --output folder."
                )
            if results.get("tasks") != self.task_order:
                raise RunError(
                    f"{self.results_path} holds a run over the tasks {clip(results.get('tasks'), 200)}, not "
                    f"{clip(self.task_order, 200)}. Nothing was changed; resume with the same tasks, or use "
                    f"a new --output folder."
                )
            done = len(results["accuracy_matrix"])
            self._resume_scores(done)
            if done:
                self._restore(done)
            for key in ("accuracy_matrix_ci", "best_epochs", "training_log"):  # no rows past the checkpoint
                if key in results:
                    results[key] = results[key][:done]
            self.echo(f"{self._label()}: resuming after task {done} of {len(self.task_order)}"
                      + (f" ({self.task_order[done - 1]})" if done else "") + f" from {spec.output_dir}.")
            return results
        if self.results_path.exists() and not resume:
            existing = read_results(self.results_path)
            if existing.get("status") != "complete" or existing.get("config") != spec.config:
                raise RunError(
                    f"{self.results_path} already holds a{'n unfinished' if existing.get('status') != 'complete' else ' different'} run. "
                    f"Nothing was overwritten; pass --resume to continue it, or choose another --output folder."
                )
        self.ctx.task_index = 0
        self._start_scores()
        initial, initial_ci = self.report_row(-1)
        self._write_scores()
        results: dict[str, Any] = {
            "schema_version": RESULTS_SCHEMA,
            "status": "running",
            "tasks": self.task_order,
            "algorithm": spec.label or algorithm.name,
            "algorithm_options": json.loads(json.dumps(plain(getattr(algorithm, "options", {}) or {}), default=str)),
            "seed": spec.seed,
            "protocol": {
                "selection_split": spec.selection_split,
                "report_split": spec.report_split,
                "confidence_interval": {"method": INTERVAL_METHOD,
                                        "level": float(spec.confidence["level"]), "resamples": int(spec.confidence["resamples"])},
            },
            "initial_scores": initial,
            "initial_scores_ci": initial_ci,
            "accuracy_matrix": [],
            "accuracy_matrix_ci": [],
            "best_epochs": [],
            "training_log": [],
            "metrics": {},
            "references": spec.references,
            "provenance": {**provenance(spec.plugins, spec.seed, str(self.device)), "threads": self.training.threads,
                           "processes": 1 if self.dp is None else self.dp.world},
            "timing": {"per_task_seconds": {}, "total_seconds": 0.0, "peak_memory_mb": None, "peak_memory_source": _memory_source(self.device)},
            "config": spec.config,
        }
        if spec.experiment is not None:
            results["experiment"] = copy.deepcopy(dict(spec.experiment))
        write_results(self.results_path, results)
        return results
