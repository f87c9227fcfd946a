"""Plugin discovery, manifest validation and error isolation.

Plugins come from the entry-point group ``climb.plugins`` (loaded with pluggy's
``load_setuptools_entrypoints``) and from ``--plugin MODULE_OR_PATH``. A plugin that fails to
import, misspells a hook or registers a component with a broken manifest is recorded with its
distribution name and version and left out; every other plugin keeps working.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from climb_harness.api import hookspecs
from climb_harness.core import plugin_paths
from climb_harness.api import Component
from climb_harness.api.errors import MissingDataError, PluginError, RunError, UnknownComponentError, UsageError, shorten
from climb_harness.core.components import (KINDS, Entry, PluginInfo, _display_name, _HOOK_OF_KIND, import_factory, manifest_problems)
from climb_harness.core.schemas import Violation, options_with_defaults

ENTRY_POINT_GROUP = "climb.plugins"


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
            f"arguments to match a hook in climb_harness.api.hookspecs (an implementation may take a subset "
            f"of the spec's arguments, never others)."
        )
    if isinstance(exc, SystemExit):
        what = f"called sys.exit({shorten(exc.code, 60)!s}) while being imported"
    elif isinstance(exc, KeyboardInterrupt):
        what = "raised KeyboardInterrupt while being imported"
    else:
        what = f"failed to import ({type(exc).__name__}: {shorten(exc)})"
    return (
        f"{info.label} {what}. The rest of the plugins still work; "
        f"fix the error in module {shorten(repr(info.module or info.name), 120)} or uninstall {info.distribution}."
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
            except BaseException as exc:  # noqa: BLE001 - a plugin's sys.exit() or error must not stop discovery
                info.errors.append(_format_plugin_exception(info, exc))
                self._drop(ep.name)
                continue
            self._check_hooks(info)

    def _load_extra(self, spec: str) -> None:
        """Load ``--plugin spec`` (rules in :mod:`climb_harness.core.plugin_paths`)."""
        for target in plugin_paths.targets(spec):
            self._load_target(spec, target)

    def _load_target(self, spec: str, target: plugin_paths.PluginTarget) -> None:
        info = PluginInfo(target.name, target.distribution, target.version, "--plugin", target.module)
        self.plugins.append(info)
        try:
            module = target.load()
        except ModuleNotFoundError as exc:
            if target.file is None and exc.name in (target.module, target.module.split(".")[0]):
                self.plugins.remove(info)
                raise UsageError(
                    f"--plugin {shorten(spec, 200)!r}: no module {target.module!r} can be imported. Install the plugin, "
                    f"add its folder to PYTHONPATH, or give the path of its .py file, package or distribution folder."
                ) from exc
            info.errors.append(_format_plugin_exception(info, exc))
            return
        except BaseException as exc:  # noqa: BLE001 - isolate sys.exit() and errors at import
            info.errors.append(_format_plugin_exception(info, exc))
            return
        if self.pm.is_registered(module):
            self.plugins.remove(info)  # installed and named again with --plugin: loaded once
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
        except BaseException as exc:  # noqa: BLE001
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
            hook = _HOOK_OF_KIND[kind]
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                info = by_name.get(impl.plugin_name) or PluginInfo(impl.plugin_name, "(unknown)", "-", "registered")
                try:
                    returned = impl.function()
                    components = [] if returned is None else list(returned) if isinstance(returned, (list, tuple)) else returned
                except BaseException as exc:  # noqa: BLE001 - sys.exit() in a hook must not end the command
                    info.errors.append(
                        f"{info.label}: hook {hook} raised {type(exc).__name__}: {shorten(exc)}. "
                        f"Its components are left out; fix the hook."
                    )
                    continue
                if not isinstance(components, list):
                    info.errors.append(
                        f"{info.label}: hook {hook} returned {type(returned).__name__} {shorten(repr(returned), 60)}, not a "
                        f"list of Components; return [climb_harness.api.{kind}(manifest, factory), ...]."
                    )
                    continue
                for component in components:
                    self._add(kind, component, info)
        self._flag_duplicates()
        self._flag_empty_plugins()
        self._flag_unmet_requirements()

    def _add(self, kind: str, component: Any, info: PluginInfo) -> None:
        hook = _HOOK_OF_KIND[kind]
        if not isinstance(component, Component):
            info.errors.append(
                f"{info.label}: hook {hook} returned {type(component).__name__} {shorten(repr(component), 60)}, not a "
                f"climb_harness.api.Component; build it with climb_harness.api.{kind}(manifest, factory)."
            )
            return
        if not isinstance(component.manifest, Mapping):
            info.errors.append(
                f"{info.label}: hook {hook} returned a Component whose manifest is a {type(component.manifest).__name__}, "
                f"not a dict; build it with climb_harness.api.{kind}({{'name': ..., ...}}, factory)."
            )
            return
        try:
            manifest = dict(component.manifest)
        except Exception as exc:  # noqa: BLE001 - a Mapping whose items() raises
            info.errors.append(f"{info.label}: hook {hook} returned a manifest that cannot be read ({type(exc).__name__}: {shorten(exc)}); return a plain dict.")
            return
        component = Component(component.kind, manifest, component.factory)
        entry = Entry(component, info, manifest_problems(kind, component))
        self.entries[kind].setdefault(_display_name(manifest.get("name")), []).append(entry)

    def _flag_empty_plugins(self) -> None:
        """A plugin that offers nothing and observes nothing is almost always a wrong module."""
        registered = {e.plugin.name for kind in KINDS for entries in self.entries[kind].values() for e in entries}
        for info in self.plugins:
            if not info.ok or info.name in registered:
                continue
            plugin = self.pm.get_plugin(info.name)
            hooks = [c.name for c in (self.pm.get_hookcallers(plugin) or [])] if plugin is not None else []
            if not any(h not in _HOOK_OF_KIND.values() for h in hooks):
                info.warnings.append(
                    f"{info.label} registers no component and implements no lifecycle hook: module "
                    f"{shorten(repr(info.module), 120)} has no climb_tasks/climb_encoders/climb_algorithms returning a "
                    f"component. Point --plugin (or the entry point) at the module that defines the hooks."
                )

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

    def providers(self, capability: str) -> list[str]:
        """The valid encoders whose manifest ``provides`` ``capability``."""
        return [e.name for e in self.all_entries("encoder") if not e.problems and capability in (e.manifest.get("provides") or [])]

    def check_capabilities(self, algorithm: str, encoder: str, where: str = "") -> None:
        """Refuse an encoder that lacks a capability the algorithm ``requires`` (before anything is trained)."""
        required = list(self.get("algorithm", algorithm).manifest.get("requires") or [])
        provided = set(self.get("encoder", encoder).manifest.get("provides") or [])
        missing = [c for c in required if c not in provided]
        if missing:
            offers = "; ".join(f"{c}: {', '.join(self.providers(c)) or 'no installed encoder'}" for c in missing)
            raise UsageError(
                f"The algorithm {algorithm!r}{' at ' + where if where else ''} requires {', '.join(map(repr, missing))}, which "
                f"the encoder {encoder!r} does not provide (its manifest's provides: {sorted(provided) or '[]'}). Encoders that "
                f"do: {offers}. Choose one of them as the experiment's encoder, or drop the algorithm."
            )

    def _flag_unmet_requirements(self) -> None:
        for entry in self.all_entries("algorithm"):
            if entry.problems:
                continue
            unmet = [c for c in entry.manifest.get("requires") or [] if not self.providers(c)]
            if unmet:
                entry.plugin.warnings.append(
                    f"{entry.plugin.label}: algorithm {entry.name!r} requires {', '.join(map(repr, unmet))}, which no installed "
                    f"encoder provides, so no experiment can run it; install an encoder plugin that provides it."
                )

    def check_factories(self) -> None:
        """Import every valid component's factory (``climb validate``; ``climb list`` stays import-free)."""
        for entry in self.all_entries():
            if entry.problems:
                continue
            try:
                import_factory(entry)
            except PluginError as exc:
                entry.problems.append(Violation("(factory)", "importable callable", str(exc)))

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
                f"No {kind} named {shorten(repr(name), 80)}.{hint} Installed {kind}s: {shorten(', '.join(known) or '(none)', 800)}. "
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
                + f". Its options are: {allowed} (see `climb show {name}`)."
            )
        return resolved

    def build(self, kind: str, name: str, options: Mapping[str, Any] | None = None, where: str = "") -> Any:
        """Validate ``options`` (defaults filled in), import the factory and build the component."""
        entry = self.get(kind, name)
        resolved = self.resolve_options(kind, name, options or {}, where)
        factory = import_factory(entry)
        try:
            obj = factory(resolved)
        except (UsageError, PluginError, RunError, KeyboardInterrupt):
            raise
        except FileNotFoundError as exc:
            raise MissingDataError(
                f"The {kind} {name!r} from {entry.plugin.distribution} {entry.plugin.version} cannot find a file: "
                f"{shorten(exc, 600)} (Put the data there, or set the option that points at it: see `climb show {name}`.)"
            ) from exc
        except BaseException as exc:  # noqa: BLE001 - a factory's sys.exit() must not end the run silently
            raise PluginError(
                f"Building {kind} {name!r} from {entry.plugin.distribution} {entry.plugin.version} failed: "
                f"{type(exc).__name__}: {shorten(exc)}. This is the plugin's fault, not the config's, unless the "
                f"message names an option: report it to the plugin's authors."
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


