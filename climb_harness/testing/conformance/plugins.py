"""The plugin checks: it loads, its entry point resolves, its hook module stays light, it has components.

``climb list`` imports every installed plugin's hook module, so a hook module that imports torch
(or another heavy framework) slows down every command of every user: the kit imports it in a
fresh interpreter, calls its hooks and looks at what got imported.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import types
from typing import Any

from climb_harness.testing.conformance._report import fail, skip
from climb_harness.testing.conformance._subject import Check, Subject

#: Top-level modules a hook module must not import (directly or through what it imports).
HEAVY_MODULES = ("torch", "torchvision", "transformers", "tensorflow", "jax", "PIL")

# Imports the hook module by its name (or, when that is not importable, as the registry imported a
# lone file: from its path), calls its hooks, prints the heavy modules now imported.
_PROBE = """
import importlib, importlib.util, json, sys
name, file, heavy = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
try:
    found = importlib.util.find_spec(name)
except (ImportError, ValueError):
    found = None
if found is None and file:
    found = importlib.util.spec_from_file_location(name, file)
    plugin = importlib.util.module_from_spec(found)
    sys.modules[name] = plugin
    found.loader.exec_module(plugin)
else:
    plugin = importlib.import_module(name)
for hook in ("climb_tasks", "climb_encoders", "climb_algorithms"):
    if callable(getattr(plugin, hook, None)):
        getattr(plugin, hook)()
print(json.dumps(sorted(module for module in heavy if module in sys.modules)))
"""


def checks(info: Any) -> list[Check]:
    """The checks of one loaded (or failed) plugin, in order.

    Args:
        info: The registry's ``PluginInfo``.

    Returns:
        ``loads``; ``entry-point-resolves`` for a plugin installed through an entry point;
        ``light-import``; ``registers-components``.
    """
    found = [Check("loads", "plugin loads", _loads)]
    if info.source == "entry point":
        found.append(Check("entry-point-resolves", "entry point resolves", _entry_point))
    found.append(Check("light-import", "hook module imports no heavy module", _light_import))
    found.append(Check("registers-components", "registers components", _registers))
    return found


def entries_of(subject: Subject) -> list[Any]:
    """The registry entries the subject's plugin registered.

    Args:
        subject: A plugin under test.

    Returns:
        Its components' entries, by kind then name.
    """
    return [e for e in subject.registry.all_entries() if e.plugin is subject.plugin]


def _loads(subject: Subject) -> str:
    info = subject.plugin
    if info.errors:
        fail(" ".join(info.errors))
    return f"{info.distribution} {info.version}: {len(entries_of(subject))} component(s)"


def _entry_point(subject: Subject) -> str:
    from climb_harness.core.registry import ENTRY_POINT_GROUP

    subject.require("loads")
    info = subject.plugin
    found = [
        ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.name == info.name and ep.dist is not None and ep.dist.name == info.distribution
    ]
    if not found:
        fail(f"{info.distribution} has no entry point {info.name!r} in the group {ENTRY_POINT_GROUP!r}; "
             f"declare it in pyproject.toml under [project.entry-points.\"{ENTRY_POINT_GROUP}\"] and "
             "reinstall")
    loaded = found[0].load()
    registered = subject.registry.pm.get_plugin(info.name)
    if registered is not loaded:
        fail(f"the entry point {info.name} = {found[0].value} loads {loaded!r}, not the plugin the registry "
             f"registered ({registered!r})")
    return f"{info.name} = {found[0].value} ({info.distribution} {info.version})"


def _light_import(subject: Subject) -> str:
    subject.require("loads")
    plugin = subject.registry.pm.get_plugin(subject.plugin.name)
    if not isinstance(plugin, types.ModuleType):
        skip(f"the plugin is a {type(plugin).__name__}, not a module: there is no hook module to import")
    name, file = plugin.__name__, getattr(plugin, "__file__", None) or ""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, name, file, ",".join(HEAVY_MODULES)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        fail(f"importing {name} and calling its hooks in a fresh interpreter failed: "
             f"{proc.stderr.strip()[-600:]}")
    heavy = json.loads(lines[-1])
    if heavy:
        fail(f"importing {name} and calling its hooks imports {', '.join(heavy)}: every `climb` command pays "
             "for that. Keep the hook module to manifests and \"module:Class\" factory strings, and import "
             "heavy libraries in the component modules")
    return f"{name}: none of {', '.join(HEAVY_MODULES)}"


def _registers(subject: Subject) -> str:
    subject.require("loads")
    entries = entries_of(subject)
    if not entries:
        fail(f"{subject.plugin.label} registers no component: return at least one from its climb_tasks, "
             "climb_encoders or climb_algorithms hook")
    kinds = sorted({e.kind for e in entries})
    return f"{len(entries)} component(s): " + ", ".join(
        f"{kind} {', '.join(e.name for e in entries if e.kind == kind)}" for kind in kinds)

