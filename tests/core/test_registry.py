"""The registry against real plugin distributions found through ``importlib.metadata``.

Each test writes its own ``.dist-info`` distributions into a temporary ``sys.path`` folder (the
``site`` fixture) and looks only at its own ``ztest-*`` components: other plugins may be installed
in the same environment.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from climb_harness.api import API_VERSION
from climb_harness.api.errors import PluginError, UnknownComponentError, UsageError
from climb_harness.core.registry import Registry

FACTORY = "{module}:Thing"


def plugin_of(registry: Registry, name: str):
    matches = [p for p in registry.plugins if p.name == name]
    assert len(matches) == 1, (
        f"plugin {name!r} found {len(matches)} times: {[p.name for p in registry.plugins]}"
    )
    return matches[0]


def entry_of(registry: Registry, kind: str, name: str):
    entries = registry.entries[kind].get(name, [])
    assert len(entries) == 1, f"{kind} {name!r} registered {len(entries)} times"
    return entries[0]


def assert_one_paragraph(message: str) -> None:
    """An error the user reads: one paragraph (one line), no traceback."""
    assert "Traceback" not in message
    assert "\n" not in message.strip(), f"message spans several lines:\n{message}"


# --------------------------------------------------------------------------- discovery
def test_site_distribution_is_visible_to_importlib_metadata(site, pf):
    ep = site.add_plugin(
        "climb-ztest-meta", version="4.5.6", tasks=[(pf.task_manifest("ztest-meta"), FACTORY)]
    )
    dist = importlib.metadata.distribution("climb-ztest-meta")
    assert dist.version == "4.5.6"
    assert [(e.group, e.name) for e in dist.entry_points] == [("climb.plugins", ep)]


def test_discovers_every_kind_through_entry_points(site, pf):
    ep = site.add_plugin(
        "climb-ztest-all",
        version="1.2.3",
        tasks=[(pf.task_manifest("ztest-t1"), FACTORY), (pf.task_manifest("ztest-t2"), FACTORY)],
        encoders=[(pf.encoder_manifest("ztest-enc"), FACTORY)],
        algorithms=[(pf.algorithm_manifest("ztest-alg"), FACTORY)],
    )
    registry = Registry()
    info = plugin_of(registry, ep)
    assert (info.distribution, info.version, info.source, info.ok) == (
        "climb-ztest-all",
        "1.2.3",
        "entry point",
        True,
    )
    assert [n for n in registry.names("task") if n.startswith("ztest-")] == ["ztest-t1", "ztest-t2"]
    assert [n for n in registry.names("encoder") if n.startswith("ztest-")] == ["ztest-enc"]
    assert [n for n in registry.names("algorithm") if n.startswith("ztest-")] == ["ztest-alg"]
    row = entry_of(registry, "encoder", "ztest-enc").describe()
    assert row == {
        "name": "ztest-enc",
        "kind": "encoder",
        "distribution": "climb-ztest-all",
        "version": "1.2.3",
        "plugin": ep,
        "summary": "test encoder ztest-enc",
        "paper": None,
        "options": pf.encoder_manifest("ztest-enc")["options"],
        "status": "ok",
        "problems": [],
    }
    assert {"plugin": ep, "distribution": "climb-ztest-all", "version": "1.2.3"} in registry.provenance()
    used = registry.used_distributions({"task": "ztest-t1", "algorithm": "ztest-alg"})
    assert used == [
        {"kind": "task", "name": "ztest-t1", "distribution": "climb-ztest-all", "version": "1.2.3"},
        {"kind": "algorithm", "name": "ztest-alg", "distribution": "climb-ztest-all", "version": "1.2.3"},
    ]


def test_registry_without_entry_points_sees_only_extra_plugins(site, pf):
    site.add_plugin("climb-ztest-hidden", tasks=[(pf.task_manifest("ztest-hidden"), FACTORY)])
    registry = Registry(entry_points=False)
    assert registry.plugins == []
    assert registry.names("task") == []


# --------------------------------------------------------------------------- bad manifests
def _problems(registry: Registry, kind: str, name: str) -> list:
    entry = entry_of(registry, kind, name)
    assert entry.status == "invalid"
    return entry.problems


def test_missing_required_field(site, pf):
    site.add_plugin(
        "climb-ztest-missing",
        version="0.2.0",
        tasks=[(pf.without(pf.task_manifest("ztest-missing"), "metric"), FACTORY)],
    )
    registry = Registry()
    problems = _problems(registry, "task", "ztest-missing")
    assert [(p.path, p.rule) for p in problems] == [("$", "required")]
    assert "'metric' is a required property" in problems[0].message
    with pytest.raises(PluginError) as err:
        registry.get("task", "ztest-missing")
    message = str(err.value)
    assert "'ztest-missing'" in message and "climb-ztest-missing 0.2.0" in message and "metric" in message
    assert "climb validate" in message
    assert_one_paragraph(message)


def test_wrong_type_at_top_level(site, pf):
    site.add_plugin(
        "climb-ztest-type", tasks=[(pf.task_manifest("ztest-type", images_per_example="one"), FACTORY)]
    )
    problems = _problems(Registry(), "task", "ztest-type")
    assert [(p.path, p.rule) for p in problems] == [("$.images_per_example", "type")]
    assert "'one' is not of type 'integer'" in problems[0].message


@pytest.mark.parametrize(
    ("head", "path", "rule", "words"),
    [
        (
            {"type": "classification", "num_labels": "ten"},
            "$.head.num_labels",
            "type",
            "'ten' is not of type 'integer'",
        ),
        (
            {"type": "multi-label", "num_labels": 0},
            "$.head.num_labels",
            "minimum",
            "0 is less than the minimum of 1",
        ),
        (
            {"type": "multiple-choice", "num_choices": 1},
            "$.head.num_choices",
            "minimum",
            "1 is less than the minimum of 2",
        ),
        ({"type": "classification"}, "$.head", "required", "'num_labels' is a required property"),
    ],
    ids=["num_labels-string", "num_labels-zero", "num_choices-one", "num_labels-missing"],
)
def test_wrong_head_reports_the_json_path_inside_the_head(site, pf, head, path, rule, words):
    """The head is a oneOf; the problem must be the one of the alternative the head picked (its ``type``)."""
    site.add_plugin("climb-ztest-head", tasks=[(pf.task_manifest("ztest-head", head=head), FACTORY)])
    problems = _problems(Registry(), "task", "ztest-head")
    assert [(p.path, p.rule) for p in problems] == [(path, rule)], [str(p) for p in problems]
    assert words in problems[0].message


def test_unknown_field(site, pf):
    site.add_plugin("climb-ztest-unknown", tasks=[(pf.task_manifest("ztest-unknown", num_lables=3), FACTORY)])
    problems = _problems(Registry(), "task", "ztest-unknown")
    assert [(p.path, p.rule) for p in problems] == [("$", "additionalProperties")]
    assert "'num_lables' was unexpected" in problems[0].message


@pytest.mark.parametrize("declared", ["2.0", "0.9", "1.99"])
def test_incompatible_api_version_lists_the_versions_that_work(site, pf, declared):
    major = API_VERSION.split(".")[0]
    site.add_plugin(
        "climb-ztest-api",
        version="0.0.7",
        algorithms=[(pf.algorithm_manifest("ztest-api", api_version=declared), FACTORY)],
    )
    problems = _problems(Registry(), "algorithm", "ztest-api")
    assert [(p.path, p.rule) for p in problems] == [("$.api_version", "compatible api_version")]
    message = problems[0].message
    assert f"api_version {declared}" in message
    assert f"versions that work: {major}.0 to {API_VERSION}" in message


def test_current_api_version_and_older_minor_are_compatible(site, pf):
    major = API_VERSION.split(".")[0]
    site.add_plugin(
        "climb-ztest-api-ok",
        algorithms=[
            (pf.algorithm_manifest("ztest-api-now", api_version=API_VERSION), FACTORY),
            (pf.algorithm_manifest("ztest-api-old", api_version=f"{major}.0"), FACTORY),
        ],
    )
    registry = Registry()
    assert entry_of(registry, "algorithm", "ztest-api-now").status == "ok"
    assert entry_of(registry, "algorithm", "ztest-api-old").status == "ok"


def test_options_property_without_default(site, pf):
    options = {"type": "object", "additionalProperties": False, "properties": {"lr": {"type": "number"}}}
    site.add_plugin(
        "climb-ztest-nodefault", encoders=[(pf.encoder_manifest("ztest-nodefault", options=options), FACTORY)]
    )
    problems = _problems(Registry(), "encoder", "ztest-nodefault")
    assert [(p.path, p.rule) for p in problems] == [("$.options.properties.lr", "required")]
    assert "'default' is a required property" in problems[0].message


def test_options_that_are_not_a_valid_json_schema(site, pf):
    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"lr": {"type": "banana", "default": 1}},
    }
    site.add_plugin(
        "climb-ztest-badschema", encoders=[(pf.encoder_manifest("ztest-badschema", options=options), FACTORY)]
    )
    problems = _problems(Registry(), "encoder", "ztest-badschema")
    assert any(p.path.startswith("$.options.properties.lr") and "banana" in p.message for p in problems), [
        str(p) for p in problems
    ]


def test_factory_without_colon(site, pf):
    site.add_plugin("climb-ztest-factory", tasks=[(pf.task_manifest("ztest-factory"), "somepackage.Thing")])
    problems = _problems(Registry(), "task", "ztest-factory")
    assert [p.rule for p in problems] == ["module:attribute"]
    assert "'somepackage.Thing'" in problems[0].message and "module:attribute" in problems[0].message


def test_component_returned_by_the_wrong_hook(site, pf):
    manifest = pf.task_manifest("ztest-misfiled")
    source = pf.hook_module(
        extra=f"@hookimpl\ndef climb_encoders():\n    return [task({manifest!r}, '{{module}}:Thing')]\n"
    )
    site.add_plugin("climb-ztest-misfiled", source=source)
    problems = _problems(Registry(), "encoder", "ztest-misfiled")
    assert ("$.kind", "kind") in [(p.path, p.rule) for p in problems]
    assert any("climb_tasks" in p.message for p in problems)


def test_duplicate_component_name_names_both_distributions(site, pf):
    a = site.add_plugin(
        "climb-ztest-dup-a", version="1.2.0", tasks=[(pf.task_manifest("ztest-dup"), FACTORY)]
    )
    b = site.add_plugin(
        "climb-ztest-dup-b", version="3.4.5", tasks=[(pf.task_manifest("ztest-dup"), FACTORY)]
    )
    registry = Registry()
    entries = registry.entries["task"]["ztest-dup"]
    assert sorted(e.plugin.name for e in entries) == sorted([a, b])
    for entry in entries:
        assert entry.status == "invalid"
        (problem,) = entry.problems
        assert (problem.path, problem.rule) == ("$.name", "unique name")
        assert "climb-ztest-dup-a 1.2.0" in problem.message and "climb-ztest-dup-b 3.4.5" in problem.message
    with pytest.raises(PluginError) as err:
        registry.build("task", "ztest-dup")
    assert "climb-ztest-dup-a 1.2.0" in str(err.value) and "climb-ztest-dup-b 3.4.5" in str(err.value)
    assert_one_paragraph(str(err.value))


def test_duplicate_entry_point_name_across_distributions(site, pf):
    site.add_plugin(
        "climb-ztest-ep-a",
        version="1.0.0",
        ep_name=site.module("shared"),
        tasks=[(pf.task_manifest("ztest-ep-a"), FACTORY)],
    )
    site.add_distribution(
        "climb-ztest-ep-b",
        "2.0.0",
        {
            site.module("shared"): site.write_module(
                "other_hooks", pf.hook_module(tasks=[(pf.task_manifest("ztest-ep-b"), FACTORY)])
            )
        },
    )
    registry = Registry()
    infos = [p for p in registry.plugins if p.name == site.module("shared")]
    assert len(infos) == 2
    broken = [p for p in infos if p.errors]
    assert len(broken) == 1
    (error,) = broken[0].errors
    assert (
        "climb-ztest-ep-a" in error and "climb-ztest-ep-b" in error and "1.0.0" in error and "2.0.0" in error
    )
    assert_one_paragraph(error)
    # exactly one of the two is loaded; the other is not silently merged in
    assert len([n for n in registry.names("task") if n in ("ztest-ep-a", "ztest-ep-b")]) == 1


# --------------------------------------------------------------------------- bad hooks and imports
@pytest.mark.parametrize("marked", [True, False], ids=["with-hookimpl", "without-hookimpl"])
def test_misspelled_hook(site, pf, marked):
    decorator = "@hookimpl\n" if marked else ""
    source = pf.hook_module(
        encoders=[(pf.encoder_manifest("ztest-typo-enc"), FACTORY)],
        extra=f"{decorator}def climb_taks():\n    return [task({pf.task_manifest('ztest-typo')!r}, '{{module}}:Thing')]\n",
    )
    bad = site.add_plugin("climb-ztest-typo", version="0.9.1", source=source)
    good = site.add_plugin("climb-ztest-healthy", tasks=[(pf.task_manifest("ztest-healthy"), FACTORY)])
    registry = Registry()
    info = plugin_of(registry, bad)
    (error,) = info.errors
    assert f"plugin {bad!r} (climb-ztest-typo 0.9.1)" in error
    assert "'climb_taks' (did you mean 'climb_tasks'?)" in error
    assert_one_paragraph(error)
    assert not registry.pm.has_plugin(bad)
    assert "ztest-typo" not in registry.names("task") and "ztest-typo-enc" not in registry.names("encoder")
    assert plugin_of(registry, good).ok and entry_of(registry, "task", "ztest-healthy").status == "ok"


def test_hook_with_an_extra_argument(site, pf):
    source = pf.hook_module(
        extra=f"@hookimpl\ndef climb_tasks(device):\n    return [task({pf.task_manifest('ztest-extra')!r}, '{{module}}:Thing')]\n"
    )
    bad = site.add_plugin("climb-ztest-extra", version="2.1.0", source=source)
    site.add_plugin("climb-ztest-healthy", tasks=[(pf.task_manifest("ztest-healthy"), FACTORY)])
    registry = Registry()
    (error,) = plugin_of(registry, bad).errors
    assert f"plugin {bad!r} (climb-ztest-extra 2.1.0) has an invalid hook implementation" in error
    assert "climb_tasks" in error and "device" in error
    assert_one_paragraph(error)
    assert not registry.pm.has_plugin(bad)
    assert "ztest-extra" not in registry.names("task")
    assert entry_of(registry, "task", "ztest-healthy").status == "ok"


def test_lifecycle_hook_taking_a_subset_of_arguments_is_fine(site, pf):
    source = pf.hook_module(
        tasks=[(pf.task_manifest("ztest-subset"), FACTORY)],
        extra="@hookimpl\ndef climb_task_end(task, scores):\n    pass\n",
    )
    ep = site.add_plugin("climb-ztest-subset", source=source)
    registry = Registry()
    assert plugin_of(registry, ep).ok
    assert registry.pm.has_plugin(ep)


def test_plugin_whose_import_raises(site, pf):
    bad = site.add_plugin("climb-ztest-raises", version="0.0.3", source="import math\nRATE = 1 / 0\n")
    site.add_plugin("climb-ztest-healthy", tasks=[(pf.task_manifest("ztest-healthy"), FACTORY)])
    registry = Registry()
    (error,) = plugin_of(registry, bad).errors
    assert (
        f"plugin {bad!r} (climb-ztest-raises 0.0.3) failed to import (ZeroDivisionError: division by zero)"
        in error
    )
    assert "uninstall climb-ztest-raises" in error
    assert_one_paragraph(error)
    assert entry_of(registry, "task", "ztest-healthy").status == "ok"


def test_plugin_missing_a_dependency(site, pf):
    bad = site.add_plugin("climb-ztest-nodep", source="import ztest_module_that_does_not_exist\n")
    registry = Registry()
    (error,) = plugin_of(registry, bad).errors
    assert (
        "ModuleNotFoundError" in error
        and "ztest_module_that_does_not_exist" in error
        and "climb-ztest-nodep" in error
    )


def test_hook_that_raises_when_called(site, pf):
    source = pf.hook_module(
        encoders=[(pf.encoder_manifest("ztest-fine-enc"), FACTORY)],
        extra="@hookimpl\ndef climb_tasks():\n    raise RuntimeError('manifest file is missing')\n",
    )
    ep = site.add_plugin("climb-ztest-hookraise", version="5.0.0", source=source)
    registry = Registry()
    (error,) = plugin_of(registry, ep).errors
    assert (
        "climb-ztest-hookraise 5.0.0" in error
        and "climb_tasks" in error
        and "RuntimeError: manifest file is missing" in error
    )
    assert_one_paragraph(error)
    assert entry_of(registry, "encoder", "ztest-fine-enc").status == "ok"


def test_hook_returning_something_else_than_components(site, pf):
    source = pf.hook_module(extra="@hookimpl\ndef climb_tasks():\n    return [{'name': 'ztest-dict'}]\n")
    ep = site.add_plugin("climb-ztest-dict", source=source)
    (error,) = plugin_of(Registry(), ep).errors
    assert (
        "climb_tasks" in error
        and "not a climb_harness.api.Component" in error
        and "climb_harness.api.task(manifest, factory)" in error
    )


# --------------------------------------------------------------------------- --plugin
def test_plugin_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere" / "ztest_plugin.py"
    with pytest.raises(UsageError) as err:
        Registry([str(missing)], entry_points=False)
    assert err.value.exit_code == 2
    assert str(missing) in str(err.value) and "no such file or folder" in str(err.value)
    assert_one_paragraph(str(err.value))


def test_plugin_module_that_does_not_exist():
    with pytest.raises(UsageError) as err:
        Registry(["ztest_no_such_plugin_module"], entry_points=False)
    assert err.value.exit_code == 2
    assert "'ztest_no_such_plugin_module'" in str(err.value)


def test_plugin_given_as_a_py_file(site, pf, tmp_path):
    path = tmp_path / "ztest_local.py"
    path.write_text(
        pf.hook_module(tasks=[(pf.task_manifest("ztest-local"), "climb_plugin_ztest_local:Thing")]),
        encoding="utf-8",
    )
    registry = Registry([str(path)], entry_points=False)
    info = plugin_of(registry, "ztest_local")
    assert (info.distribution, info.source, info.ok) == ("(--plugin)", "--plugin", True)
    obj = registry.build("task", "ztest-local")
    assert type(obj).__name__ == "Thing" and obj.manifest["name"] == "ztest-local"


def test_plugin_given_as_a_package_folder(site, pf, tmp_path):
    package = tmp_path / "pkgs" / site.module("pkgplugin")
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        pf.hook_module(tasks=[(pf.task_manifest("ztest-pkg"), f"{package.name}:Thing")]), encoding="utf-8"
    )
    registry = Registry([str(package)], entry_points=False)
    assert plugin_of(registry, package.name).ok
    assert registry.names("task") == ["ztest-pkg"]


def test_plugin_given_as_a_module_name(site, pf):
    name = site.write_module(
        "bymodule", pf.hook_module(tasks=[(pf.task_manifest("ztest-bymodule"), FACTORY)])
    )
    registry = Registry([name], entry_points=False)
    assert plugin_of(registry, name).ok
    assert registry.names("task") == ["ztest-bymodule"]


def test_plugin_file_whose_import_raises_is_reported_not_raised(tmp_path):
    path = tmp_path / "ztest_broken_local.py"
    path.write_text("raise ValueError('bad config constant')\n", encoding="utf-8")
    registry = Registry([str(path)], entry_points=False)
    (error,) = plugin_of(registry, "ztest_broken_local").errors
    assert "ValueError: bad config constant" in error
    assert_one_paragraph(error)


def test_plugin_file_named_like_an_installed_plugin_does_not_unload_it(site, pf, tmp_path):
    """``--plugin ./x.py`` where an installed plugin is already called ``x``: the installed one must keep working."""
    ep = site.add_plugin("climb-ztest-clash", tasks=[(pf.task_manifest("ztest-clash"), FACTORY)])
    path = tmp_path / f"{ep}.py"
    path.write_text(
        pf.hook_module(tasks=[(pf.task_manifest("ztest-clash-local"), f"climb_plugin_{ep}:Thing")]),
        encoding="utf-8",
    )
    registry = Registry([str(path)])
    installed = [p for p in registry.plugins if p.name == ep and p.source == "entry point"]
    assert installed and installed[0].ok
    assert entry_of(registry, "task", "ztest-clash").status == "ok", (
        "the installed plugin's components disappeared"
    )
    local = [p for p in registry.plugins if p.source == "--plugin"]
    assert local and local[0].errors, "the clash is not reported"
    assert ep in local[0].errors[0]


# --------------------------------------------------------------------------- build
@pytest.fixture
def built_site(site, pf):
    source = pf.hook_module(
        tasks=[
            (pf.task_manifest("ztest-shape-count"), FACTORY),
            (
                pf.task_manifest("ztest-needs-import", options={"type": "object", "properties": {}}),
                "ztest_no_such_module.tasks:Task",
            ),
            (
                pf.task_manifest("ztest-explodes", options={"type": "object", "properties": {}}),
                "{module}:explode",
            ),
            (
                pf.task_manifest("ztest-no-data", options={"type": "object", "properties": {}}),
                "{module}:no_data",
            ),
        ],
        extra="""
        def explode(options):
            raise KeyError("vocab")

        def no_data(options):
            raise FileNotFoundError("/data/ztest is missing; download it with ztest-get")
        """,
    )
    site.add_plugin("climb-ztest-build", version="0.4.2", source=source)
    return Registry()


def test_build_fills_option_defaults_and_sets_the_manifest(built_site):
    obj = built_site.build("task", "ztest-shape-count")
    assert obj.options == {"max_examples": 10, "data_dir": None, "layers": [1, 2]}
    assert obj.manifest["name"] == "ztest-shape-count" and obj.manifest["kind"] == "task"
    obj = built_site.build("task", "ztest-shape-count", {"max_examples": 3, "data_dir": "/tmp/x"})
    assert obj.options == {"max_examples": 3, "data_dir": "/tmp/x", "layers": [1, 2]}


def test_build_gives_each_object_its_own_copy_of_mutable_defaults(built_site):
    first = built_site.build("task", "ztest-shape-count")
    first.options["layers"].append(99)  # a component that changes its options must not change the next one's
    second = built_site.build("task", "ztest-shape-count")
    assert second.options["layers"] == [1, 2]
    assert entry_of(built_site, "task", "ztest-shape-count").manifest["options"]["properties"]["layers"][
        "default"
    ] == [1, 2]


def test_build_rejects_an_unknown_option_and_names_the_allowed_ones(built_site):
    with pytest.raises(UsageError) as err:
        built_site.build("task", "ztest-shape-count", {"max_exmaples": 3}, where="tasks[0]")
    message = str(err.value)
    assert err.value.exit_code == 2
    assert (
        "'ztest-shape-count'" in message
        and "tasks[0]" in message
        and "'max_exmaples' was unexpected" in message
    )
    assert "Its options are: data_dir, layers, max_examples" in message
    assert_one_paragraph(message)


def test_build_rejects_an_option_of_the_wrong_type(built_site):
    with pytest.raises(UsageError) as err:
        built_site.build("task", "ztest-shape-count", {"max_examples": 0})
    assert "$.max_examples" in str(err.value) and "minimum" in str(err.value)


def test_unknown_component_name_suggests_the_closest(built_site):
    with pytest.raises(UnknownComponentError) as err:
        built_site.build("task", "ztest-shape-cuont")
    message = str(err.value)
    assert err.value.exit_code == 2
    assert "No task named 'ztest-shape-cuont'. Did you mean 'ztest-shape-count'?" in message
    assert "ztest-explodes" in message  # the installed ones are listed
    assert_one_paragraph(message)


def test_unknown_kind_name_without_a_close_match_has_no_suggestion(built_site):
    with pytest.raises(UnknownComponentError) as err:
        built_site.get("algorithm", "qqqqqqqqqqqqqqqqqqqq")
    assert "Did you mean" not in str(err.value)


def test_build_with_a_factory_that_cannot_be_imported(built_site):
    with pytest.raises(PluginError) as err:
        built_site.build("task", "ztest-needs-import")
    message = str(err.value)
    assert (
        "'ztest_no_such_module.tasks:Task'" in message
        and "climb-ztest-build 0.4.2" in message
        and "ModuleNotFoundError" in message
    )
    assert_one_paragraph(message)


def test_build_with_a_factory_that_raises(built_site):
    with pytest.raises(PluginError) as err:
        built_site.build("task", "ztest-explodes")
    assert "Building task 'ztest-explodes' from climb-ztest-build 0.4.2 failed: KeyError" in str(err.value)


def test_build_lets_a_missing_data_error_through(built_site):
    with pytest.raises(FileNotFoundError, match="download it with ztest-get") as caught:
        built_site.build("task", "ztest-no-data")
    # ... as a RunError (one paragraph, exit 1) that names the component and keeps the plugin's fix
    from climb_harness.api.errors import RunError

    assert isinstance(caught.value, RunError) and "task 'ztest-no-data'" in str(caught.value)


def test_sys_modules_is_clean_between_tests():
    """The previous tests' plugin modules were forgotten (the fixture cleans up after itself)."""
    import sys

    assert not [m for m in sys.modules if m.startswith("ctp") and m[3:4].isdigit()]
    assert not [p for p in sys.path if Path(p).name == "site-packages" and "pytest-" in p]
