"""climb-harness 0.5's module paths still import (one minor version), as the new modules themselves, with a warning."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from climb_harness._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_is_the_new_module_and_says_where_it_went(old: str) -> None:
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    packaged = old in ("climb_harness.report", "climb_harness.transfer", "climb_harness.tune", "climb_harness.scaffold")
    if packaged:  # the new package of that name re-exports the old module's names
        assert all(getattr(module, name) is getattr(new, name) for name in new.__all__)
    else:
        assert module is new
        assert any(MOVED[old] in str(w.message) and w.category is DeprecationWarning for w in caught)
