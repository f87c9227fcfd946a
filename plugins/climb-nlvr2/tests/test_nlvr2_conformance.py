"""The harness's conformance kit on climb-nlvr2: one test item per check (data checks skip without data),
and the whole kit once more on a tiny release written here, through the data_dir option."""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-nlvr2")


def test_conformance_on_a_tiny_release(climb_check, tiny_root):
    results = climb_check("task:nlvr2", options={"data_dir": str(tiny_root)})
    assert not [str(r) for r in results if r.skipped]
    names = " ".join(r.name for r in results)
    assert all(f"examples('{s}')" in names for s in ("train", "val", "test")), names
