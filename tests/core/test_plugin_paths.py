"""``--plugin`` with the package layout CONTRIBUTING recommends: pytest's ``-p`` and rootdir rules.

The layout (what ``climb new`` writes)::

    climb-<name>/pyproject.toml            [project.entry-points."climb.plugins"] <ep> = "<pkg>.plugin"
    climb-<name>/src/<pkg>/__init__.py
    climb-<name>/src/<pkg>/plugin.py       the hooks; factories named "<pkg>.tasks:MyTask"
    climb-<name>/src/<pkg>/tasks.py
"""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.api.errors import UsageError
from climb_harness.core.registry import Registry

_COUNT = itertools.count()


@pytest.fixture
def isolated_path(monkeypatch):
    """``--plugin`` puts folders on sys.path and imports packages: undo both after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("ztestpkg", "climb_plugin_ztest")):
            sys.modules.pop(name, None)


def write_distribution(root: Path, pf, *, entry_point: bool = True, plugin_module: bool = True) -> tuple[Path, str]:
    """A distribution folder in the recommended src layout; returns (folder, package name)."""
    pkg = f"ztestpkg{next(_COUNT)}"
    dist = root / f"climb-{pkg}"
    src = dist / "src" / pkg
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("", encoding="utf-8")
    (src / "tasks.py").write_text(pf.FACTORY_CLASS.replace("class Thing", "class MyTask"), encoding="utf-8")
    manifest = pf.task_manifest(f"ztest-{pkg}")
    hooks = (
        "from climb_harness.api import hookimpl, task\n\n"
        f"@hookimpl\ndef climb_tasks():\n    return [task({manifest!r}, '{pkg}.tasks:MyTask')]\n"
    )
    if plugin_module:
        (src / "plugin.py").write_text(hooks, encoding="utf-8")
    points = f'\n[project.entry-points."climb.plugins"]\n{pkg} = "{pkg}.plugin"\n' if entry_point else ""
    (dist / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "climb-{pkg}"
            version = "0.1.0"
            """
        )
        + points,
        encoding="utf-8",
    )
    return dist, pkg


def _built(registry: Registry, pkg: str) -> object:
    return registry.build("task", f"ztest-{pkg}")


@pytest.mark.parametrize("form", ["hook-file", "package-folder", "distribution-folder"])
def test_recommended_layout_loads_and_factories_resolve(tmp_path, pf, isolated_path, form):
    dist, pkg = write_distribution(tmp_path, pf)
    spec = {
        "hook-file": dist / "src" / pkg / "plugin.py",
        "package-folder": dist / "src" / pkg,
        "distribution-folder": dist,
    }[form]
    registry = Registry([str(spec)], entry_points=False)
    (info,) = registry.plugins
    assert info.ok and not info.warnings, info.errors + info.warnings
    assert info.module == f"{pkg}.plugin"
    assert _built(registry, pkg).options["max_examples"] == 10  # "<pkg>.tasks:MyTask" resolved
    if form == "distribution-folder":
        assert (info.name, info.distribution) == (pkg, f"climb-{pkg}")


def test_package_without_pyproject_loads_its_plugin_module(tmp_path, pf, isolated_path):
    dist, pkg = write_distribution(tmp_path, pf, entry_point=False)
    (dist / "pyproject.toml").unlink()
    registry = Registry([str(dist / "src" / pkg)], entry_points=False)
    (info,) = registry.plugins
    assert info.ok and info.module == f"{pkg}.plugin"
    assert _built(registry, pkg)


def test_package_that_registers_nothing_is_a_warning(tmp_path, pf, isolated_path):
    dist, pkg = write_distribution(tmp_path, pf, entry_point=False, plugin_module=False)
    result = CliRunner().invoke(main, ["validate", "--plugin", str(dist / "src" / pkg)])
    assert result.exit_code == 0, result.output
    assert "WARN " in result.stdout and "registers no component" in result.stdout
    assert f"ok    plugin '{pkg}'" not in result.stdout


def test_lone_file_imports_its_siblings(tmp_path, pf, isolated_path):
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "ztestpkg_helpers.py").write_text(pf.FACTORY_CLASS, encoding="utf-8")
    manifest = pf.task_manifest("ztest-loose")
    (folder / "ztest_loose.py").write_text(
        "import ztestpkg_helpers\nfrom climb_harness.api import hookimpl, task\n\n"
        f"@hookimpl\ndef climb_tasks():\n    return [task({manifest!r}, ztestpkg_helpers.Thing)]\n",
        encoding="utf-8",
    )
    registry = Registry([str(folder / "ztest_loose.py")], entry_points=False)
    assert registry.plugins[0].ok, registry.plugins[0].errors
    assert registry.build("task", "ztest-loose").options["max_examples"] == 10


def test_folder_that_is_neither_package_nor_distribution_is_a_usage_error(tmp_path, isolated_path):
    with pytest.raises(UsageError, match="neither __init__.py"):
        Registry([str(tmp_path)], entry_points=False)
    result = CliRunner().invoke(main, ["list", "--plugin", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_distribution_without_entry_point_is_a_usage_error(tmp_path, pf, isolated_path):
    dist, _ = write_distribution(tmp_path, pf, entry_point=False)
    result = CliRunner().invoke(main, ["list", "--plugin", str(dist)])
    assert result.exit_code == 2
    assert "declares no [project.entry-points" in result.stderr


def test_an_installed_plugin_named_again_loads_once(tmp_path, pf, isolated_path, site):
    dist, pkg = write_distribution(tmp_path, pf)
    sys.path.insert(0, str(dist / "src"))
    site.add_distribution(f"climb-{pkg}", "0.1.0", {pkg: f"{pkg}.plugin"})
    registry = Registry([str(dist / "src" / pkg / "plugin.py")])
    assert [p.name for p in registry.plugins].count(pkg) == 1
    assert len(registry.entries["task"][f"ztest-{pkg}"]) == 1


def test_hook_file_named_by_an_entry_point_gets_the_installed_name(tmp_path, pf, isolated_path):
    """The same plugin name whichever form of --plugin is used, so `climb validate --plugin F NAME` works."""
    dist, pkg = write_distribution(tmp_path, pf)
    hook_file = dist / "src" / pkg / "plugin.py"
    (info,) = Registry([str(hook_file)], entry_points=False).plugins
    assert (info.name, info.distribution) == (pkg, f"climb-{pkg}")
    result = CliRunner().invoke(main, ["validate", "--plugin", str(hook_file), f"climb-{pkg}"])
    assert result.exit_code == 0, result.output
    assert f"ok    plugin '{pkg}' (climb-{pkg} " in result.stdout


def test_validate_with_plugin_checks_only_that_plugin(tmp_path, pf, isolated_path):
    dist, pkg = write_distribution(tmp_path, pf)
    result = CliRunner().invoke(main, ["validate", "--plugin", str(dist)])
    assert result.exit_code == 0, result.output
    assert "1 plugin(s) checked" in result.stdout
