"""Per-example gradients from one batched forward/backward pass, by layer hooks, reduced over the examples.

EWC's Fisher needs ``sum_n f(g_n)`` with ``g_n = d loss_n / d theta`` the gradient of example ``n``'s own loss
and ``f`` the square (MAS would use the absolute value). One autograd pass per example is exact but slow;
``torch.func.vmap`` is fast but refuses data-dependent Python (Hugging Face models read tensors with
``.tolist()``), and its ``grad`` imports ``torch._dynamo`` and ``torch._inductor`` (~1.5 s of CPU). This
module uses plain autograd instead, as Opacus does:

1. **One pass.** The model runs once, in eval mode, on a chunk of ``n`` examples; ``losses_fn`` returns the
   ``n`` losses of the examples alone (``head_loss`` of each logit row). One backward pass of their sum gives,
   at every module output, the gradient ``dy``; row ``r`` of a tensor with ``n * k`` rows belongs to example
   ``r // k`` (an encoder that flattens ``(examples, views)`` into rows keeps an example's rows together).
2. **Layer level** (closed forms at leaf modules of exactly these types, whose every call maps rows to
   examples): ``nn.Linear`` (``g_n = sum_t dy_nt x_nt^T``), ``nn.LayerNorm`` (``sum_t dy_nt * xhat_nt``),
   ``nn.Embedding`` (``dy`` rows added per example and token id, sparse; none at ``padding_idx``),
   ``nn.Conv2d`` with ``groups = 1`` and zero padding (``dy`` against the unfolded input).
3. **Module level**, for every other trainable parameter (one used directly, such as ViLT's ``cls_token`` or
   vl-minilm's image position table, or a module type not listed): the closest enclosing module that ran
   with example rows. Its outputs' ``dy``, masked to the rows of one example, is back-propagated to the
   parameter alone: ``n`` backward passes through that module's part of the graph only, no forward again
   (so its random draws, e.g. ViLT's patch order, are the batch's own).
4. **Check**, per parameter: the per-example gradients must add up to the batch gradient of the same pass.
   A parameter that fails (it is also used outside the module the hooks saw) is recomputed at the **loss
   level**: one backward pass of each example's loss through the whole retained graph (exact, slowest).

Step 1 assumes that examples do not interact inside the batch (true in eval mode for every layer but batch
statistics); a caller checks one example against an autograd pass of that example alone
(:class:`climb_ewc.ewc.EWC` does, on the first chunk of every estimate).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LAYER_TYPES", "Reduced", "close", "gradient_scale", "reduce_per_example"]

#: Leaf module types whose per-example gradients have closed forms here (the exact types: a subclass may
#: change the forward, so it is handled at the module level).
LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.LayerNorm, nn.Embedding, nn.Conv2d)

#: Bytes of per-example gradients one layer materialises at once: examples are taken in slices that stay in
#: cache (squaring and adding a slice of 8 examples of a 1536 x 384 layer is ~4x slower than one at a time).
SLICE_BYTES = 4 * 2**20

#: How close the sum of the per-example gradients must come to the batch gradient (float32 sums of the same
#: terms in another order): relative, and absolute against the largest gradient entry of ANY parameter (a
#: gradient that is zero in exact arithmetic, e.g. of an attention key's bias, is rounding noise of the size
#: of the terms that cancel, not of its own size).
CHECK_RTOL, CHECK_ATOL = 1e-3, 1e-5

_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"square": torch.square, "abs": torch.abs}


@dataclasses.dataclass
class Reduced:
    """What :func:`reduce_per_example` gives back.

    Attributes:
        sums: Parameter name -> ``sum_n f(g_n)``.
        kept: Parameter name -> ``g_keep`` (the gradient of example ``keep`` alone), when asked for.
        levels: Parameter name -> ``"layer"``, ``"module:<path>"`` (``"module:"`` is the whole encoder) or
            ``"loss"``: where its per-example gradients came from.
    """

    sums: dict[str, torch.Tensor]
    kept: dict[str, torch.Tensor] | None
    levels: dict[str, str]


@dataclasses.dataclass
class _Dense:
    """Per-example gradients of examples ``start .. start + len(values) - 1``. ``counted``: their sum is
    given separately by a :class:`_Total` (one matrix product instead of a sum over materialised rows)."""

    start: int
    values: torch.Tensor
    counted: bool = False


@dataclasses.dataclass
class _Total:
    """The sum over the examples of a parameter's per-example gradients (its batch gradient via the layer)."""

    value: torch.Tensor


