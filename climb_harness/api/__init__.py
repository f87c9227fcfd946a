"""What a plugin author imports: the contracts between the harness and its plugins.

A plugin is a module with pluggy hook implementations (see :mod:`climb_harness.api.hookspecs`).
Its registration hooks return :class:`Component` objects: a JSON manifest (validated against
``schemas/{task,encoder,algorithm,logger}.schema.json``) plus a *factory* that builds the live object.
Factories are named as ``"module:attribute"`` strings so that listing and validating plugins
never imports torch or a model library; the harness imports the factory only to run it.

The live kinds:

* :class:`Task` gives :class:`Example` objects for its splits. Its manifest declares its
  modality, how many images an example holds, its head (classification, multiple-choice,
  soft-score or multi-label) and its random baseline.
* :class:`Encoder` (a ``torch.nn.Module``) turns a list of examples into a batch of CPU tensors
  (:meth:`Encoder.collate`) and a batch into one vector per *view* (:meth:`Encoder.forward`).
  A view is one image of a two-image example, or one answer choice of a multiple-choice one.
  It must set ``hidden_size`` (the width of those vectors; the task heads are built from it) and
  may list ``layer_groups()``: parameter-name prefixes relative to the encoder, bottom-up.
* :class:`Algorithm` is the research code of a continual-learning method. The runner (the
  engineering code) calls its hooks around training steps, epochs, task boundaries and
  evaluation, following CL-Gym's timeline, and checkpoints its :meth:`Algorithm.state_dict`.
* :class:`Logger` observes runs.

The harness builds every component the same way: it fills the option schema's defaults into the
options a config gives, validates them, calls ``factory(options)``, and then sets the object's
``manifest`` to the validated manifest (so ``self.manifest`` is not yet set inside ``__init__``).

A minimal plugin module, registering one algorithm::

    from climb_harness.api import API_VERSION, algorithm, hookimpl

    @hookimpl
    def climb_algorithms():
        return [algorithm({"name": "my-method", "api_version": API_VERSION, "summary": "...",
                           "family": "regularisation", "paper": "...",
                           "options": {"type": "object", "properties": {}}},
                          "climb_my_method.method:MyMethod")]

This package is the contract ring: one private module per concept (components and registration, task
types, the data toolkit, training contracts, the encoder base, the memory toolkit, prompting), re-exported
here; :mod:`climb_harness.api.errors`, :mod:`climb_harness.api.hookspecs` and
:mod:`climb_harness.api.bounded_json` are public modules. Torch is imported lazily:
``from climb_harness.api import Encoder`` (or a memory class) imports it, the rest does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from climb_harness.api import _prompting as prompting  # the prompt-tuning / prefix-tuning contract (no torch)
from climb_harness.api._components import (
    API_VERSION,
    COMPONENT_KINDS,
    Component,
    ComponentKind,
    algorithm,
    encoder,
    hookimpl,
    logger,
    task,
)
from climb_harness.api._data import (
    DATA_ROOT_ENV,
    cache_dir,
    data_dir,
    files_fingerprint,
    load_image,
    stratified_sample,
)
from climb_harness.api._datakit import (
    DATA_LIMITS,
    DataFile,
    DataRecord,
    clip_repr,
    clip_text,
    closest_name,
    data_fingerprint,
    data_options,
    fingerprint_options,
    held_out_groups,
    option_defaults,
    read_cached,
    unknown_split,
)
from climb_harness.api._datapaths import (
    DEFAULT_MAX_PIXELS,
    FolderListing,
    ImagePath,
    find_layout,
    list_folder,
    misplaced_hint,
    require_files,
    resolve_inside,
)
from climb_harness.api._logger import Logger
from climb_harness.api._tasks import Example, HeadSpec, HeadType, ImageLike, Modality, Task, TaskInfo
from climb_harness.api._training import Algorithm, ContinualModelProtocol, OptimizerConfig, TrainingContext
from climb_harness.api.bounded_json import JsonLimits
from climb_harness.api.errors import (
    ClimbError,
    ConfigError,
    DataError,
    MissingDataError,
    PluginError,
    RunError,
    UnknownComponentError,
    UnreadableImageError,
    UsageError,
)

if TYPE_CHECKING:  # pragma: no cover
    from climb_harness.api._encoder import Encoder
    from climb_harness.api._memory import (
        ClassBalancedMemory,
        Entry,
        ReservoirMemory,
        TaskMemory,
        budget_share,
        sample_without_replacement,
        seeded_generator,
    )

__all__ = [
    "API_VERSION",
    "COMPONENT_KINDS",
    "DATA_ROOT_ENV",
    # components and registration
    "Component",
    "ComponentKind",
    "algorithm",
    "encoder",
    "hookimpl",
    "logger",
    "task",
    # the live kinds and their types
    "Algorithm",
    "ContinualModelProtocol",
    "Encoder",
    "Example",
    "HeadSpec",
    "HeadType",
    "ImageLike",
    "Logger",
    "Modality",
    "OptimizerConfig",
    "Task",
    "TaskInfo",
    "TrainingContext",
    # errors
    "ClimbError",
    "ConfigError",
    "DataError",
    "MissingDataError",
    "PluginError",
    "RunError",
    "UnknownComponentError",
    "UnreadableImageError",
    "UsageError",
    # the data toolkit for task authors
    "DATA_LIMITS",
    "DEFAULT_MAX_PIXELS",
    "DataFile",
    "DataRecord",
    "FolderListing",
    "ImagePath",
    "JsonLimits",
    "cache_dir",
    "clip_repr",
    "clip_text",
    "closest_name",
    "data_dir",
    "data_fingerprint",
    "data_options",
    "files_fingerprint",
    "find_layout",
    "fingerprint_options",
    "held_out_groups",
    "list_folder",
    "load_image",
    "misplaced_hint",
    "option_defaults",
    "read_cached",
    "require_files",
    "resolve_inside",
    "stratified_sample",
    "unknown_split",
    # the memory toolkit for method authors (imported with torch on first use)
    "ClassBalancedMemory",
    "Entry",
    "ReservoirMemory",
    "TaskMemory",
    "budget_share",
    "sample_without_replacement",
    "seeded_generator",
    # the contract of the capabilities "prompt-tuning" and "prefix-tuning"
    "prompting",
]

#: What :mod:`climb_harness.api._memory` gives method authors (loaded on first use: it imports torch).
_MEMORY_NAMES = frozenset({"ClassBalancedMemory", "Entry", "ReservoirMemory", "TaskMemory", "budget_share",
                           "sample_without_replacement", "seeded_generator"})


def __getattr__(name: str) -> Any:
    """``Encoder`` and the memory toolkit need torch: import it only when one of them is asked for.

    Args:
        name: The attribute asked for.

    Returns:
        The encoder base class for ``"Encoder"``; the memory toolkit's names.

    Raises:
        AttributeError: For any other name.
    """
    if name == "Encoder":
        from climb_harness.api._encoder import Encoder

        return Encoder
    if name in _MEMORY_NAMES:  # the memory toolkit holds tensors
        from climb_harness.api import _memory

        return getattr(_memory, name)
    raise AttributeError(f"module 'climb_harness.api' has no attribute {name!r}")
