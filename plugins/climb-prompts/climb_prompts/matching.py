"""Query-key matching shared by L2P and DualPrompt: cosine similarity, top-N choice, the key loss.

With ``q`` a sequence's frozen query and ``k_m`` the learnable keys, the match is
``gamma(q, k_m) = cos(q, k_m)``; L2P chooses the ``N`` most similar keys (DualPrompt: ``N = 1``) and
adds ``lambda * sum_{chosen} (1 - cos(q, k))`` to the loss, averaged over the batch, which pulls the
chosen keys towards the queries that chose them (Wang et al. 2022, Eq. 5; the official code's
"pull constraint", written there as ``-lambda * sum cos / batch``: the same gradient).
"""

from __future__ import annotations

import torch

__all__ = ["batchwise_choice", "cosine", "key_loss", "top_n"]

_EPS = 1e-12  # the official l2_normalize's epsilon (on the squared norm)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True).clamp_min(_EPS))


def cosine(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """``(S, M)`` cosine similarities of ``(S, D)`` queries with ``(M, D)`` keys."""
    return _normalise(query) @ _normalise(keys).t()


def top_n(similarity: torch.Tensor, n: int) -> torch.Tensor:
    """``(S, n)`` indices of each row's ``n`` largest similarities, most similar first.

    Raises:
        ValueError: When ``n`` exceeds the number of keys.
    """
    if n > similarity.shape[1]:
        raise ValueError(f"asked for the top {n} of {similarity.shape[1]} prompts; choose top_n <= "
                         "pool_size.")
    return torch.topk(similarity, n, dim=1).indices


def batchwise_choice(indices: torch.Tensor, pool_size: int) -> torch.Tensor:
    """The official ``batchwise_prompt``: every row gets the ``n`` ids chosen most often in the batch.

    Ties go to the smaller id (the official ``topk`` over counts leaves them unspecified).

    Args:
        indices: ``(S, n)`` per-row choices.
        pool_size: How many ids exist.

    Returns:
        ``(S, n)``: the same ``n`` ids, by decreasing count, in every row.
    """
    n = indices.shape[1]
    counts = torch.bincount(indices.flatten(), minlength=pool_size)
    order = sorted(range(pool_size), key=lambda i: (-int(counts[i]), i))[:n]
    return torch.tensor(order, device=indices.device).expand(indices.shape[0], -1)


def key_loss(query: torch.Tensor, keys: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """``sum over the n chosen keys of the batch mean of (1 - cos(q, k_chosen))``.

    Args:
        query: ``(S, D)`` queries (no gradient: they come from the frozen encoder).
        keys: ``(M, D)`` keys.
        chosen: ``(S, n)`` chosen key indices.

    Returns:
        A scalar whose gradient reaches only the chosen keys.
    """
    similarity = (_normalise(query).unsqueeze(1) * _normalise(keys)[chosen]).sum(-1)  # (S, n)
    return (1.0 - similarity).sum(1).mean()
