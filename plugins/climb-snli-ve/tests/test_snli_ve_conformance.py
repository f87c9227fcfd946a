"""The harness's conformance kit on climb-snli-ve (one item per check), and the kit on a tiny data folder.

Without data (no $CLIMB_DATA_ROOT/snli-ve) the kit skips the data-dependent checks; the second test
runs every check of the task on a folder written in the release layout, where none may skip.
"""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-snli-ve")


def test_kit_passes_on_a_tiny_folder(climb_check, snli_dir):
    results = climb_check("task:snli-ve", options={"data_dir": str(snli_dir)})
    names = {r.name for r in results}
    assert {"examples('train') load", "examples('val') load", "examples('test') load"} <= names, names
    assert [str(r) for r in results if r.skipped] == []
