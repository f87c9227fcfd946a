"""The layer-hook Fisher on every shipped encoder, and on the model structures its levels exist for.

Each case is compared with the definition written out: one example at a time, its loss differentiated with
``torch.autograd.grad``, squared and averaged. The shipped encoders are built with their manifests'
``test_options`` (tiny configurations), with and without adapters (houlsby, lora), on a one-image task and a
two-image one (vl-minilm then runs the views as rows ``(example, view)``, ViLT calls each layer per view).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from climb_harness.testing.components import SyntheticTask, TinyEncoder, synthetic_task
from climb_harness.testing.manifests import synthetic_manifest

ENCODERS = ("vl-minilm", "vilt", "vilt-bert")


class _TwoImageTask(SyntheticTask):
    """The 4-way colour task with two images per example (the second one another example's), as NLVR2."""

    def examples(self, split):
        out = super().examples(split)
        return [
            dataclasses.replace(e, images=(e.images[0], out[(i + 1) % len(out)].images[0]))
            for i, e in enumerate(out)
        ]


def _task(views: int, size: int = 16):
    if views == 1:
        return synthetic_task("colours", "colour", size=size, seed=1)
    task = _TwoImageTask({"question": "colour", "size": size, "seed": 1})
    task.manifest = {**synthetic_manifest("pairs", "colour", size), "images_per_example": 2}
    return task


class _Context:
    """What ``EWC.estimate_fisher`` reads from a training context, over a model and one collated split."""

    def __init__(self, model, task, batch_size: int = 8) -> None:
        examples = task.examples("train")
        self.model, self.task, self.seed, self.task_index = model, task, 0, 0
        self.device = torch.device("cpu")
        self.tensors = model.encoder.collate(examples, task.info)
        self.targets = torch.tensor([int(e.target) for e in examples])
        self._batch_size = batch_size

    def num_train_examples(self, task):
        return len(self.targets)

    def batch_size(self, task):
        return self._batch_size

    def batch(self, task, indices):
        index = torch.as_tensor(list(indices), dtype=torch.long)
        return {**{k: v[index] for k, v in self.tensors.items()}, "targets": self.targets[index]}


def _context(encoder, task, adapter: str | None = None):
    from climb_harness.testing.harness import ContinualModel

    encoder.adapt_to_tasks([task.info])
    ctx = _Context(ContinualModel(encoder, {task.name: task.info}), task)
    if adapter is not None:
        from climb_adapters.algorithm import TaskAdapters

        ctx.current_task = task.name
        algorithm = TaskAdapters({"config": adapter})
        algorithm.setup(ctx)
        algorithm.on_task_start(ctx)
    torch.manual_seed(7)
    with (
        torch.no_grad()
    ):  # off the initial values (zero tables, zero LoRA B) so that every gradient is non-zero
        for p in ctx.model.encoder.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    return ctx


def _brute_force_fisher(ctx, task, batches):
    """(1/N) sum_n grad(loss of example n alone)^2, one example at a time (as in test_ewc_fisher)."""
    params = {n: p for n, p in ctx.model.encoder.named_parameters() if p.requires_grad}
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    examples = [i for b in batches for i in b]
    ctx.model.eval()
    for i in examples:
        torch.manual_seed(i)  # ViLT draws its patch order; the order does not change the function
        grads = torch.autograd.grad(
            ctx.model.loss(task, ctx.batch(task, [i])), list(params.values()), allow_unused=True
        )
        for n, g in zip(params, grads):
            if g is not None:
                total[n] += g.detach() ** 2
    ctx.model.train()
    return {n: t / len(examples) for n, t in total.items()}


def _assert_fisher_close(fisher, reference):
    """Elementwise within 1e-3, plus 1e-6 of the largest entry of any parameter's Fisher: an entry that is
    zero in exact arithmetic (an attention key's bias: softmax ignores a shift common to all keys) is rounding
    noise."""
    assert fisher.keys() == reference.keys()
    scale = max(float(r.abs().max()) for r in reference.values())
    assert scale > 0
    for name in fisher:
        torch.testing.assert_close(fisher[name], reference[name], rtol=1e-3, atol=1e-6 * scale, msg=name)


def _encoder(name):
    from climb_harness.testing.harness import Registry

    pytest.importorskip("climb_vilt" if name.startswith("vilt") else "climb_vl_minilm")
    registry = Registry()
    return registry.build(
        "encoder", name, dict(registry.get("encoder", name).manifest.get("test_options", {}))
    )


#: What the raw parameters of each encoder (used outside a module call of a listed type) fall back to.
MODULE_LEVEL = {
    "vl-minilm": {"image_embeddings.position_embeddings.weight": "module:image_embeddings"},
    "vilt": {
        "transformer.embeddings.cls_token": "module:transformer.embeddings",
        "transformer.embeddings.position_embeddings": "module:transformer.embeddings",
    },
}
MODULE_LEVEL["vilt-bert"] = MODULE_LEVEL["vilt"]


#: (encoder, views, adapter): each encoder plain on one and two images, and with each adapter on one image
CASES = [(name, views, None) for name in ENCODERS for views in (1, 2)] + [
    (name, 1, adapter) for name in ENCODERS for adapter in ("houlsby", "lora")
]


@pytest.mark.parametrize(("name", "views", "adapter"), CASES)
def test_hooks_fisher_equals_the_brute_force_on_every_shipped_encoder(h, name, views, adapter):
    if adapter is not None:
        pytest.importorskip("climb_adapters")
    task = _task(views)
    ctx = _context(_encoder(name), task, adapter)
    ewc = h.build(fisher_sample_percentage=1.0, fisher_backend="hooks")
    fisher = ewc.estimate_fisher(ctx, task.name)
    assert ewc.last_fisher_backend == "hooks" and ewc.last_hooks_error is None
    assert sum(float(f.sum()) for f in fisher.values()) > 0
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, task.name, ewc.fisher_batches(ctx, task.name)))
    levels = ewc.last_fisher_levels
    assert set(levels) == set(fisher) and "loss" not in levels.values()  # no example-by-example backward
    if adapter is None:
        assert {n: levels[n] for n in MODULE_LEVEL[name]} == MODULE_LEVEL[name]
        linear = [n for n, v in levels.items() if n.endswith("attention.output.dense.weight")]
        assert linear and all(levels[n] == "layer" for n in linear)
        if name.startswith("vilt"):  # the patch embedding, a Conv2d
            assert levels["transformer.embeddings.patch_embeddings.projection.weight"] == "layer"


