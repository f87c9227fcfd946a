"""Plugin discovery, manifest validation and error isolation.

Plugins come from the entry-point group ``climb.plugins`` (loaded with pluggy's
``load_setuptools_entrypoints``) and from ``--plugin MODULE_OR_PATH``. A plugin that fails to
import, misspells a hook or registers a component with a broken manifest is recorded with its
distribution name and version and left out; every other plugin keeps working.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from climb_harness import hookspecs
from climb_harness.api import API_VERSION, Component
from climb_harness.errors import PluginError, UnknownComponentError, UsageError
from climb_harness.schemas import Violation, check_options_schema, options_with_defaults, validate

ENTRY_POINT_GROUP = "climb.plugins"
KINDS = ("task", "encoder", "algorithm")
_HOOK_OF_KIND = {"task": "climb_tasks", "encoder": "climb_encoders", "algorithm": "climb_algorithms"}


@dataclasses.dataclass
class PluginInfo:
    """A loaded (or failed) plugin module and the distribution it came from."""

    name: str
    distribution: str
    version: str
    source: str  # "entry point" or "--plugin"
    module: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        return f"plugin {self.name!r} ({self.distribution} {self.version})"

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


class _ClimbPluginManager(pluggy.PluginManager):
    """Treats every ``climb_*`` function of a plugin module as a hook, marked or not (as pytest does),
    so that a misspelled hook name is an error instead of silently never being called."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("climb_") and inspect.isfunction(getattr(plugin, name, None)):
            return {}
        return opts


def _format_plugin_exception(info: PluginInfo, exc: BaseException) -> str:
    if isinstance(exc, pluggy.PluginValidationError):
        detail = " ".join(str(exc).split())  # pluggy's message spans three lines; keep one paragraph
        return (
            f"{info.label} has an invalid hook implementation: {detail}. Fix the function's name or "
            f"arguments to match a hook in climb_harness.hookspecs (an implementation may take a subset "
            f"of the spec's arguments, never others)."
        )
    return (
        f"{info.label} failed to import ({type(exc).__name__}: {exc}). The rest of the plugins still work; "
        f"fix the error in module {info.module or info.name!r} or uninstall {info.distribution}."
    )


