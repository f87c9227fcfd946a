"""frozen-encoder and frozen-bottom-k: what is frozen stays bit-identical, the rest learns."""

from __future__ import annotations

import types

import pytest
import torch

from climb_baselines.direct_ft import encoder_state
from climb_baselines.frozen_bottom_k import FrozenBottomK, frozen_prefixes
from climb_baselines.frozen_encoder import FrozenEncoder
from climb_harness.testing import ContinualModel
from climb_harness.testing.components import TinyEncoder, synthetic_task


def _heads(model):
    return {k: v.detach().clone() for k, v in model.heads.state_dict().items()}


def test_frozen_encoder_keeps_the_encoder_and_forgets_nothing(tmp_path, run, snapshot):
    results, runner = run(FrozenEncoder({}), tmp_path / "run")
    initial = encoder_state(runner.ctx.initial_state)
    final = snapshot(runner.model)
    assert final.keys() == initial.keys()
    assert all(torch.equal(initial[k], final[k].cpu()) for k in final)  # bit-identical
    assert all(not p.requires_grad for p in runner.model.encoder.parameters())
    initial_heads = {k[len("heads."):]: v for k, v in runner.ctx.initial_state.items() if k.startswith("heads.")}
    heads = _heads(runner.model)
    for task in runner.task_order:  # every task's head learned
        assert any(not torch.equal(initial_heads[k], heads[k].cpu()) for k in heads if k.startswith(task + "."))
    matrix = results["accuracy_matrix"]
    for i in range(len(matrix)):  # zero forgetting: scores of learned tasks never change
        for j in range(i + 1):
            assert matrix[i][j] == matrix[j][j]
    forgetting = results["metrics"]["forgetting"]
    assert len(forgetting) == 2
    assert all(value in (0, None) for row in forgetting.values() for value in row.values())


def _bare_ctx(num_layers: int):
    task = synthetic_task("colours", "colour", size=8)
    model = ContinualModel(TinyEncoder({"num_layers": num_layers}), {"colours": task.info})
    return types.SimpleNamespace(model=model)


def test_frozen_bottom_k_prefixes_do_not_catch_layer_10_when_freezing_layer_1():
    ctx = _bare_ctx(12)
    algorithm = FrozenBottomK({"k": 3})  # TinyEncoder groups: embeddings, image_proj, layers.0, layers.1, ...
    algorithm.setup(ctx)
    frozen = {n for n, p in ctx.model.encoder.named_parameters() if not p.requires_grad}
    assert frozen == {"embeddings.weight", "image_proj.weight", "image_proj.bias",
                      "layers.0.0.weight", "layers.0.0.bias", "layers.1.0.weight", "layers.1.0.bias"}
    assert frozen == set(algorithm.frozen)
    assert all(p.requires_grad for p in ctx.model.heads.parameters())


def test_frozen_bottom_k_clamps_k_with_a_warning():
    groups = ["emb", "layer.0", "layer.1"]
    assert frozen_prefixes(groups, 1) == ["emb", "layer.0"]
    with pytest.warns(UserWarning, match="only 2 layer group"):
        assert frozen_prefixes(groups, 9) == groups
    with pytest.raises(ValueError, match="layer_groups"):
        frozen_prefixes([], 1)
    ctx = _bare_ctx(2)
    with pytest.warns(UserWarning):
        FrozenBottomK({}).setup(ctx)  # default k=9 on a 2-layer encoder: everything in a group frozen
    assert all(not p.requires_grad for p in ctx.model.encoder.parameters())
    with pytest.raises(ValueError, match="k must be >= 0"):
        FrozenBottomK({"k": -1})


def test_frozen_bottom_k_run_freezes_the_bottom_and_trains_the_top(tmp_path, run, snapshot):
    results, runner = run(FrozenBottomK({"k": 2}), tmp_path / "run", n_tasks=2, encoder_options={"num_layers": 3})
    assert results["status"] == "complete"
    initial = encoder_state(runner.ctx.initial_state)
    final = {k: v.cpu() for k, v in snapshot(runner.model).items()}
    frozen = [k for k in final if k.split(".")[0] in ("embeddings", "image_proj") or k.startswith("layers.0.")]
    trained = [k for k in final if k.startswith(("layers.1.", "layers.2."))]
    assert len(frozen) == 5 and len(trained) == 4
    assert all(torch.equal(initial[k], final[k]) for k in frozen)
    assert all(not torch.equal(initial[k], final[k]) for k in trained)
