"""The engine: runs one (algorithm, seed) over a task sequence. :class:`Runner` is the loop; the rest is what
it uses, one module each (see :mod:`climb_harness.core.engine.runner`)."""

from climb_harness.core.engine.context import Context
from climb_harness.core.engine.costs import (
    Clock,
    memory_source,
    peak_accelerator_mb,
    peak_memory_mb,
    peak_rss_mb,
)
from climb_harness.core.engine.execution import Execution, OneProcess
from climb_harness.core.engine.observers import AbortRun, Observers, plain, read_only
from climb_harness.core.engine.optim import NORM_TYPES, build_optimizer, linear_schedule, parameter_groups
from climb_harness.core.engine.options import TrainingOptions, available_devices, resolve_device
from climb_harness.core.engine.rng import EVAL_STREAM, isolated_rng, seed_everything
from climb_harness.core.engine.runfiles import RESULTS_SCHEMA, RUN_FILES
from climb_harness.core.engine.runner import Runner
from climb_harness.core.engine.spec import RunSpec

__all__ = [
    "EVAL_STREAM", "NORM_TYPES", "RESULTS_SCHEMA", "RUN_FILES", "AbortRun", "Clock", "Context", "Execution",
    "Observers", "OneProcess", "RunSpec", "Runner", "TrainingOptions", "available_devices", "build_optimizer",
    "isolated_rng", "linear_schedule", "memory_source", "parameter_groups", "peak_accelerator_mb", "peak_memory_mb",
    "peak_rss_mb", "plain", "read_only", "resolve_device", "seed_everything",
]
