"""The harness's conformance kit on climb-vision-tasks (one item per check), and on tiny release folders.

Without data the kit skips the data-dependent checks of the big sets (fashion-mnist reads Debian's
copy when it is installed; digits always has its data); the second test runs every check of each
file-based task on a folder in its release layout, where none may skip.
"""

import pytest

from climb_harness.testing import conformance_test
from climb_vision_tasks.sample import TASKS

test_conformance = conformance_test("climb-vision-tasks")


@pytest.mark.parametrize("task", TASKS)
def test_kit_passes_on_a_tiny_folder(climb_check, release, task):
    results = climb_check(f"task:{task}", options={"data_dir": str(release(task))})
    names = {r.name for r in results}
    assert {"examples('train') load", "examples('val') load", "examples('test') load"} <= names, names
    assert [str(r) for r in results if not r.passed] == []
    assert [str(r) for r in results if r.skipped] == []


def test_kit_passes_on_digits(climb_check):
    results = climb_check("task:digits")
    assert [str(r) for r in results if not r.passed or r.skipped] == []
