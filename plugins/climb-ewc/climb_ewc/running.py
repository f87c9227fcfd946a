"""A sum of diagonal quadratics kept as one: EWC's all-past penalty in constant time per step.

``sum_t sum_i F_t,i (theta_i - theta*_t,i)^2`` over T past tasks costs T passes over the parameters at every
step. Per parameter it is one quadratic in ``theta_i``: with the running sums ``A = sum_t F_t``,
``B = sum_t F_t theta*_t`` and ``C = sum_t F_t theta*_t^2`` it is ``A theta^2 - 2 B theta + C``. That form
cancels catastrophically in float32 near the anchors (three terms of size ``F theta^2`` whose sum is of size
``F (theta - theta*)^2``), and so does its centred form ``A (theta - mu)^2 + R`` with ``mu = B / A`` when
``mu`` is stored as a weight (its rounding, about 1e-7 of the weight, is not small next to ``theta - mu``). So
the same sums are kept relative to a reference ``r``, the latest anchor (the weights every later task starts
from), with offsets ``d_t = theta*_t - r`` that are small and exact (nearby floats subtract exactly)::

    sum_t F_t (theta - theta*_t)^2 = A (u - m)^2 + R,    u = theta - r,    m = sum_t F_t d_t / A,
                                                         R = sum_t F_t (d_t - m)^2

A new task with Fisher ``F`` and anchor ``a`` moves the reference to ``a`` (``m <- m - (a - r)``, ``R`` does
not change under a shift) and is then folded in with offset 0 by the weighted form of Welford's algorithm
(West 1979): ``A' = A + F``, ``m' = m A / A'``, ``R' = R + (A F / A') m^2``; where ``A' = 0`` the term is
zero. The penalty is ``sum_i A_i (u_i - m_i)^2 + sum_i R_i``: one pass over the parameters whatever the number
of tasks, with the gradient ``2 A (u - m) = 2 sum_t F_t (theta - theta*_t)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["SummedQuadratic"]


class SummedQuadratic:
    """``sum_t sum_i F_t,i (theta_i - a_t,i)^2`` for the ``(F_t, a_t)`` folded in so far, in order."""

    def __init__(self) -> None:
        self.weight: dict[str, torch.Tensor] = {}  # A = sum_t F_t
        self.offset: dict[str, torch.Tensor] = {}  # m, the Fisher-weighted mean of a_t - r
        self.residual: dict[str, torch.Tensor] = {}  # R = sum_t F_t (a_t - r - m)^2
        self.reference: dict[str, torch.Tensor] = {}  # r, the latest anchor (not a copy)
        self.constant: torch.Tensor | None = None  # sum_i R_i
        self.folded: list[tuple[str, Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]]] = []  # in order

    def fold(self, task: str, fisher: Mapping[str, torch.Tensor], anchor: Mapping[str, torch.Tensor]) -> None:
        """Add task ``task``'s term ``sum_i F_i (theta_i - a_i)^2`` (the dicts are remembered in
        :attr:`folded`, so that a caller can tell whether what was folded is still what it holds)."""
        with torch.no_grad():
            for name, f in fisher.items():
                a = anchor[name]
                if name not in self.weight:
                    self.weight[name], self.offset[name] = f.clone(), torch.zeros_like(f)
                    self.residual[name] = torch.zeros_like(f)
                else:
                    offset = self.offset[name] - (a - self.reference[name])  # the same offsets, seen from a
                    total = self.weight[name] + f
                    keep = torch.where(total > 0, self.weight[name] / total, torch.ones_like(total))  # A / A'
                    self.residual[name] += f * keep * offset.square()
                    self.offset[name] = offset * keep
                    self.weight[name] = total
                self.reference[name] = a
            if self.residual:
                self.constant = torch.stack([r.sum() for r in self.residual.values()]).sum()
        self.folded.append((task, fisher, anchor))

    def value(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """``sum_i A_i (theta_i - r_i - m_i)^2 + sum_i R_i`` at ``params`` (None before any fold)."""
        total: torch.Tensor | None = None
        for name, weight in self.weight.items():
            term = (weight * (params[name] - self.reference[name] - self.offset[name]).pow(2)).sum()
            total = term if total is None else total + term
        if total is None:
            return None
        assert self.constant is not None
        return total + self.constant.to(total.device)
