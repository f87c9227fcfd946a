"""NLVR2 examples through the ViLT encoder (test_options): two views with image token types 1 and 2,
and a real two-task run (nlvr2, then easyvqa-shape when installed) of one epoch on a tiny release."""

from __future__ import annotations

import math

import pytest


def _vilt(climb_registry):
    entry = climb_registry.get("encoder", "vilt")
    return climb_registry.build("encoder", "vilt", dict(entry.manifest["test_options"]))


@pytest.fixture
def have_vilt(climb_registry):
    try:
        climb_registry.get("encoder", "vilt")
    except Exception:  # noqa: BLE001 - climb-vilt not installed
        pytest.skip("climb-vilt is not installed")


def test_two_images_reach_vilt_with_token_types_1_and_2(have_vilt, climb_registry, tiny_root):
    import torch

    from climb_harness.testing import single_thread

    task = climb_registry.build("task", "nlvr2", {"data_dir": str(tiny_root)})
    info = task.info
    assert info.images_per_example == 2 and info.num_views == 2
    encoder = _vilt(climb_registry)
    encoder.adapt_to_tasks([info])
    examples = task.examples("val")
    batch = encoder.collate(examples, info)
    assert batch["image_token_type"].tolist() == [[1, 2]] * len(examples)
    assert batch["pixel_values"].shape[:2] == (len(examples), 2)
    # the left and right views hold different images (img0 is 24 px wide, img1 32 px: padding differs)
    assert not torch.equal(batch["pixel_mask"][:, 0], batch["pixel_mask"][:, 1])
    # the text is the same in both views (encoded once with each image)
    assert torch.equal(batch["input_ids"][:, 0], batch["input_ids"][:, 1])
    with single_thread(), torch.no_grad():
        encoder.eval()
        out = encoder(batch)
    assert out.shape == (len(examples), 2, encoder.hidden_size)
    assert torch.isfinite(out).all()


def test_end_to_end_run_with_vilt(have_vilt, climb_registry, tiny_root, tmp_path, monkeypatch):
    from climb_harness.testing import run_algorithm, single_thread

    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    tasks = [climb_registry.build("task", "nlvr2", {"data_dir": str(tiny_root)})]
    try:
        tasks.append(climb_registry.build("task", "easyvqa-shape",
                                          {"max_train_examples": 8, "max_eval_examples": 4}))
    except Exception:  # noqa: BLE001 - climb-easyvqa not installed: a one-task run
        pass
    algorithm = climb_registry.build("algorithm", "sequential-ft")
    with single_thread():
        results = run_algorithm(algorithm, tmp_path / "run", tasks=tasks,
                                encoder_factory=lambda: _vilt(climb_registry), epochs=1, batch_size=4)
    assert results["status"] == "complete"
    assert results["tasks"] == [t.name for t in tasks]
    matrix = results["accuracy_matrix"]
    assert len(matrix) == len(tasks)
    for row in matrix:
        assert len(row) == len(tasks)
        assert all(v is not None and math.isfinite(v) and 0 <= v <= 100 for v in row), matrix
