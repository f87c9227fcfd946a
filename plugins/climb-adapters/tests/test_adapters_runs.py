"""Real runs with a tiny ViLT: frozen base, one adapter per task, the right adapter at evaluation, resume."""

from __future__ import annotations

import pytest
import torch

from climb_adapters.algorithm import TaskAdapters, adapter_name


class _Spy(TaskAdapters):
    """Records what the defining properties are checked against (without changing the run)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.done = 0
        self.active: dict[tuple[int, str], list[str]] = {}
        self.probe: dict[tuple[int, str], torch.Tensor] = {}
        self.trainable: list[set[str]] = []
        self.optimized: list[set[str]] = []
        self.at_start: list[dict[str, torch.Tensor]] = []
        self.at_end: list[dict[str, torch.Tensor]] = []

    def _adapter_weights(self, ctx, name):
        return {k: v.detach().clone() for k, v in ctx.model.state_dict().items() if f".{name}." in k}

    def on_task_start(self, ctx):
        super().on_task_start(ctx)
        self.trainable.append({n for n, p in ctx.model.named_parameters() if p.requires_grad})
        self.at_start.append(self._adapter_weights(ctx, self.adapters[ctx.current_task]))
        self._check_optimizer = True

    def training_loss(self, ctx, task, batch):
        if self._check_optimizer:  # the runner built the optimizer after on_task_start
            names = {id(p): n for n, p in ctx.model.named_parameters()}
            self.optimized.append({names[id(p)] for g in ctx.optimizer.param_groups for p in g["params"]})
            self._check_optimizer = False
        return super().training_loss(ctx, task, batch)

    def on_task_end(self, ctx):
        super().on_task_end(ctx)
        self.at_end.append(self._adapter_weights(ctx, self.adapters[ctx.current_task]))
        self.done += 1

    def before_evaluate(self, ctx, task):
        super().before_evaluate(ctx, task)
        active = self.transformer(ctx).active_adapters
        self.active[(self.done, task)] = list(active.flatten()) if active else []
        was = ctx.model.training
        ctx.model.eval()
        torch.manual_seed(0)  # ViLT draws patch order from the global RNG; the runner reseeds right after
        with torch.no_grad():
            self.probe[(self.done, task)] = ctx.model(task, ctx.batch(task, list(range(8))))
        ctx.model.train(was)


@pytest.mark.parametrize("config", ["houlsby", "pfeiffer", "lora"])
def test_adapters_isolate_tasks_on_a_frozen_vilt(config, tmp_path, run):
    algorithm = _Spy({"config": config})
    results, runner = run(algorithm, tmp_path / config)
    order = runner.task_order
    names = [adapter_name(t, i) for i, t in enumerate(order)]
    assert results["status"] == "complete" and algorithm.adapters == dict(zip(order, names))

    # 1. every base-encoder weight is bit-identical after the run; the adapters are in the state dict
    final = runner.model.state_dict()
    base = {k: v for k, v in runner.ctx.initial_state.items() if k.startswith("encoder.")}
    assert all(torch.equal(v, final[k].cpu()) for k, v in base.items())
    extra = [k for k in final if k not in runner.ctx.initial_state]
    assert extra and all(any(f".{n}." in k for n in names) for k in extra)
    assert {n for n in names if any(f".{n}." in k for k in extra)} == set(names)
    marker = ".loras." if config == "lora" else "_adapters.adapters."
    assert all(marker in k for k in extra)

    # 2. while training task i: only adapter i and the heads are trainable, and that is what is optimised
    head_params = {n for n, _ in runner.model.named_parameters() if n.startswith("heads.")}
    for i, name in enumerate(names):
        encoder_trainable = {n for n in algorithm.trainable[i] if n.startswith("encoder.")}
        assert encoder_trainable and all(f".{name}." in n for n in encoder_trainable)
        assert head_params <= algorithm.trainable[i]
        assert algorithm.optimized[i] == algorithm.trainable[i]

    # 3. each adapter learned during its task and is untouched afterwards
    for i, name in enumerate(names):
        start, end = algorithm.at_start[i], algorithm.at_end[i]
        assert any(not torch.equal(start[k], end[k]) for k in end)
        assert all(torch.equal(end[k], final[k]) for k in end)

    # 4. the evaluated task's adapter is the active one; none for tasks not learned yet. Key
    # (done, task): the last evaluation of `task` after `done` tasks; (d, task d) is task d's own
    # validation while it trains (its adapter is active), the rest are the accuracy-matrix rows.
    for done in range(len(order) + 1):
        for j, task in enumerate(order):
            assert algorithm.active[(done, task)] == ([names[j]] if j <= done else [])

    # 5. so earlier tasks' outputs, and scores, stay identical after later tasks
    matrix = results["accuracy_matrix"]
    for i in range(len(order)):
        for j in range(i + 1):
            assert matrix[i][j] == matrix[j][j]
            assert torch.equal(algorithm.probe[(i + 1, order[j])], algorithm.probe[(j + 1, order[j])])
    # a future task is evaluated on the plain encoder: same output before and after other tasks' adapters
    assert torch.equal(algorithm.probe[(0, order[2])], algorithm.probe[(1, order[2])])


def test_resume_recreates_the_adapters_and_equals_an_uninterrupted_run(tmp_path, run):
    options = {"config": "houlsby"}
    full, _ = run(TaskAdapters(options), tmp_path / "full", n_tasks=2)
    stopped, _ = run(TaskAdapters(options), tmp_path / "part", n_tasks=2, stop_after=0)
    algorithm = TaskAdapters(options)
    resumed, runner = run(algorithm, tmp_path / "part", n_tasks=2, resume=True)
    assert stopped is None and resumed["status"] == "complete"
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    assert list(algorithm.adapters.values()) == [adapter_name(t, i) for i, t in enumerate(runner.task_order)]


def test_state_dict_round_trip_and_option_mismatch(tmp_path, run):
    algorithm = TaskAdapters({"config": "lora", "lora_r": 2})
    run(algorithm, tmp_path / "run", n_tasks=2, epochs=1)
    state = algorithm.state_dict()
    assert state["tasks"] == ["colours", "yesno"] and state["adapter_names"] == ["task0_colours", "task1_yesno"]
    other = TaskAdapters({"config": "lora", "lora_r": 4})
    with pytest.raises(ValueError, match="same options"):
        other.load_state_dict(state, ctx=None)


def test_encoder_without_transformer_is_a_clear_error(tmp_path, run):
    # the runner reports the algorithm's ValueError as a PluginError naming the plugin: the message is what counts
    with pytest.raises(Exception, match="does not expose a transformer"):
        run(TaskAdapters({}), tmp_path / "run", n_tasks=1, encoder="tiny")


def test_adapter_names_are_module_safe_and_unique():
    assert adapter_name("vqa-v2.1", 0) == "task0_vqa_v2_1"
    assert adapter_name("a-b", 0) != adapter_name("a_b", 1)