@dataclasses.dataclass
class _Outer:
    """Per-example gradients ``a_n b_n^T`` (a linear layer with one row per example), never materialised."""

    a: torch.Tensor  # (n, out)
    b: torch.Tensor  # (n, in)


@dataclasses.dataclass
class _Rows:
    """Per-example gradients of an embedding table: example ``examples[j]`` adds ``values[j]`` to row
    ``rows[j]``."""

    examples: torch.Tensor
    rows: torch.Tensor
    values: torch.Tensor


class _Accumulator:
    """``sum_n f(g_n)``, ``sum_n g_n`` and ``g_keep`` of one parameter, fed piece by piece."""

    def __init__(
        self, param: torch.Tensor, n: int, f: Callable[[torch.Tensor], torch.Tensor], keep: int | None
    ) -> None:
        self.param, self.n, self.f, self.keep = param, n, f, keep
        self.sum = torch.zeros_like(param, memory_format=torch.preserve_format)
        self.total = torch.zeros_like(self.sum)
        self.kept: torch.Tensor | None = torch.zeros_like(self.sum) if keep is not None else None

    def add(self, piece: _Dense | _Outer | _Rows | _Total) -> None:
        if isinstance(piece, _Total):
            self.total += piece.value
        elif isinstance(piece, _Dense):
            values = piece.values
            if self.kept is not None and piece.start <= self.keep < piece.start + len(values):  # type: ignore[operator]
                self.kept += values[self.keep - piece.start]  # type: ignore[operator]
            if not piece.counted:
                self.total += values.sum(0)
            if len(values) == 1 and self.f is torch.square:
                self.sum.addcmul_(values[0], values[0])  # fused: no squared copy
            else:
                self.sum += self.f(values).sum(0)
        elif isinstance(piece, _Outer):  # f(a_o b_i) = f(a_o) f(b_i) for both transforms: one matrix product
            self.sum += self.f(piece.a).T @ self.f(piece.b)
            self.total += piece.a.T @ piece.b
            if self.kept is not None:
                self.kept += torch.outer(piece.a[self.keep], piece.b[self.keep])
        else:
            width = self.sum.shape[0]
            keys, inverse = torch.unique(piece.examples * width + piece.rows, return_inverse=True)
            values = piece.values.new_zeros((len(keys), *piece.values.shape[1:])).index_add_(
                0, inverse, piece.values
            )
            rows = keys % width
            self.sum.index_add_(0, rows, self.f(values))
            self.total.index_add_(0, rows, values)
            if self.kept is not None:
                mine = keys // width == self.keep
                self.kept.index_add_(0, rows[mine], values[mine])


def _examples(tensor: torch.Tensor, n: int) -> int | None:
    """``k`` when ``tensor``'s ``n * k`` rows give each example ``k`` consecutive rows, else None."""
    rows = tensor.shape[0] if tensor.dim() else 0
    return rows // n if rows and rows % n == 0 else None


