"""End to end: vqav2 on a tiny official-layout folder through the real Runner, and the harness's VQA score."""

from __future__ import annotations

import math

import pytest
from climb_harness.testing import run_algorithm, single_thread


def test_two_task_run_with_tiny_vilt(make_task, tiny_root, climb_registry, tmp_path):
    """vqav2 then easyvqa-shape, ViLT built with its test_options, 1 epoch each."""
    vilt = climb_registry.get("encoder", "vilt")
    vqa = make_task(data_dir=str(tiny_root), min_answer_count=6, num_answers=16, val_fraction=0.25)
    shape = climb_registry.build("task", "easyvqa-shape", {"max_train_examples": 12, "max_eval_examples": 6})
    algorithm = climb_registry.build("algorithm", "sequential-ft")
    with single_thread():
        results = run_algorithm(
            algorithm, tmp_path / "run", tasks=[vqa, shape],
            encoder_factory=lambda: climb_registry.build("encoder", "vilt", dict(vilt.manifest["test_options"])),
            epochs=1, batch_size=8, lr=1e-3)
    assert results["status"] == "complete" and results["tasks"] == ["vqav2", "easyvqa-shape"]
    matrix = results["accuracy_matrix"]
    assert len(matrix) == 2 and all(len(row) == 2 for row in matrix)
    assert all(math.isfinite(v) and 0.0 <= v <= 100.0 for row in matrix for v in row)


def test_harness_vqa_score_is_the_target_score_of_the_argmax(make_task, tiny_root, tmp_path):
    """A frozen 'encoder' whose logits are a chosen answer's one-hot: the harness's score must be the
    mean target score of those answers, x 100."""
    import torch
    from climb_harness.api import Algorithm, Encoder

    task = make_task(data_dir=str(tiny_root), min_answer_count=1, num_answers=6)
    labels = task.labels  # ["2", "dog", "no", "yes"]
    # test (val2014 image k: questions 0 "how many", 1 yes/no, 2 "what"); predictions by question kind
    prediction = {"0": labels.index("2"), "1": labels.index("no"), "2": labels.index("yes")}
    test = task.examples("test")
    expected = 100 * sum(e.target.get(prediction[e.text.split()[1]], 0.0) for e in test) / len(test)
    assert 0 < expected < 100

    class OneHot(Encoder):
        def __init__(self, options=None):
            super().__init__(options)
            self.hidden_size = 6

        def collate(self, examples, task_info):
            index = torch.tensor([prediction[e.text.split()[1]] for e in examples])
            return {"onehot": torch.nn.functional.one_hot(index, 6).float().unsqueeze(1)}

        def forward(self, batch):
            return batch["onehot"]

    class Identity(Algorithm):
        def setup(self, ctx):
            ctx.model.heads["vqav2"] = torch.nn.Flatten(1)  # logits = the encoder's one-hot

    results = run_algorithm(Identity(), tmp_path / "run", tasks=[task], encoder_factory=OneHot, epochs=1)
    assert results["accuracy_matrix"][0][0] == pytest.approx(expected)
