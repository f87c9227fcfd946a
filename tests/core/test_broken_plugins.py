"""Broken plugins next to a healthy one: every command still works, the broken plugin is named with
its distribution and the hook at fault, and nothing prints a traceback or exits with the plugin's code.

Before these tests, a ``Component`` whose manifest is a list gave a traceback in every command, and
``sys.exit(3)`` at import (or ``SystemExit`` in a hook) made every command exit 3 printing nothing.
"""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.core.registry import Registry

FACTORY = "{module}:Thing"
HEADER = "from climb_harness.api import Component, algorithm, encoder, hookimpl, task\n"


def _hook(body: str, name: str = "climb_tasks") -> str:
    return HEADER + f"@hookimpl\ndef {name}():\n" + textwrap.indent(textwrap.dedent(body), "    ")


# (id, hook-module source (``{task}`` is a valid task manifest literal), words the error holds, exit code of validate)
BROKEN: list[tuple[str, str, list[str], int]] = [
    ("import-raises-valueerror", "raise ValueError('bad config constant')\n", ["failed to import (ValueError: bad config constant)"], 1),
    ("import-syntax-error", "def broken(:\n", ["failed to import (SyntaxError"], 1),
    ("import-missing-dependency", "import ztest_not_installed_dependency\n", ["failed to import (ModuleNotFoundError", "ztest_not_installed_dependency"], 1),
    ("import-sys-exit-3", "import sys\nsys.exit(3)\n", ["called sys.exit(3) while being imported"], 1),
    ("import-sys-exit-0", "import sys\nsys.exit(0)\n", ["called sys.exit(0) while being imported"], 1),
    ("import-keyboard-interrupt", "raise KeyboardInterrupt\n", ["raised KeyboardInterrupt while being imported"], 1),
    ("hook-raises", _hook("raise RuntimeError('no data')\n"), ["hook climb_tasks raised RuntimeError: no data"], 1),
    ("hook-sys-exit", _hook("import sys\nsys.exit(4)\n"), ["hook climb_tasks raised SystemExit: 4"], 1),
    ("hook-returns-dict", _hook("return {'name': 'x'}\n"), ["hook climb_tasks returned dict", "not a list of Components"], 1),
    ("hook-returns-string", _hook("return 'ztest-task'\n"), ["hook climb_tasks returned str"], 1),
    ("hook-returns-int", _hook("return 3\n", "climb_encoders"), ["hook climb_encoders returned int"], 1),
    ("hook-returns-a-manifest-dict-in-list", _hook("return [{task}]\n"), ["returned dict", "not a climb_harness.api.Component"], 1),
    ("component-manifest-list", _hook("return [Component('task', [1, 2], 'm:f')]\n"), ["a Component whose manifest is a list, not a dict"], 1),
    ("component-manifest-none", _hook("return [Component('algorithm', None, 'm:f')]\n", "climb_algorithms"), ["a Component whose manifest is a NoneType"], 1),
    ("component-kind-unknown", _hook("return [Component('widget', {task}, '{module}:Thing')]\n"), ["$.kind", "'widget' component returned by hook climb_tasks"], 1),
    ("component-of-wrong-kind", _hook("return [task({task}, '{module}:Thing')]\n", "climb_algorithms"), ["$.kind", "return it from climb_tasks"], 1),
    ("options-schema-list", _hook("m = dict({task}); m['options'] = {'$schema': [], 'type': 'object', 'properties': {}}\nreturn [task(m, '{module}:Thing')]\n"), ["$.options.$schema", "names no JSON Schema draft"], 1),
    ("options-schema-true", _hook("m = dict({task}); m['options'] = {'$schema': True, 'type': 'object', 'properties': {}}\nreturn [task(m, '{module}:Thing')]\n"), ["$.options.$schema"], 1),
    ("misspelled-hook", _hook("return []\n", "climb_taks"), ["implements hooks that do not exist", "did you mean 'climb_tasks'?"], 1),
    ("hook-extra-argument", HEADER + "@hookimpl\ndef climb_tasks(config):\n    return []\n", ["invalid hook implementation", "climb_tasks"], 1),
    ("registers-nothing", "X = 1\n", ["registers no component and implements no lifecycle hook"], 0),
    ("hook-returns-none", _hook("return None\n"), ["registers no component"], 0),
]


@pytest.fixture
def healthy(site, pf):
    return site.add_plugin(
        "climb-ztest-healthy",
        version="1.0.0",
        tasks=[(pf.task_manifest("ztest-fine-task"), FACTORY)],
        algorithms=[(pf.algorithm_manifest("ztest-fine-algorithm"), FACTORY)],
    )


def _invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(("case", "source", "words", "code"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plugin_is_isolated_and_named(site, pf, healthy, case, source, words, code):
    source = source.replace("{task}", repr(pf.task_manifest("ztest-broken-task")))
    broken = site.add_plugin("climb-ztest-broken", version="0.4.2", source=source)
    label = f"plugin {broken!r} (climb-ztest-broken 0.4.2)"

    result = _invoke("validate")
    assert result.exit_code == code, result.output
    lines = [line for line in result.stdout.splitlines() if label in line]
    assert lines, result.stdout
    assert any(all(w in line for w in words) for line in lines), f"{words} not in {lines}"
    assert all(len(line) < 2_000 for line in result.stdout.splitlines())
    assert f"ok    plugin {healthy!r} (climb-ztest-healthy 1.0.0): 2 component(s)" in result.stdout

    listing = _invoke("list")
    assert listing.exit_code == 0, listing.output
    assert "ztest-fine-task" in listing.stdout
    # a plugin-level fault is reported on stderr; a component-level one on its row
    assert label in listing.stderr or "ztest-broken-task" in listing.stdout and "invalid: $." in listing.stdout
    shown = _invoke("show", "ztest-fine-algorithm")
    assert shown.exit_code == 0 and "ztest-fine-algorithm (algorithm)" in shown.stdout

    registry = Registry()  # what `climb run` builds: the healthy components still build
    assert registry.build("task", "ztest-fine-task").options == {"max_examples": 10, "data_dir": None, "layers": [1, 2]}


def test_corpus_is_large_enough():
    assert len(BROKEN) >= 20


def test_entry_point_naming_a_missing_attribute(site, pf, healthy):
    module = site.write_module("attr_hooks", "X = 1\n")
    site.add_distribution("climb-ztest-attr", "0.1.0", {"ztest_attr": f"{module}:nothing_here"})
    result = _invoke("validate")
    assert result.exit_code == 1
    assert "plugin 'ztest_attr' (climb-ztest-attr 0.1.0) failed to import (AttributeError" in result.stdout