def _added(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """The sum of one or more tensors (``sum()`` would add the first to a 0, a copy the size of a layer)."""
    return functools.reduce(operator.add, tensors)


def _slices(n: int, per_example_bytes: int) -> Iterator[tuple[int, int]]:
    step = max(1, SLICE_BYTES // max(1, per_example_bytes))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _layer_pieces(
    module: nn.Module, calls: Sequence[tuple[torch.Tensor, torch.Tensor]], n: int, wanted: set[str]
) -> Iterator[tuple[str, _Dense | _Outer | _Rows | _Total]]:
    """The per-example gradients of ``module``'s parameters in ``wanted``, summed over its ``calls`` (input
    ``x`` and output gradient ``dy`` of each), as pieces for :class:`_Accumulator`."""
    if isinstance(module, nn.Linear):
        xs = [x.reshape(n, -1, x.shape[-1]).to(dy.dtype) for x, dy in calls]
        gs = [dy.reshape(n, -1, dy.shape[-1]) for _, dy in calls]
        if "weight" in wanted:
            if len(calls) == 1 and xs[0].shape[1] == 1:
                yield "weight", _Outer(gs[0][:, 0], xs[0][:, 0])
            else:
                yield "weight", _Total(_added(g.flatten(0, 1).T @ x.flatten(0, 1) for x, g in zip(xs, gs)))
                for start, stop in _slices(n, module.weight.numel() * module.weight.element_size()):
                    yield (
                        "weight",
                        _Dense(
                            start,
                            _added(
                                torch.bmm(g[start:stop].transpose(1, 2), x[start:stop])
                                for x, g in zip(xs, gs)
                            ),
                            counted=True,
                        ),
                    )
        if "bias" in wanted:
            yield "bias", _Dense(0, _added(g.sum(1) for g in gs))
    elif isinstance(module, nn.LayerNorm):
        shape = tuple(module.normalized_shape)
        gs = [dy.reshape(n, -1, *shape) for _, dy in calls]
        if "weight" in wanted:
            xhats = [
                F.layer_norm(x.to(dy.dtype), shape, None, None, module.eps).reshape(n, -1, *shape)
                for x, dy in calls
            ]
            yield "weight", _Dense(0, _added((g * xhat).sum(1) for g, xhat in zip(gs, xhats)))
        if "bias" in wanted:
            yield "bias", _Dense(0, _added(g.sum(1) for g in gs))
    elif isinstance(module, nn.Embedding):
        owners, rows, values = [], [], []
        for x, dy in calls:
            ids = x.reshape(n, -1)
            owner = torch.arange(n, device=ids.device).unsqueeze(1).expand_as(ids)
            keep = (
                ids != module.padding_idx
                if module.padding_idx is not None
                else torch.ones_like(ids, dtype=torch.bool)
            )
            owners.append(owner[keep])
            rows.append(ids[keep])
            values.append(dy.reshape(n, ids.shape[1], -1)[keep])
        yield "weight", _Rows(torch.cat(owners), torch.cat(rows), torch.cat(values))
    else:  # nn.Conv2d, groups 1, zero padding (see _supported)
        assert isinstance(module, nn.Conv2d)
        us, gs = [], []
        for x, dy in calls:
            k = x.shape[0] // n
            unfolded = F.unfold(
                x.to(dy.dtype),
                module.kernel_size,
                dilation=module.dilation,
                padding=module.padding,
                stride=module.stride,
            )  # (n k, C kh kw, L)
            positions = unfolded.shape[-1]
            us.append(unfolded.reshape(n, k, -1, positions).transpose(1, 2).reshape(n, -1, k * positions))
            gs.append(
                dy.reshape(n, k, dy.shape[1], positions)
                .transpose(1, 2)
                .reshape(n, dy.shape[1], k * positions)
            )
        if "weight" in wanted:
            total = _added(
                g.transpose(0, 1).flatten(1) @ u.transpose(0, 1).flatten(1).T for u, g in zip(us, gs)
            )
            yield "weight", _Total(total.reshape(module.weight.shape))
            for start, stop in _slices(n, module.weight.numel() * module.weight.element_size()):
                block = _added(
                    torch.bmm(g[start:stop], u[start:stop].transpose(1, 2)) for u, g in zip(us, gs)
                )
                yield "weight", _Dense(start, block.reshape(stop - start, *module.weight.shape), counted=True)
        if "bias" in wanted:
            yield "bias", _Dense(0, _added(g.sum(2) for g in gs))


def _supported(module: nn.Module) -> bool:
    """Whether ``module`` is a leaf whose per-example gradients :func:`_layer_pieces` computes."""
    if type(module) not in LAYER_TYPES:
        return False
    if isinstance(module, nn.Embedding):
        return module.max_norm is None and not module.scale_grad_by_freq
    if isinstance(module, nn.Conv2d):
        return module.groups == 1 and module.padding_mode == "zeros" and not isinstance(module.padding, str)
    return True


def _tensors(value: Any) -> list[torch.Tensor]:
    """The floating tensors with a graph in a module's output (a tensor, tuple, list, dict or ModelOutput)."""
    if isinstance(value, torch.Tensor):
        return [value] if value.is_floating_point() and value.requires_grad else []
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _mask(dy: torch.Tensor, n: int, example: int) -> torch.Tensor:
    """``dy`` with every row but those of ``example`` set to zero."""
    out = torch.zeros_like(dy)
    k = dy.shape[0] // n
    out[example * k : (example + 1) * k] = dy[example * k : (example + 1) * k]
    return out


class _Tape:
    """The hooks of one pass: leaf inputs and per-example gradients, every module's outputs."""

    def __init__(self, encoder: nn.Module, params: Mapping[str, torch.Tensor], n: int) -> None:
        self.n = n
        self.modules = dict(encoder.named_modules())
        owners: dict[str, set[str]] = {}
        for name in params:
            path, _, attr = name.rpartition(".")
            owners.setdefault(path, set()).add(attr)
        self.owners = owners
        # every module holding a trainable parameter somewhere below it (the module level needs their outputs)
        self.watched = {path for path in self.modules
                        if path == "" or any(o == path or o.startswith(path + ".") for o in owners)}
        self.calls: dict[str, int] = {}
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self.rows_ok: dict[str, bool] = {}
        #: leaf path -> (input, output gradient) of each of its calls whose gradient has arrived
        self.pending: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.sink: Callable[[str, str, Any], None] | None = None  # takes a layer's pieces
        self.handles: list[Any] = []
        self.recording = True  # off after the pass's own backward: later backward passes must not count again

    def install(self) -> None:
        for path in self.watched:
            module = self.modules[path]
            self.handles.append(module.register_forward_hook(self._forward(path, module), with_kwargs=True))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _forward(self, path: str, module: nn.Module) -> Callable[..., None]:
        leaf = path in self.owners and _supported(module)

        def hook(mod: nn.Module, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any) -> None:
            self.calls[path] = self.calls.get(path, 0) + 1
            outs = _tensors(output)
            self.outputs.setdefault(path, []).extend(outs)
            ok = bool(outs) and all(_examples(t, self.n) is not None for t in outs)
            if leaf:
                x = args[0] if args else kwargs.get("input")
                ok = (
                    ok
                    and isinstance(x, torch.Tensor)
                    and isinstance(output, torch.Tensor)
                    and _examples(x, self.n) == _examples(output, self.n)
                )
                if ok:
                    output.register_hook(self._backward(path, mod, x))
            self.rows_ok[path] = self.rows_ok.get(path, True) and ok

        return hook

    def _backward(self, path: str, module: nn.Module, x: torch.Tensor) -> Callable[[torch.Tensor], None]:
        def hook(dy: torch.Tensor) -> None:
            if not self.recording:
                return
            pending = self.pending.setdefault(path, [])
            pending.append((x.detach(), dy.detach()))
            if len(pending) == self.calls[path]:  # the last call's gradient: the layer is complete
                self.flush(path)

        return hook

    def flush(self, path: str | None = None) -> None:
        """Reduce the layer at ``path`` (None: every layer still waiting, e.g. on a call without gradient)."""
        for name in [path] if path is not None else list(self.pending):
            calls = self.pending.pop(name, [])
            if calls and self.rows_ok.get(name) and self.sink is not None:
                for attr, piece in _layer_pieces(self.modules[name], calls, self.n, self.owners[name]):
                    self.sink(name, attr, piece)


def _ancestors(path: str) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "a.b", "a", ""]`` (the encoder itself last)."""
    parts = path.split(".") if path else []
    return [".".join(parts[:i]) for i in range(len(parts), -1, -1)]


def reduce_per_example(
    encoder: nn.Module,
    params: Mapping[str, torch.Tensor],
    losses_fn: Callable[[], torch.Tensor],
    n: int,
    *,
    transform: str = "square",
    keep: int | None = None,
) -> Reduced:
    """``sum_n f(d loss_n / d theta)`` for every parameter in ``params``, from one batched pass.

    Args:
        encoder: The module whose parameters ``params`` are (names as in its ``named_parameters()``).
        params: The trainable parameters to differentiate, by name.
        losses_fn: Runs the batched forward pass and returns the ``(n,)`` losses of the examples alone; called
            once, with the hooks in place and autograd enabled.
        n: The number of examples in the pass.
        transform: ``f``: ``"square"`` (EWC's Fisher) or ``"abs"`` (MAS's importance).
        keep: Also return the gradient of this example alone (a caller's check against autograd).

    Returns:
        The sums, the kept gradients and the level each parameter took (see the module docstring).

    Raises:
        ValueError: On a ``losses_fn`` result that is not ``n`` losses.
    """
    f = _TRANSFORMS[transform]
    acc = {name: _Accumulator(p, n, f, keep) for name, p in params.items()}
    tape = _Tape(encoder, params, n)
    tape.sink = lambda path, attr, piece: acc[f"{path}.{attr}" if path else attr].add(piece)
    tape.install()
    try:
        with torch.enable_grad():
            losses = losses_fn()
    finally:
        tape.remove()
    if losses.shape != (n,):
        raise ValueError(f"per-example losses: expected shape ({n},), got {tuple(losses.shape)}")
    levels = _levels(tape, params)
    by_module: dict[str, list[str]] = {}
    for name, level in levels.items():
        if level.startswith("module:"):
            by_module.setdefault(level[len("module:") :], []).append(name)
    outputs = {path: tape.outputs[path] for path in by_module}
    flat_outputs = [t for path in by_module for t in outputs[path]]
    names = list(params)
    grads = torch.autograd.grad(
        losses.sum(), [*params.values(), *flat_outputs], allow_unused=True, retain_graph=True
    )
    batch = dict(zip(names, grads[: len(names)]))
    dys = iter(grads[len(names) :])
    module_dys = {path: [next(dys) for _ in outputs[path]] for path in by_module}
    tape.recording = False
    tape.flush()
    for path, members in by_module.items():
        _module_level(
            outputs[path], module_dys[path], [params[m] for m in members], [acc[m] for m in members], n
        )
    scale = gradient_scale(batch.values())
    retry = [name for name in names if not close(acc[name].total, batch[name], scale)]
    if retry:
        fresh = {name: _Accumulator(params[name], n, f, keep) for name in retry}
        for example in range(n):
            got = torch.autograd.grad(
                losses[example], [params[name] for name in retry], allow_unused=True, retain_graph=True
            )
            for name, g in zip(retry, got):
                if g is not None:
                    fresh[name].add(_Dense(example, g.unsqueeze(0)))
        acc.update(fresh)
        levels.update({name: "loss" for name in retry})
    kept = {name: a.kept for name, a in acc.items() if a.kept is not None} if keep is not None else None
    return Reduced({name: a.sum for name, a in acc.items()}, kept, levels)


def _levels(tape: _Tape, params: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Each parameter's level after the forward pass: its layer's closed form if that ran with example rows,
    else the closest enclosing module that did."""
    levels: dict[str, str] = {}
    for name in params:
        path = name.rpartition(".")[0]
        module = tape.modules[path]
        if _supported(module) and tape.rows_ok.get(path) and tape.calls.get(path):
            levels[name] = "layer"
            continue
        for candidate in _ancestors(path):
            if tape.rows_ok.get(candidate) and tape.calls.get(candidate):
                levels[name] = f"module:{candidate}"
                break
        else:
            levels[name] = "loss"
    return levels


def _module_level(
    outputs: Sequence[torch.Tensor],
    dys: Sequence[torch.Tensor | None],
    params: Sequence[torch.Tensor],
    accs: Sequence[_Accumulator],
    n: int,
) -> None:
    """Each example's gradient through one module: its rows of the outputs' gradient, back-propagated."""
    pairs = [(out, dy) for out, dy in zip(outputs, dys) if dy is not None]
    if not pairs:
        return
    for example in range(n):
        got = torch.autograd.grad(
            [out for out, _ in pairs],
            list(params),
            grad_outputs=[_mask(dy, n, example) for _, dy in pairs],
            allow_unused=True,
            retain_graph=True,
        )
        for accumulator, g in zip(accs, got):
            if g is not None:
                accumulator.add(_Dense(example, g.unsqueeze(0)))


def gradient_scale(grads: Iterable[torch.Tensor | None]) -> float:
    """The largest absolute entry over ``grads`` (the absolute tolerance of :func:`close` is relative
    to it)."""
    return max((float(g.abs().max()) for g in grads if g is not None and g.numel()), default=0.0)


def close(got: torch.Tensor, want: torch.Tensor | None, scale: float) -> bool:
    """``got`` equals ``want`` (None: zero) within :data:`CHECK_RTOL` and ``CHECK_ATOL * scale``."""
    if want is None:
        want = torch.zeros_like(got)
    return bool(torch.allclose(got, want, rtol=CHECK_RTOL, atol=CHECK_ATOL * scale))
