"""Real runs through the harness Runner (a 5-layer tiny ViLT, three tasks): the backbone never changes,
the optimizer holds exactly the method's trainable prompts and the heads, per-task parts change only
in their own task, CODA's new components start orthogonal to the earlier ones in a real run."""

from __future__ import annotations

import pytest
import torch

from climb_prompts.coda import CodaPrompt
from climb_prompts.dualprompt import DualPrompt
from climb_prompts.l2p import L2P


def spy(cls):
    """``cls`` recording, at each task's start and end, the prompt module's parameters and the optimizer's."""

    class Spy(cls):
        def __init__(self, options=None):
            super().__init__(options)
            self.at_start, self.at_end, self.optimised, self.trainable = [], [], [], []
            self._pending = False

        def _snapshot(self, ctx):
            return {name: p.detach().clone() for name, p in self.prompter(ctx).named_parameters()}

        def on_task_start(self, ctx):
            super().on_task_start(ctx)
            self.at_start.append(self._snapshot(ctx))
            self.trainable.append({n for n, p in ctx.model.named_parameters() if p.requires_grad})
            self._pending = True

        def training_loss(self, ctx, task, batch):
            if self._pending:  # the runner built the optimizer after on_task_start
                names = {id(p): n for n, p in ctx.model.named_parameters()}
                self.optimised.append({names[id(p)] for g in ctx.optimizer.param_groups for p in g["params"]})
                self._pending = False
            return super().training_loss(ctx, task, batch)

        def on_task_end(self, ctx):
            super().on_task_end(ctx)
            self.at_end.append(self._snapshot(ctx))

    return Spy


@pytest.mark.parametrize("cls", [L2P, DualPrompt, CodaPrompt])
def test_the_backbone_is_frozen_and_only_prompts_and_heads_are_optimised(cls, tmp_path, run):
    algorithm = spy(cls)()
    results, runner = run(algorithm, tmp_path / cls.__name__)
    assert results["status"] == "complete"
    final = runner.model.state_dict()
    backbone = {k: v for k, v in runner.ctx.initial_state.items() if k.startswith("encoder.")}
    assert backbone and all(torch.equal(v, final[k].cpu()) for k, v in backbone.items())
    assert any(k.startswith("encoder.prompter.") for k in final)  # prompts are checkpointed with the model
    for trainable, optimised in zip(algorithm.trainable, algorithm.optimised):
        assert trainable == optimised
        assert all(n.startswith(("heads.", "encoder.prompter.")) for n in optimised)
        assert any(n.startswith("encoder.prompter.") for n in optimised)
    changed = [any(not torch.equal(start[n], end[n]) for n in end)
               for start, end in zip(algorithm.at_start, algorithm.at_end)]
    assert all(changed)  # the prompts learned in every task


def test_dualprompt_expert_prompts_change_only_in_their_task_and_the_general_one_in_every_task(tmp_path, run):
    algorithm = spy(DualPrompt)()
    run(algorithm, tmp_path / "dual")
    for t, (start, end) in enumerate(zip(algorithm.at_start, algorithm.at_end)):
        for other in range(3):
            moved = not torch.equal(start[f"e_prompts.{other}"], end[f"e_prompts.{other}"])
            assert moved == (other == t), (t, other)
            assert (not torch.equal(start[f"e_keys.{other}"], end[f"e_keys.{other}"])) == (other == t)
        assert not torch.equal(start["g_prompt"], end["g_prompt"])
        if t:  # shared_prompt_pool: the new expert prompt starts as the previous one
            assert torch.equal(start[f"e_prompts.{t}"], algorithm.at_end[t - 1][f"e_prompts.{t - 1}"])


def test_coda_components_start_orthogonal_to_the_trained_earlier_ones_which_never_change_again(tmp_path, run):
    algorithm = spy(CodaPrompt)()
    run(algorithm, tmp_path / "coda")
    names = list(algorithm.at_end[-1])
    assert len(names) == 5 * 3 * 3  # 5 layers x (P, K, A) x 3 tasks
    for t in range(1, 3):
        start = algorithm.at_start[t]
        for name in (n for n in names if n.endswith(f".{t}")):
            new = start[name].flatten(1)
            earlier = torch.cat([start[name[: -len(str(t))] + str(e)].flatten(1) for e in range(t)])
            assert (new @ earlier.t()).abs().max() < 1e-5, name
    for t, end in enumerate(algorithm.at_end):  # a task's components stay as its own task left them
        for name in (n for n in names if n.endswith(f".{t}")):
            assert all(torch.equal(end[name], later[name]) for later in algorithm.at_end[t + 1 :]), name


def test_resume_reproduces_an_uninterrupted_run_and_refuses_other_options(tmp_path, run):
    full, _ = run(CodaPrompt(), tmp_path / "full", n_tasks=2, epochs=1)
    stopped, _ = run(CodaPrompt(), tmp_path / "part", n_tasks=2, epochs=1, stop_after=0)
    resumed, _ = run(CodaPrompt(), tmp_path / "part", n_tasks=2, epochs=1, resume=True)
    assert stopped is None and resumed["accuracy_matrix"] == full["accuracy_matrix"]
    algorithm = CodaPrompt({"ortho_weight": 0.0})
    with pytest.raises(ValueError, match="same options"):
        algorithm.load_state_dict({"tasks_started": 1, "options": CodaPrompt().options}, ctx=None)


def test_an_encoder_without_the_capability_is_one_clear_error(tmp_path, run):
    from climb_harness.testing import TinyEncoder

    with pytest.raises(Exception, match="does not implement the 'prompt-tuning' contract"):
        run(L2P(), tmp_path / "tiny", n_tasks=1, encoder_factory=lambda: TinyEncoder({}))
