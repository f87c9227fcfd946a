"""The harness's conformance kit on climb-vcr, one item per check (data-dependent ones skip without data),
and the whole kit once more on a tiny folder in the official layout, through the data_dir option."""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-vcr")


def test_conformance_on_a_tiny_folder(climb_check, tiny_data_dir):
    results = climb_check("task:vcr", options={"data_dir": str(tiny_data_dir)})
    assert not any(r.skipped for r in results), [str(r) for r in results if r.skipped]
    names = " | ".join(r.name for r in results)
    for split in ("train", "val", "test"):
        assert f"examples('{split}') load" in names, names
