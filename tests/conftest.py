"""Shared fixtures of the core tests: real plugin distributions on a temporary ``sys.path`` entry.

The helper module ``_plugin_factory.py`` is loaded by file path (the test folder is not a package
and ``--import-mode=importlib`` does not put it on ``sys.path``) and handed out as the ``pf``
fixture.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download anything from a test


def _load_helper() -> ModuleType:
    name = "climb_core_tests_plugin_factory"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_plugin_factory.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_PF = _load_helper()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def pf() -> ModuleType:
    """The plugin-factory helpers (manifests, hook-module sources, :class:`PluginSite`)."""
    return _PF


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A :class:`PluginSite` on ``sys.path``: distributions written there are found by ``importlib.metadata``."""
    root = tmp_path / "site-packages"
    root.mkdir()
    plugin_site = _PF.PluginSite(root)
    monkeypatch.syspath_prepend(str(root))  # also invalidates importlib's caches
    yield plugin_site
    plugin_site.cleanup_modules()
