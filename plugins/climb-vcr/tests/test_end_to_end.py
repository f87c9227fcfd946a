"""A real two-task run through the harness's Runner: vcr (tiny folder) then a synthetic task, on the
smallest ViLT (the vilt manifest's test_options), one epoch each."""

from __future__ import annotations

import math

from climb_harness.testing import run_algorithm, single_thread, synthetic_task


def test_vcr_then_synthetic_task_on_tiny_vilt(climb_registry, make_task, tiny_data_dir, tmp_path):
    vilt_options = dict(climb_registry.get("encoder", "vilt").manifest["test_options"])
    vcr = make_task(data_dir=str(tiny_data_dir), max_train_examples=8, max_eval_examples=4)
    other = synthetic_task("colours", "colour", size=8, seed=1)
    algorithm = climb_registry.build("algorithm", "sequential-ft")
    with single_thread():
        results = run_algorithm(
            algorithm, tmp_path / "run", tasks=[vcr, other],
            encoder_factory=lambda: climb_registry.build("encoder", "vilt", vilt_options),
            epochs=1, batch_size=4,
        )
    assert results["status"] == "complete"
    assert results["tasks"] == ["vcr", other.name]
    matrix = results["accuracy_matrix"]
    assert len(matrix) == 2
    for row in matrix:
        scores = [s for s in row if s is not None]
        assert scores and all(isinstance(s, (int, float)) and math.isfinite(s) and 0 <= s <= 100 for s in scores)
    assert matrix[0][0] is not None and matrix[1][0] is not None and matrix[1][1] is not None
