"""The harness's conformance kit on climb-language-tasks (one item per check; data-dependent ones skip without
data), and the whole kit once more per task on a tiny folder in its official layout, where nothing may skip."""

import pytest

from climb_harness.testing import conformance_test

TASK_NAMES = ("imdb", "sst2", "piqa", "hellaswag", "commonsenseqa", "wordnet-supersense")

test_conformance = conformance_test("climb-language-tasks")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_kit_passes_on_a_tiny_folder(climb_check, sample_root, name):
    results = climb_check(f"task:{name}", options={"data_dir": str(sample_root / name)})
    names = {r.name for r in results}
    assert {"examples('train') load", "examples('val') load", "examples('test') load"} <= names, names
    assert [str(r) for r in results if r.skipped] == []