# ------------------------------------------------------------------ the levels, on small stand-ins
class _SharedLayer(TinyEncoder):
    """The first residual layer applied twice: a layer called twice (per-example gradients add over calls)."""

    def forward(self, batch):
        hidden = super().forward(batch)
        return hidden + self.layers[0](hidden)


class _RawParameter(TinyEncoder):
    """A parameter used directly (not through a module call): the module level."""

    def __init__(self, options=None):
        super().__init__(options)
        self.offset = torch.nn.Parameter(0.1 * torch.randn(self.hidden_size))

    def forward(self, batch):
        return super().forward(batch) * (1 + self.offset)


class _UnmaskedPadding(TinyEncoder):
    """Text as the mean over all 12 token slots, padding included: the padding row (``padding_idx`` 0) gets
    gradient through the forward, which ``nn.Embedding`` drops, so its per-example gradients must too."""

    def forward(self, batch):
        hidden = self.embeddings(batch["input_ids"]).mean(-2) + self.image_proj(batch["pixels"])
        for layer in self.layers:
            hidden = hidden + layer(hidden)
        return hidden


class _UsedOutside(TinyEncoder):
    """``image_proj.weight`` used by its Linear and again directly: the hooks miss a use, their per-example
    gradients do not add up to the batch gradient, and that parameter goes to the loss level."""

    def forward(self, batch):
        hidden = super().forward(batch)
        return hidden + 0.5 * torch.tanh(batch["pixels"] @ self.image_proj.weight.T)


