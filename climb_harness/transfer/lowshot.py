"""Low-shot training samples for Phase II: ``n`` per class, a share of the split, or ``n`` examples in all.

Every sample is stratified by label and a function of ``(targets, shots, seed)`` alone, so the same
seed gives the same sample to every upstream checkpoint and to the pretrained reference (the scores
are paired), and another seed gives another sample. CLiMB's settings (its paper, section 5):

* multimodal: VQAv2 and VCR 5% of train, NLVR2 and SNLI-VE 2,048 per class;
* language: SST-2 / IMDb 16 or 32 per class, multiple choice 1,024 or 4,096 examples;
* vision: 16 or 32 per class (COCO, multi-label: 5% or 10%).

A task may declare its own in its manifest (``defaults.low_shot``); :func:`default_shots` falls back
to these by modality and head type.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from climb_harness.api import Example, Task
from climb_harness.api.errors import UsageError

_SHOTS = re.compile(r"^\s*(?:(?P<per>\d+)\s*/\s*class|(?P<share>\d+(?:\.\d+)?)\s*%|(?P<total>\d+))\s*$")


@dataclasses.dataclass(frozen=True)
class Shots:
    """How many training examples a low-shot cell gets.

    Attributes:
        kind: ``"per_class"`` (``value`` per label), ``"share"`` (``value`` percent of the split) or
            ``"total"`` (``value`` examples in all, each label keeping its share).
        value: The count, or the percentage.
    """

    kind: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Shots:
        """Read ``"16/class"``, ``"5%"`` or ``"1024"``.

        Example:
            >>> Shots.parse("16/class"), Shots.parse("5%").label, Shots.parse("1024").label
            (Shots(kind='per_class', value=16), '5%', '1024')
        """
        match = _SHOTS.match(str(text))
        if not match or float(next(v for v in match.groups() if v is not None)) <= 0:
            raise UsageError(f"Low-shot size {text!r} is not understood: write N/class (e.g. 16/class), "
                             "P% (a share of the training split, e.g. 5%) or N (examples in all, e.g. 1024), N > 0.")
        if match["per"]:
            return cls("per_class", int(match["per"]))
        if match["share"]:
            share = float(match["share"])
            if share > 100:
                raise UsageError(f"Low-shot share {text!r} is over 100%.")
            return cls("share", int(share) if share.is_integer() else share)
        return cls("total", int(match["total"]))

    @property
    def label(self) -> str:
        """The canonical text (what results files and folder names use)."""
        value = f"{self.value:g}"
        return {"per_class": f"{value}/class", "share": f"{value}%", "total": value}[self.kind]


def stratum(target: Any) -> Hashable:
    """The label an example is stratified by: its class or choice, a soft target's best label, or the
    smallest label of a multi-label target (``None`` for an example without labels)."""
    if isinstance(target, Mapping):
        return max(sorted(target), key=lambda label: float(target[label])) if target else None
    if isinstance(target, (list, tuple)):
        return min(int(t) for t in target) if target else None
    return int(target) if target is not None else None


def low_shot_indices(targets: Sequence[Any], shots: Shots, seed: int) -> list[int]:
    """Sorted indices of the low-shot sample of a training split with these targets.

    Args:
        targets: One target per example (as :class:`~climb_harness.api.Example` holds it).
        shots: The size.
        seed: The sampling seed.

    Returns:
        ``per_class``: ``min(n, size of the class)`` of every class; ``share``: ``round(len * p / 100)``
        (at least 1) and ``total``: ``min(n, len)`` examples, each label keeping its share (largest
        remainder).

    Example:
        >>> targets = [0, 0, 0, 1, 1, 1, 1, 2]
        >>> sorted(targets[i] for i in low_shot_indices(targets, Shots.parse("2/class"), seed=10))
        [0, 0, 1, 1, 2]
        >>> low_shot_indices(targets, Shots.parse("50%"), 10) == low_shot_indices(targets, Shots.parse("50%"), 10)
        True
    """
    groups: dict[Hashable, list[int]] = {}
    for i, target in enumerate(targets):
        groups.setdefault(stratum(target), []).append(i)
    keys = sorted(groups, key=repr)
    rng = random.Random(int(seed))
    if shots.kind == "per_class":
        chosen = [i for k in keys for i in rng.sample(groups[k], min(int(shots.value), len(groups[k])))]
        return sorted(chosen)
    n = max(1, round(len(targets) * float(shots.value) / 100)) if shots.kind == "share" else int(shots.value)
    n = min(n, len(targets))
    quotas = {k: n * len(groups[k]) / len(targets) for k in keys}
    counts = {k: int(quotas[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(quotas[k] - counts[k]), repr(k)))[: n - sum(counts.values())]:
        counts[k] += 1
    return sorted(i for k in keys for i in rng.sample(groups[k], counts[k]))


def default_shots(manifest: Mapping[str, Any]) -> list[str]:
    """A task's low-shot sizes: its manifest's ``defaults.low_shot``, else CLiMB's by modality and head."""
    declared = (manifest.get("defaults") or {}).get("low_shot")
    if declared:
        return [Shots.parse(s).label for s in declared]
    head = (manifest.get("head") or {}).get("type")
    if head == "multiple-choice":
        return ["1024", "4096"]
    if head in ("multi-label", "soft-score"):
        return ["5%", "10%"] if manifest.get("modality") != "vision-language" else ["5%"]
    if manifest.get("modality") == "vision-language":
        return ["2048/class"]
    return ["16/class", "32/class"]


class LowShotTask(Task):
    """``base`` with its training split cut to the low-shot sample; the other splits are the base's own."""

    def __init__(self, base: Task, shots: Shots, seed: int) -> None:
        super().__init__(dict(base.options))
        self.base, self.shots, self.seed = base, shots, int(seed)
        self.manifest = base.manifest
        self._train: list[Example] | None = None
        self.indices: list[int] = []

    def examples(self, split: str) -> Sequence[Example]:
        if split != "train":
            return self.base.examples(split)
        if self._train is None:
            full = self.base.examples("train")
            self.indices = low_shot_indices([e.target for e in full], self.shots, self.seed)
            self._train = [full[i] for i in self.indices]
        return self._train

    def fingerprint(self) -> Any:
        return self.base.fingerprint()

    def split_identity(self, split: str) -> tuple[Any, ...]:
        """What decides the split's examples: runners sharing loaded splits key them by it."""
        return (id(self), split) if split == "train" else (id(self.base), split)