class Registry:
    """Every plugin and component found, with what is wrong with each."""

    def __init__(self, extra_plugins: Sequence[str] = (), *, entry_points: bool = True) -> None:
        self.pm = _ClimbPluginManager("climb")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.entries: dict[str, dict[str, list[Entry]]] = {kind: {} for kind in KINDS}
        if entry_points:
            self._load_entry_points()
        for spec in extra_plugins:
            self._load_extra(spec)
        self._collect_components()

    # ------------------------------------------------------------------ loading
    def _entry_points(self) -> list[tuple[importlib.metadata.EntryPoint, importlib.metadata.Distribution]]:
        found, seen = [], set()
        for dist in importlib.metadata.distributions():
            for ep in dist.entry_points:
                if ep.group != ENTRY_POINT_GROUP:  # parse METADATA only for plugins: it is slow
                    continue
                key = (ep.name, ep.value, dist.metadata["name"])
                if key not in seen:  # a dist on sys.path twice counts once
                    seen.add(key)
                    found.append((ep, dist))
        return found

    def _load_entry_points(self) -> None:
        owners: dict[str, PluginInfo] = {}
        for ep, dist in self._entry_points():
            info = PluginInfo(ep.name, dist.metadata["name"], dist.version, "entry point", ep.value)
            self.plugins.append(info)
            if ep.name in owners:
                other = owners[ep.name]
                info.errors.append(
                    f"{info.label} uses the entry-point name {ep.name!r}, which {other.distribution} "
                    f"{other.version} already uses; rename the entry point in one of the two distributions."
                )
                continue
            owners[ep.name] = info
            try:
                self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=ep.name)
            except Exception as exc:  # a plugin's import error must not stop discovery
                info.errors.append(_format_plugin_exception(info, exc))
                self._drop(ep.name)
                continue
            self._check_hooks(info)

    def _load_extra(self, spec: str) -> None:
        path = Path(spec)
        looks_like_path = spec.endswith(".py") or "/" in spec or "\\" in spec
        info = PluginInfo(path.stem if looks_like_path else spec, "(--plugin)", str(path) if looks_like_path else spec, "--plugin", spec)
        if looks_like_path and not path.exists():
            raise UsageError(
                f"--plugin {spec!r}: no such file or folder. Give the path of a plugin's .py file or package "
                f"folder, or the dotted name of an importable module (as with pytest -p)."
            )
        self.plugins.append(info)
        try:
            module = _import_plugin(spec, path, looks_like_path)
        except ModuleNotFoundError as exc:
            if exc.name == spec.split(".")[0] or exc.name == spec:
                raise UsageError(
                    f"--plugin {spec!r}: no module of that name can be imported. Install the plugin, add its folder "
                    f"to PYTHONPATH, or give the path of its .py file."
                ) from exc
            info.errors.append(_format_plugin_exception(info, exc))
            return
        except Exception as exc:
            info.errors.append(_format_plugin_exception(info, exc))
            return
        if self.pm.is_registered(module):
            return
        if self.pm.has_plugin(info.name):
            other = next((p for p in self.plugins if p.name == info.name and p is not info), None)
            owner = f"{other.distribution} {other.version}" if other else "another plugin"
            info.errors.append(
                f"{info.label} is not loaded: a plugin named {info.name!r} ({owner}) is already loaded. "
                f"Rename the file or module, or uninstall the installed plugin."
            )
            return
        try:
            self.pm.register(module, name=info.name)
        except Exception as exc:
            info.errors.append(_format_plugin_exception(info, exc))
            self._drop(info.name)
            return
        self._check_hooks(info)

    def _drop(self, name: str) -> None:
        """pluggy keeps a plugin whose registration failed half-way: take it out again."""
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def _check_hooks(self, info: PluginInfo) -> None:
        """check_pending() for one plugin: unregister it if it implements a hook that does not exist."""
        plugin = self.pm.get_plugin(info.name)
        unknown = [c.name for c in (self.pm.get_hookcallers(plugin) or []) if not c.has_spec()]
        if unknown:
            known = [n for n in dir(hookspecs) if n.startswith("climb_")]
            hints = "; ".join(
                f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(name, known, 1)) else repr(name)
                for name in unknown
            )
            info.errors.append(
                f"{info.label} implements hooks that do not exist: {hints}. Hooks are: {', '.join(known)}; "
                f"rename the function (or, if it is not a hook, give it a name that does not start with 'climb_')."
            )
            self.pm.unregister(plugin)

    # ------------------------------------------------------------------ components
    def _collect_components(self) -> None:
        by_name = {p.name: p for p in self.plugins}
        for kind in KINDS:
            caller = getattr(self.pm.hook, _HOOK_OF_KIND[kind])
            for impl in caller.get_hookimpls():
                info = by_name.get(impl.plugin_name) or PluginInfo(impl.plugin_name, "(unknown)", "-", "registered")
                try:
                    components = list(impl.function() or [])
                except Exception as exc:
                    info.errors.append(
                        f"{info.label}: hook {_HOOK_OF_KIND[kind]} raised {type(exc).__name__}: {exc}. "
                        f"Its components are left out; fix the hook."
                    )
                    continue
                for component in components:
                    self._add(kind, component, info)
        self._flag_duplicates()

    def _add(self, kind: str, component: Any, info: PluginInfo) -> None:
        hook = _HOOK_OF_KIND[kind]
        if not isinstance(component, Component):
            info.errors.append(
                f"{info.label}: hook {hook} returned {type(component).__name__} {component!r:.60}, not a "
                f"climb_harness.api.Component; build it with climb_harness.api.{kind}(manifest, factory)."
            )
            return
        entry = Entry(component, info)
        if component.kind != kind:
            entry.problems.append(Violation("$.kind", "kind", f"a {component.kind} returned by hook {hook}; return it from {_HOOK_OF_KIND[component.kind]}"))
        entry.problems += validate(kind, dict(component.manifest))
        if problem := api_version_problem(component.manifest.get("api_version")):
            entry.problems.append(problem)
        if isinstance(component.manifest.get("options"), Mapping):
            entry.problems += check_options_schema(component.manifest["options"])
        if isinstance(component.factory, str) and ":" not in component.factory:
            entry.problems.append(Violation("(factory)", "module:attribute", f"factory {component.factory!r} must be 'module:attribute'"))
        self.entries[kind].setdefault(component.name, []).append(entry)

    def _flag_duplicates(self) -> None:
        for kind, by_name in self.entries.items():
            for name, entries in by_name.items():
                if len(entries) < 2:
                    continue
                owners = " and ".join(f"{e.plugin.distribution} {e.plugin.version} (plugin {e.plugin.name!r})" for e in entries)
                for entry in entries:
                    entry.problems.append(
                        Violation("$.name", "unique name", f"{kind} {name!r} is registered by both {owners}; uninstall one of them or rename the component")
                    )

    # ------------------------------------------------------------------ queries
    def all_entries(self, kind: str | None = None) -> list[Entry]:
        kinds = [kind] if kind else list(KINDS)
        return [e for k in kinds for name in sorted(self.entries[k]) for e in self.entries[k][name]]

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Entry:
        """The valid component ``name``, or an error that names the existing ones and the closest."""
        entries = self.entries[kind].get(name)
        if not entries:
            known = self.names(kind)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            broken = [p for p in self.plugins if p.errors]
            note = f" ({len(broken)} plugin(s) failed to load: run `climb validate`.)" if broken else ""
            raise UnknownComponentError(
                f"No {kind} named {name!r}.{hint} Installed {kind}s: {', '.join(known) or '(none)'}. "
                f"Install the plugin that provides it, or load one with --plugin MODULE_OR_PATH.{note}"
            )
        entry = entries[0]
        if entry.problems:
            raise PluginError(
                f"The {kind} {name!r} from {entry.plugin.distribution} {entry.plugin.version} is invalid: "
                + "; ".join(str(p) for p in entry.problems)
                + ". Fix its manifest (run `climb validate` for details)."
            )
        return entry

    def resolve_options(self, kind: str, name: str, options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        entry = self.get(kind, name)
        resolved, problems = options_with_defaults(entry.manifest.get("options"), options)
        if problems:
            allowed = ", ".join(sorted(entry.manifest.get("options", {}).get("properties", {}))) or "(none)"
            raise UsageError(
                f"Invalid options for {kind} {name!r}{' at ' + where if where else ''}: "
                + "; ".join(str(p) for p in problems)
                + f". Its options are: {allowed} (see `climb list {kind}s --json`)."
            )
        return resolved

    def build(self, kind: str, name: str, options: Mapping[str, Any] | None = None, where: str = "") -> Any:
        """Validate ``options`` (defaults filled in), import the factory and build the component."""
        entry = self.get(kind, name)
        resolved = self.resolve_options(kind, name, options or {}, where)
        factory = _import_factory(entry)
        try:
            obj = factory(resolved)
        except (FileNotFoundError, UsageError, PluginError):
            raise
        except Exception as exc:
            raise PluginError(
                f"Building {kind} {name!r} from {entry.plugin.distribution} {entry.plugin.version} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            obj.manifest = dict(entry.manifest)
        except AttributeError:  # pragma: no cover - frozen objects
            pass
        return obj

    def provenance(self) -> list[dict[str, str]]:
        """Every loaded plugin's distribution and version, for results.json."""
        return [
            {"plugin": p.name, "distribution": p.distribution, "version": p.version}
            for p in self.plugins
            if p.ok
        ]

    def used_distributions(self, names: Mapping[str, str]) -> list[dict[str, str]]:
        """Distributions of the components a run uses (``{kind: name}``)."""
        out = []
        for kind, name in names.items():
            entry = self.get(kind, name)
            out.append({"kind": kind, "name": name, "distribution": entry.plugin.distribution, "version": entry.plugin.version})
        return out


def _import_plugin(spec: str, path: Path, looks_like_path: bool) -> Any:
    if not looks_like_path:
        return importlib.import_module(spec)
    path = path.resolve()
    if path.is_dir():
        sys.path.insert(0, str(path.parent))
        return importlib.import_module(path.name)
    module_name = f"climb_plugin_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _import_factory(entry: Entry) -> Callable[..., Any]:
    factory = entry.component.factory
    if callable(factory):
        return factory
    module_name, _, attr = factory.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:
        raise PluginError(
            f"The {entry.kind} {entry.name!r} from {entry.plugin.distribution} {entry.plugin.version} names the factory "
            f"{factory!r}, which cannot be imported ({type(exc).__name__}: {exc}). Fix the plugin's manifest or "
            f"reinstall {entry.plugin.distribution} with its dependencies."
        ) from exc
    return obj
