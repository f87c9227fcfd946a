"""The knowledge-distillation term of BCL, for every head type of the harness.

Softmax heads (classification, multiple choice): ``KL(softmax(teacher/T) || softmax(student/T))``
averaged over every logit, which is what ``torch.nn.KLDivLoss()`` (reduction ``"mean"``) computes
in the released BCL code, so ``memory_strength`` keeps its meaning. Sigmoid heads (soft-score,
multi-label) are trained with binary cross-entropy, so they get the binary KL per label, also
averaged over every logit. Both are zero when the student matches the teacher.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def distillation_loss(
    head_type: str, student: torch.Tensor, teacher: torch.Tensor, temperature: float
) -> torch.Tensor:
    teacher = teacher.detach()
    if head_type in ("classification", "multiple-choice"):
        log_p = F.log_softmax(student / temperature, dim=-1)
        q = F.softmax(teacher / temperature, dim=-1)
        return F.kl_div(log_p, q, reduction="sum") / student.numel()
    q = torch.sigmoid(teacher / temperature)
    cross = F.binary_cross_entropy_with_logits(student / temperature, q, reduction="none")
    entropy = F.binary_cross_entropy_with_logits(teacher / temperature, q, reduction="none")
    return (cross - entropy).mean()
