"""What ``--plugin MODULE_OR_PATH`` imports: the rules of pytest's ``-p`` and rootdir, for plugins.

* ``NAME`` (a dotted module name) is imported as it is, like ``pytest -p NAME``.
* ``path/to/file.py`` inside a package (its folder has ``__init__.py``): the top-most folder that
  still has ``__init__.py`` is the top package; its parent goes first on ``sys.path`` and the file is
  imported by its dotted name (``src/climb_mytask/plugin.py`` -> ``climb_mytask.plugin``), so the
  factories ``"climb_mytask.module:Class"`` that CONTRIBUTING recommends resolve. A file outside any
  package is imported on its own (as ``climb_plugin_<stem>``) with its folder on ``sys.path``.
* ``path/to/package`` (a folder with ``__init__.py``): the hook module its entry point would load:
  the ``climb.plugins`` entry point of the nearest ``pyproject.toml`` above it that points into the
  package; else ``<package>.plugin`` when ``plugin.py`` exists; else the package itself.
* ``path/to/distribution`` (a folder with ``pyproject.toml``, e.g. what ``climb new`` writes): every
  ``climb.plugins`` entry point of its ``pyproject.toml``, with its ``src/`` (or itself) on ``sys.path``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from climb_harness.api.errors import UsageError, shorten

ENTRY_POINT_GROUP = "climb.plugins"


@dataclasses.dataclass(frozen=True)
class PluginTarget:
    """One hook module to import for a ``--plugin`` argument."""

    name: str  # the plugin's name in the registry (entry-point name, or module name)
    module: str  # dotted module name (or ``climb_plugin_<stem>`` for a lone file)
    file: Path | None = None  # set for a lone file, imported by path
    distribution: str = "(--plugin)"
    version: str = ""

    def load(self) -> ModuleType:
        """Import the module (the caller isolates whatever it raises)."""
        if self.file is None:
            return importlib.import_module(self.module)
        return _import_file(self.module, self.file)


def looks_like_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec or Path(spec).is_dir()


def targets(spec: str) -> list[PluginTarget]:
    """The hook modules ``--plugin spec`` loads, with ``sys.path`` prepared for them."""
    if not looks_like_path(spec):
        return [PluginTarget(spec, spec, version=spec)]
    path = Path(spec)
    if not path.exists():
        raise UsageError(
            f"--plugin {shorten(spec, 200)!r}: no such file or folder (given with --plugin or in the config's plugins:; relative paths are taken from the current folder). Give the path of a plugin's .py file, package "
            "folder or distribution folder (with pyproject.toml), or the dotted name of an importable module (as with pytest -p)."
        )
    path = path.resolve()
    if path.is_file():
        return [_file_target(spec, path)]
    if (path / "__init__.py").is_file():
        return [_package_target(spec, path)]
    if (path / "pyproject.toml").is_file():
        return _distribution_targets(spec, path)
    raise UsageError(
        f"--plugin {shorten(spec, 200)!r} is a folder with neither __init__.py (a package) nor pyproject.toml (a "
        "distribution). Point --plugin at the plugin's package folder, its hook module (.py) or its distribution folder."
    )


def _prepend(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()


def _top_package(folder: Path) -> Path:
    """The top-most folder, from ``folder`` up, that still has ``__init__.py``."""
    top = folder
    while (top.parent / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return top


def _file_target(spec: str, path: Path) -> PluginTarget:
    if path.suffix != ".py":
        raise UsageError(f"--plugin {shorten(spec, 200)!r} is not a .py file. Give a plugin's hook module, package or distribution folder.")
    if (path.parent / "__init__.py").is_file():
        root = _top_package(path.parent).parent
        _prepend(root)
        dotted = ".".join(path.relative_to(root).with_suffix("").parts)
        if path.stem == "__init__":
            dotted = dotted.rsplit(".", 1)[0]
        for pyproject in _pyprojects_above(_top_package(path.parent))[:1]:
            for name, module in _entry_points(pyproject).items():
                if module == dotted:  # the entry point that loads this very file: same name as when installed
                    return PluginTarget(name, dotted, distribution=str(_project(pyproject).get("name", "(--plugin)")), version=str(path))
        return PluginTarget(dotted, dotted, version=str(path))
    _prepend(path.parent)
    return PluginTarget(path.stem, f"climb_plugin_{path.stem}", file=path, version=str(path))


def _package_target(spec: str, path: Path) -> PluginTarget:
    root = _top_package(path).parent
    _prepend(root)
    package = ".".join(path.relative_to(root).parts)
    for pyproject in _pyprojects_above(path):
        for name, module in _entry_points(pyproject).items():
            if module == package or module.startswith(package + "."):
                project = _project(pyproject)
                return PluginTarget(name, module, distribution=project.get("name", "(--plugin)"), version=str(path))
        break  # only the nearest pyproject.toml speaks for the package
    if (path / "plugin.py").is_file():
        return PluginTarget(f"{package}.plugin", f"{package}.plugin", version=str(path))
    return PluginTarget(package, package, version=str(path))


def _distribution_targets(spec: str, path: Path) -> list[PluginTarget]:
    pyproject = path / "pyproject.toml"
    points = _entry_points(pyproject)
    if not points:
        raise UsageError(
            f"--plugin {shorten(spec, 200)!r}: {pyproject} declares no [project.entry-points.\"climb.plugins\"] entry "
            "point. Add one naming the hook module (e.g. my_plugin = \"climb_mytask.plugin\"), or point --plugin at the module."
        )
    _prepend(path / "src" if (path / "src").is_dir() else path)
    project = _project(pyproject)
    dist = str(project.get("name", "(--plugin)"))
    return [PluginTarget(name, module, distribution=dist, version=str(path)) for name, module in points.items()]


def _pyprojects_above(path: Path, levels: int = 3) -> list[Path]:
    found = []
    for folder in [path, *path.parents][1 : levels + 1]:
        if (folder / "pyproject.toml").is_file():
            found.append(folder / "pyproject.toml")
    return found


def _project(pyproject: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise UsageError(f"--plugin: reading {pyproject} needs Python 3.11 (tomllib); point --plugin at the hook module instead.") from None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"--plugin: {pyproject} cannot be read as TOML ({shorten(exc, 200)}). Fix the file.") from exc
    project = data.get("project")
    return project if isinstance(project, dict) else {}


def _entry_points(pyproject: Path) -> dict[str, str]:
    """``{entry-point name: module}`` of the ``climb.plugins`` group (``module:attr`` keeps the module)."""
    group = _project(pyproject).get("entry-points", {})
    points = group.get(ENTRY_POINT_GROUP, {}) if isinstance(group, dict) else {}
    if not isinstance(points, dict):
        return {}
    return {str(name): str(value).partition(":")[0].strip() for name, value in points.items() if isinstance(value, str)}


def _import_file(module_name: str, path: Path) -> ModuleType:
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
