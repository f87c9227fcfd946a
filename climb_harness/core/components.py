"""Registered components: the registry's entries, and what makes a manifest acceptable (checked without
building the component: the schema, the API version, the option schema and the factory's form)."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from climb_harness.api import API_VERSION, COMPONENT_KINDS, Component
from climb_harness.api.errors import PluginError, shorten
from climb_harness.core.schemas import Violation, check_options_schema, json_problems, options_with_defaults, validate

__all__ = ["Entry", "KINDS", "PluginInfo", "api_version_problem", "import_factory", "manifest_problems"]


#: The component kinds (one definition: :data:`climb_harness.api.COMPONENT_KINDS`).
KINDS = COMPONENT_KINDS

_HOOK_OF_KIND = {"task": "climb_tasks", "encoder": "climb_encoders", "algorithm": "climb_algorithms",
                 "logger": "climb_loggers"}

@dataclasses.dataclass
class PluginInfo:
    """A loaded (or failed) plugin module and the distribution it came from."""

    name: str
    distribution: str
    version: str
    source: str  # "entry point" or "--plugin"
    module: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        distribution = self.distribution.strip("()") if self.distribution == "(--plugin)" else self.distribution
        return f"plugin {shorten(repr(self.name), 80)} ({shorten(distribution, 80)} {shorten(self.version, 120)})"

    @property
    def ok(self) -> bool:
        return not self.errors

@dataclasses.dataclass
class Entry:
    """A registered component, whether it validated (``status == "ok"``) or not."""

    component: Component
    plugin: PluginInfo
    problems: list[Violation] = dataclasses.field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.component.kind

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def manifest(self) -> Mapping[str, Any]:
        return self.component.manifest

    @property
    def status(self) -> str:
        return "ok" if not self.problems else "invalid"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "distribution": self.plugin.distribution,
            "version": self.plugin.version,
            "plugin": self.plugin.name,
            "summary": str(self.manifest.get("summary", "")),
            "paper": self.manifest.get("paper"),
            "options": self.manifest.get("options"),
            "status": self.status,
            "problems": [str(p) for p in self.problems],
        }

def api_version_problem(declared: Any) -> Violation | None:
    """A manifest's ``api_version`` works when its major equals ours and its minor is not newer."""
    major, minor = (int(x) for x in API_VERSION.split("."))
    try:
        d_major, d_minor = (int(x) for x in str(declared).split("."))
    except ValueError:
        return None  # the schema's pattern reports the malformed value
    if d_major == major and d_minor <= minor:
        return None
    return Violation(
        "$.api_version",
        "compatible api_version",
        f"api_version {declared} is not supported by this climb-harness (API {API_VERSION}); "
        f"versions that work: {major}.0 to {major}.{minor}. Update the plugin's manifest to one of these "
        f"and check its code against climb_harness.api, or install a climb-harness release that provides API {declared}",
    )

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]*")

API_VERSION_PATTERN = re.compile(r"[0-9]+\.[0-9]+")

FACTORY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

def _display_name(name: Any) -> str:
    """The registry key of a manifest's name: a broken name still gets a key, so it can be reported."""
    if name is None:
        return "<unnamed>"
    return name if isinstance(name, str) else f"<{type(name).__name__} name>"

def manifest_problems(kind: str, component: Component) -> list[Violation]:
    """Everything ``climb run`` would reject about a component, found without building it."""
    manifest = component.manifest
    problems = json_problems(manifest)
    if component.kind != kind:
        problems.append(Violation("$.kind", "kind", f"a {shorten(repr(component.kind), 40)} component returned by hook {_HOOK_OF_KIND[kind]}; "
                                  f"return it from {_HOOK_OF_KIND.get(component.kind, 'the hook of its kind')}"))
    if problems:  # the schemas judge plain JSON only
        return problems + _factory_problems(component.factory)
    problems += validate(kind, manifest)
    # JSON schema's "pattern" searches, and Python's "$" matches before a trailing newline: match whole strings.
    for key, pattern in (("name", NAME_PATTERN), ("api_version", API_VERSION_PATTERN)):
        value = manifest.get(key)
        if isinstance(value, str) and pattern.match(value) and not pattern.fullmatch(value):
            problems.append(Violation(f"$.{key}", "pattern", f"{shorten(repr(value), 80)} has characters after the {key} (a trailing newline?)"))
    if problem := api_version_problem(manifest.get("api_version")):
        problems.append(problem)
    if isinstance(manifest.get("options"), Mapping) and not any(p.path.startswith("$.options") for p in problems):
        problems += check_options_schema(manifest["options"])
        if isinstance(manifest.get("test_options"), Mapping) and not any(p.path.startswith("$.options") for p in problems):
            _, wrong = options_with_defaults(manifest["options"], manifest["test_options"])
            problems += [Violation("$.test_options" + v.path.removeprefix("$"), v.rule, f"the conformance kit's options are not valid options: {v.message}") for v in wrong]
    return problems + _factory_problems(component.factory)

def _factory_problems(factory: Any) -> list[Violation]:
    if callable(factory) and not isinstance(factory, str):
        return []
    if not isinstance(factory, str):
        return [Violation("(factory)", "module:attribute", f"the factory is a {type(factory).__name__}; give 'package.module:Class' or a callable")]
    if not FACTORY_PATTERN.fullmatch(factory):
        return [Violation("(factory)", "module:attribute", f"factory {shorten(repr(factory), 120)} must be 'package.module:attribute'")]
    return []

def import_factory(entry: Entry) -> Callable[..., Any]:
    factory = entry.component.factory
    if callable(factory):
        return factory
    module_name, _, attr = factory.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except BaseException as exc:  # noqa: BLE001 - sys.exit() in a factory module is the plugin's fault
        raise PluginError(
            f"The {entry.kind} {entry.name!r} from {entry.plugin.distribution} {entry.plugin.version} names the factory "
            f"{factory!r}, which cannot be imported ({type(exc).__name__}: {shorten(exc)}). Fix the plugin's manifest or "
            f"reinstall {entry.plugin.distribution} with its dependencies."
        ) from exc
    if not callable(obj):
        raise PluginError(
            f"The {entry.kind} {entry.name!r} from {entry.plugin.distribution} {entry.plugin.version} names the factory "
            f"{factory!r}, which is a {type(obj).__name__}, not a callable. Point it at the class or function that builds "
            f"the component from its options."
        )
    return obj