class _Flattened(TinyEncoder):
    """Views as rows: the layers see ``(examples x views, ...)``, example-major (as vl-minilm), or view-major
    (``view_major``: rows are NOT grouped per example; the check must catch it)."""

    view_major = False

    def forward(self, batch):
        ids, pixels = batch["input_ids"], batch["pixels"]
        n, v = ids.shape[:2]
        if self.view_major:
            ids, pixels = ids.transpose(0, 1), pixels.transpose(0, 1)
        flat = super().forward(
            {"input_ids": ids.flatten(0, 1)[:, None], "pixels": pixels.flatten(0, 1)[:, None]}
        )
        out = flat.view(v, n, -1).transpose(0, 1) if self.view_major else flat.view(n, v, -1)
        return out


class _ViewMajor(_Flattened):
    view_major = True


def _tiny_context(h, encoder_cls, views=1):
    task = _task(views, size=24)
    ctx = h.context([task])
    encoder = encoder_cls({})
    encoder.load_state_dict(ctx.model.encoder.state_dict(), strict=False)
    ctx.model.encoder = encoder
    return ctx, task.name


@pytest.mark.parametrize(
    ("encoder_cls", "views", "expected"),
    [
        (_SharedLayer, 1, {"layers.0.0.weight": "layer", "layers.1.0.weight": "layer"}),
        (_RawParameter, 1, {"offset": "module:", "image_proj.weight": "layer"}),
        (_UnmaskedPadding, 1, {"embeddings.weight": "layer"}),
        (
            _UsedOutside,
            1,
            {"image_proj.weight": "loss", "image_proj.bias": "layer", "embeddings.weight": "layer"},
        ),
        (_Flattened, 2, {"image_proj.weight": "layer", "embeddings.weight": "layer"}),
    ],
)
def test_each_level_equals_the_brute_force(h, encoder_cls, views, expected):
    ctx, task = _tiny_context(h, encoder_cls, views)
    ewc = h.build(fisher_sample_percentage=1.0, fisher_backend="hooks")
    fisher = ewc.estimate_fisher(ctx, task)
    assert {n: ewc.last_fisher_levels[n] for n in expected} == expected
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, task, ewc.fisher_batches(ctx, task)))


def test_rows_that_are_not_grouped_per_example_fail_the_check(h):
    """View-major rows: the per-example split is wrong but still adds up to the batch gradient; only the check
    against one example alone sees it, and auto then uses the loop."""
    ctx, task = _tiny_context(h, _ViewMajor, views=2)
    with pytest.raises(RuntimeError, match="differs from autograd's"):
        h.build(fisher_sample_percentage=1.0, fisher_backend="hooks").estimate_fisher(ctx, task)
    auto = h.build(fisher_sample_percentage=1.0)
    fisher = auto.estimate_fisher(ctx, task)
    assert auto.last_fisher_backend == "loop"
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, task, auto.fisher_batches(ctx, task)))


# ------------------------------------------------------------------ no torch._dynamo
_PROBE = textwrap.dedent("""
    import json, sys
    from climb_harness.testing import runs
    from climb_ewc.plugin import climb_algorithms
    ctx = runs.make_context()
    options = {"fisher_backend": sys.argv[1], "fisher_sample_percentage": 0.5}
    ewc = runs.build_component(climb_algorithms()[0], **options)
    ewc.estimate_fisher(ctx, "colours")
    print(json.dumps({"backend": ewc.last_fisher_backend, "dynamo": "torch._dynamo" in sys.modules,
                      "inductor": "torch._inductor" in sys.modules}))
""")


@pytest.mark.parametrize("backend", ["auto", "vmap"])
def test_the_default_fisher_does_not_import_torch_dynamo(backend):
    """The process keeps ``torch._dynamo`` and ``torch._inductor`` out (about 1.5 s of CPU per process);
    ``torch.func``'s ``grad``, which the vmap path uses, imports both (the control)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "CLIMB_EAGER_DYNAMO": "0"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, backend],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["backend"] == ("hooks" if backend == "auto" else "vmap")
    assert seen["dynamo"] == seen["inductor"] == (backend == "vmap"), seen
