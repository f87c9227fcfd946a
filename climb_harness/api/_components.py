"""Components and their registration: what a plugin's registration hooks return.

A :class:`Component` is a manifest (validated against ``schemas/<kind>.schema.json``) and a factory,
named as ``"module:attribute"`` so that listing plugins never imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import pluggy

#: The version of this API (``"MAJOR.MINOR"``). A manifest's ``api_version`` is accepted when its
#: major number equals this one's and its minor number is not greater (a plugin written for 1.0
#: runs on a 1.3 harness, not the other way round); write ``"api_version": API_VERSION``.
#: 1.1 added ``Task.required_paths``, ``data_dir``, ``cache_dir``, ``stratified_sample``,
#: ``DataError`` and the manifest fields ``provides``, ``requires``, ``test_options`` and ``data.layout``.
#: 1.2 added ``UnreadableImageError`` (raised by ``load_image``), the manifest field ``defaults.low_shot``,
#: and loggers (``logger``, ``Logger``, the ``climb_loggers`` hook).
#: 1.3 added the algorithm manifest field ``data_parallel`` and ``TrainingContext.rank`` / ``world_size``.
#: 1.4 added ``Example.group``, ``ContinualModelProtocol.head_loss``, ``.features`` and ``.forward_tasks`` and the memory toolkit (``TaskMemory``,
#: ``ReservoirMemory``, ``ClassBalancedMemory``, ``budget_share``, ``sample_without_replacement``, ``seeded_generator``)
#: and ``prompting``, the contract of the encoder capabilities ``prompt-tuning`` and ``prefix-tuning``; the data
#: toolkit for task authors (``DataFile``, ``DataRecord``, ``MissingDataError``, ``data_options``, ``read_cached``,
#: ``resolve_inside``, ``find_layout``, ``misplaced_hint``, ``closest_name``, ``clip_text``, ...), ``load_image``'s
#: ``max_pixels`` and ``data_dir``'s ``task``.
API_VERSION = "1.4"

#: Marker for hook implementations in plugin modules: ``@hookimpl def climb_tasks(): ...``.
#: The hooks are listed in :mod:`climb_harness.api.hookspecs`. Any function of a plugin module whose
#: name starts with ``climb_`` counts as a hook implementation, marked or not, so a misspelled
#: hook name makes the plugin invalid instead of never being called.
hookimpl = pluggy.HookimplMarker("climb")

#: The kinds of component a plugin registers (one definition: schemas, registry, CLI and kit read it).
ComponentKind = Literal["task", "encoder", "algorithm", "logger"]
#: :data:`ComponentKind`'s values, in the order listings show them.
COMPONENT_KINDS: tuple[str, ...] = get_args(ComponentKind)


@dataclasses.dataclass(frozen=True)
class Component:
    """A task, encoder, algorithm or logger offered by a plugin.

    Build it with :func:`task`, :func:`encoder` or :func:`algorithm` rather than directly: they fill
    in the manifest's ``kind``.

    Attributes:
        kind: ``"task"``, ``"encoder"`` or ``"algorithm"``; it must match the hook that returns the
            component (``climb_tasks``, ``climb_encoders``, ``climb_algorithms``).
        manifest: The JSON object checked against ``schemas/<kind>.schema.json`` (unknown fields are
            errors). Its ``options`` is the JSON schema of the component's options: every property
            has a ``default`` that satisfies the property's own schema.
        factory: Builds the live object from the validated options, with their defaults filled in:
            ``factory(options: dict) -> Task | Encoder | Algorithm``. Give it as
            ``"package.module:ClassName"`` (dotted attributes allowed after the colon) so that
            nothing heavy is imported until it runs; a callable is accepted too.

    Example:
        >>> c = Component("task", {"name": "my-task"}, "climb_my_task.task:MyTask")
        >>> c.name
        'my-task'
        >>> Component("task", {}, "m:f").name
        '<unnamed>'
    """

    kind: ComponentKind
    manifest: Mapping[str, Any]
    factory: str | Callable[..., Any]

    @property
    def name(self) -> str:
        """The manifest's ``name`` (``"<unnamed>"`` when it has none, which fails validation).

        Returns:
            The component's name as configs and ``climb list`` spell it.
        """
        return str(self.manifest.get("name", "<unnamed>"))


def task(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a task component (``kind`` is filled in).

    Args:
        manifest: The task manifest (``schemas/task.schema.json``): ``name``, ``api_version``,
            ``summary``, ``modality``, ``images_per_example``, ``head``, ``metric``,
            ``random_baseline`` and optionally ``options``, ``defaults``, ``splits``, ...
            A ``kind`` it already holds wins over the filled-in one (and must be ``"task"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            a :class:`Task` (usually the class itself), or that callable.

    Returns:
        The component, to return in a list from a ``climb_tasks`` hook. Nothing is validated here:
        the registry validates the manifest when it collects the component.

    Example:
        >>> c = task({"name": "my-task"}, "climb_my_task.task:MyTask")
        >>> c.kind, c.manifest["kind"], c.factory
        ('task', 'task', 'climb_my_task.task:MyTask')
    """
    return Component("task", {"kind": "task", **manifest}, factory)


def encoder(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare an encoder component (``kind`` is filled in).

    Args:
        manifest: The encoder manifest (``schemas/encoder.schema.json``), e.g. ``name``,
            ``api_version``, ``summary``, the modalities it handles and its ``options``.
            A ``kind`` it already holds wins over the filled-in one (and must be ``"encoder"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            an :class:`Encoder`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_encoders`` hook.

    Example:
        >>> encoder({"name": "my-encoder"}, "climb_my_encoder.encoder:MyEncoder").manifest["kind"]
        'encoder'
    """
    return Component("encoder", {"kind": "encoder", **manifest}, factory)


def algorithm(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a continual-learning algorithm component (``kind`` is filled in).

    Args:
        manifest: The algorithm manifest (``schemas/algorithm.schema.json``), e.g. ``name``,
            ``api_version``, ``summary``, ``family``, ``paper`` and ``options``.
            A ``kind`` it already holds wins over the filled-in one (and must be ``"algorithm"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            an :class:`Algorithm`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_algorithms`` hook.

    Example:
        >>> algorithm({"name": "my-method"}, "climb_my_method.method:MyMethod").kind
        'algorithm'
    """
    return Component("algorithm", {"kind": "algorithm", **manifest}, factory)


def logger(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a logger component (``kind`` is filled in).

    Args:
        manifest: The logger manifest (``schemas/logger.schema.json``): ``name``, ``api_version``,
            ``summary``, ``options`` and optionally ``requires_packages`` and ``install``.
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            a :class:`Logger`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_loggers`` hook.

    Example:
        >>> logger({"name": "my-logger"}, "climb_my_logger:MyLogger").kind
        'logger'
    """
    return Component("logger", {"kind": "logger", **manifest}, factory)
