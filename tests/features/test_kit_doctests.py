"""The testing kit's docstring examples run (the suite does not collect doctests by default)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import climb_harness.testing

MODULES = sorted(
    ["climb_harness.testing"]
    + [m.name for m in pkgutil.walk_packages(climb_harness.testing.__path__, "climb_harness.testing.")]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    failed, _ = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert failed == 0
