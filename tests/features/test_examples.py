"""The example configs under ``examples/`` load, and name components that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from climb_harness.core.config import load_config
from climb_harness.core.registry import Registry

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_config_loads_and_its_components_are_registered(path):
    config = load_config(path)
    registry = Registry()
    for kind, names in (("task", [t["name"] for t in config["tasks"]]), ("algorithm", [a["name"] for a in config["algorithms"]])):
        for name in names:
            assert name in registry.entries[kind], f"{path.name}: no installed {kind} {name!r}"
    assert config["encoder"]["name"] in registry.entries["encoder"]


def test_upstream_example_is_climbs_main_order_with_task_default_schedules():
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "climb-upstream.yaml")
    assert [t["name"] for t in config["tasks"]] == ["vqav2", "nlvr2", "snli-ve", "vcr"]
    assert config["training"]["epochs"] is None and config["training"]["lr"] is None  # each manifest's defaults
