"""The harness's conformance kit on climb-vqav2 (data checks skip when the data is missing), and on a tiny folder."""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-vqav2")


def test_conformance_on_a_tiny_official_folder(climb_check, tiny_root):
    results = climb_check("task:vqav2", options={"data_dir": str(tiny_root)})
    by_name = {r.name: r for r in results}
    loaded = [r for name, r in by_name.items() if name.startswith("examples(")]
    assert len(loaded) == 3 and all(r.status == "passed" for r in loaded), [str(r) for r in results]
