"""Real plugin distributions, written into a temporary folder, for the registry and CLI tests.

Why not mock the registry: discovery is the thing under test. A :class:`PluginSite` is a folder
that is put on ``sys.path``; each distribution in it is a ``<name>-<version>.dist-info`` folder
with ``METADATA`` and an ``entry_points.txt`` naming a ``[climb.plugins]`` hook module that lives
next to it, so ``importlib.metadata`` (and pluggy's ``load_setuptools_entrypoints``) find it
exactly as they find a pip-installed plugin.

Every module name starts with the site's prefix and every component name with ``ztest-``, so the
tests never collide with (and can filter out) the real plugins installed in the same venv.
"""

from __future__ import annotations

import copy
import importlib
import itertools
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import API_VERSION

_COUNTER = itertools.count()

#: A plain factory class for generated hook modules: records what the harness passed in.
FACTORY_CLASS = '''
class Thing:
    """A component built by the harness: keeps the options it was given."""

    def __init__(self, options):
        self.options = options
'''


# --------------------------------------------------------------------------- manifests
def task_manifest(name: str = "ztest-task", **overrides: Any) -> dict[str, Any]:
    """A valid classification-task manifest (``kind`` is added by ``api.task``)."""
    manifest: dict[str, Any] = {
        "name": name,
        "api_version": API_VERSION,
        "summary": f"test task {name}",
        "modality": "vision-language",
        "images_per_example": 1,
        "head": {"type": "classification", "num_labels": 3},
        "metric": "accuracy",
        "random_baseline": 33.3,
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_examples": {"type": "integer", "minimum": 1, "default": 10},
                "data_dir": {"type": ["string", "null"], "default": None},
                "layers": {"type": "array", "items": {"type": "integer"}, "default": [1, 2]},
            },
        },
    }
    manifest.update(overrides)
    return manifest


def encoder_manifest(name: str = "ztest-encoder", **overrides: Any) -> dict[str, Any]:
    """A valid encoder manifest."""
    manifest: dict[str, Any] = {
        "name": name,
        "api_version": API_VERSION,
        "summary": f"test encoder {name}",
        "modalities": ["vision-language"],
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"hidden": {"type": "integer", "default": 8}},
        },
    }
    manifest.update(overrides)
    return manifest


def algorithm_manifest(name: str = "ztest-algorithm", **overrides: Any) -> dict[str, Any]:
    """A valid algorithm manifest."""
    manifest: dict[str, Any] = {
        "name": name,
        "api_version": API_VERSION,
        "summary": f"test algorithm {name}",
        "family": "baseline",
        "options": {"type": "object", "additionalProperties": False, "properties": {}},
    }
    manifest.update(overrides)
    return manifest


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``mapping`` with ``keys`` removed (a manifest missing a required field)."""
    return {k: copy.deepcopy(v) for k, v in mapping.items() if k not in keys}


# --------------------------------------------------------------------------- hook modules
def hook_module(
    tasks: Sequence[tuple[Mapping[str, Any], str]] = (),
    encoders: Sequence[tuple[Mapping[str, Any], str]] = (),
    algorithms: Sequence[tuple[Mapping[str, Any], str]] = (),
    extra: str = "",
) -> str:
    """Source of a hook module registering ``(manifest, factory)`` pairs of each kind.

    ``factory`` may contain ``{module}``, replaced by the module's own name when it is written.
    """
    parts = ["from climb_harness.api import algorithm, encoder, hookimpl, task", FACTORY_CLASS]
    for kind, components in (("task", tasks), ("encoder", encoders), ("algorithm", algorithms)):
        if components:
            items = ", ".join(f"{kind}({dict(m)!r}, {f!r})" for m, f in components)
            parts.append(f"@hookimpl\ndef climb_{kind}s():\n    return [{items}]\n")
    parts.append(textwrap.dedent(extra))
    return "\n".join(parts)


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "_", dist).lower()


class PluginSite:
    """A folder on ``sys.path`` holding plugin distributions (``.dist-info``) and their modules."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"ctp{next(_COUNTER)}_"

    def module(self, stem: str) -> str:
        """The importable name of this site's module ``stem`` (unique to the site)."""
        return f"{self.prefix}{stem}"

    def write_module(self, stem: str, source: str) -> str:
        """Write ``<prefix><stem>.py`` (``{module}`` in the source becomes its name); return its name."""
        name = self.module(stem)
        (self.root / f"{name}.py").write_text(source.replace("{module}", name), encoding="utf-8")
        importlib.invalidate_caches()
        return name

    def add_distribution(
        self, dist: str, version: str, entry_points: Mapping[str, str], group: str = "climb.plugins"
    ) -> Path:
        """A ``.dist-info`` folder whose ``entry_points.txt`` maps entry-point names to modules."""
        info = self.root / f"{_normalise(dist)}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = [f"[{group}]"] + [f"{name} = {target}" for name, target in entry_points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (info / "RECORD").write_text("", encoding="utf-8")
        importlib.invalidate_caches()  # importlib.metadata caches folder listings by mtime
        return info

    def add_plugin(
        self,
        dist: str,
        *,
        version: str = "0.1.0",
        tasks: Sequence[tuple[Mapping[str, Any], str]] = (),
        encoders: Sequence[tuple[Mapping[str, Any], str]] = (),
        algorithms: Sequence[tuple[Mapping[str, Any], str]] = (),
        extra: str = "",
        source: str | None = None,
        ep_name: str | None = None,
    ) -> str:
        """One distribution with one entry point to a generated (or given) hook module.

        Returns the entry-point (plugin) name, which is also the hook module's stem.
        """
        ep = ep_name or self.module(_normalise(dist))
        module = self.write_module(
            ep.removeprefix(self.prefix) + "_hooks",
            source if source is not None else hook_module(tasks, encoders, algorithms, extra),
        )
        self.add_distribution(dist, version, {ep: module})
        return ep

    def cleanup_modules(self) -> None:
        """Forget every module imported from this site (and ``--plugin`` files), so tests stay independent."""
        for name, mod in list(sys.modules.items()):
            file = getattr(mod, "__file__", None) or ""
            if name.startswith((self.prefix, "climb_plugin_")) or file.startswith(str(self.root)):
                sys.modules.pop(name, None)
        importlib.invalidate_caches()


def mine(
    rows: Iterable[Mapping[str, Any]], key: str = "name", prefix: str = "ztest-"
) -> list[Mapping[str, Any]]:
    """The rows that belong to the test plugins (real plugins may be installed beside them)."""
    return [r for r in rows if str(r.get(key, "")).startswith(prefix)]


#: A hook module that stalls a run in its second task (writing CLIMB_TEST_STALL's file first), so that a
#: test can kill the process there and check that --resume gives the uninterrupted numbers.
STALL_IN_SECOND_TASK = '''
import os, time
from climb_harness.api import hookimpl

@hookimpl
def climb_epoch_end(run, task_index, task, epoch, logs):
    if task_index == 1 and os.environ.get("CLIMB_TEST_STALL"):
        open(os.environ["CLIMB_TEST_STALL"], "w").write(task)
        time.sleep(600)  # the test kills the process here, in the middle of the second task
'''
