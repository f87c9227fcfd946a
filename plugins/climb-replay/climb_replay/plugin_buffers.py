"""Second hook module of climb-replay: the manifests of der, derpp, er-ace and gdumb.

These four keep a memory of the training stream (a reservoir, or GDumb's class-balanced memory) through
the harness's memory toolkit, as the four methods of :mod:`climb_replay.plugin` do. Cheap to import (no
torch): ``climb list`` imports it; each method's module is imported only when the harness builds it.
"""

from __future__ import annotations

import copy
from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl
from climb_replay.plugin import _options

DER = ("Buzzega, P., Boschini, M., Porrello, A., Abati, D., Calderara, S. (2020). Dark Experience "
       "for General Continual Learning: a Strong, Simple Baseline. NeurIPS. arXiv:2004.07211.")
ACE = ("Caccia, L., Aljundi, R., Asadi, N., Tuytelaars, T., Pineau, J., Belilovsky, E. (2022). New "
       "Insights on Reducing Abrupt Representation Change in Online Continual Learning. ICLR. "
       "arXiv:2104.05025.")
GDUMB = ("Prabhu, A., Torr, P. H. S., Dokania, P. K. (2020). GDumb: A Simple Approach that "
         "Questions Our Progress in Continual Learning. ECCV. doi:10.1007/978-3-030-58536-5_31.")

_MEMORY_SIZE = {
    "type": "integer", "minimum": 1, "default": 1000,
    "description": "Total examples held, over all tasks, at any time (the same meaning as every replay "
    "method's memory_size, so methods compare at equal memory). No value of the paper applies to this "
    "harness; er-reservoir's default.",
}
_REPLAY_BATCH_SIZE = {
    "type": ["integer", "null"], "minimum": 1, "default": None,
    "description": "Memory examples per draw (null = the current task's training batch size, as the papers' "
    "equal batch and buffer-batch sizes); capped by the memory.",
}
_STREAM = (" The memory is a reservoir (Vitter's Algorithm R) of memory_size (task, index) "
           "entries fed, after every step, with the batch just trained on, in every epoch (as the authors' "
           "code adds every batch), so with several epochs an example may be held twice. Draws are uniform "
           "without replacement over the whole memory, the current task included, from the first step on; "
           "each example goes through its own task's head, and a draw that mixes tasks weights each task's "
           "mean term by its share.")
_DER = ("Every step: loss = CE(current batch) + alpha * MSE(logits of the drawn examples now, their "
        "logits stored at insertion)")


def _weight(default: float, source: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "default": default, "description": source}


MANIFESTS: dict[str, dict[str, Any]] = {
    "der": {
        # Filled, after each step, from the batch this process trained on: under data parallelism each
        # process holds a different reservoir (its own shard), so the state would not stay equal.
        "data_parallel": False,
        "summary": "Dark Experience Replay: a reservoir of the stream holding the logits at insertion, and "
        "an MSE between the model's logits on a memory draw and the stored ones.",
        "paper": DER,
        "description": _DER + " (the stored logits come from the same forward pass the step trained on; "
        "F.mse_loss over each example's head logits, averaged over the draw)." + _STREAM + " Deviations: the "
        "memory stores indices (inputs and labels are read back with ctx.batch) and each stored row is one "
        "task head's logits (per-task heads); the harness's optimizer (AdamW) instead of the paper's SGD; no "
        "data augmentation (the paper stores non-augmented inputs and augments the replayed ones).",
        "options": _options({
            "memory_size": copy.deepcopy(_MEMORY_SIZE),
            "alpha": _weight(0.3, "Weight of the logit MSE (Buzzega et al.'s best value on Seq-CIFAR-10 at "
            "every buffer size, Mammoth's best_args)."),
            "replay_batch_size": copy.deepcopy(_REPLAY_BATCH_SIZE),
        }),
        "factory": "climb_replay.der:DarkExperienceReplay",
    },
    "derpp": {
        # Filled, after each step, from the batch this process trained on: under data parallelism each
        # process holds a different reservoir (its own shard), so the state would not stay equal.
        "data_parallel": False,
        "summary": "DER++: DER's logit MSE plus a cross-entropy on a second, independent draw of the "
        "memory's examples and labels.",
        "paper": DER,
        "description": _DER + " + beta * CE(a second independent draw of the memory, its labels)." + _STREAM
        + " Labels are the tasks' targets read back by index (the same as at insertion). Deviations: as "
        "der's (indices, per-task heads, AdamW, no augmentation).",
        "options": _options({
            "memory_size": copy.deepcopy(_MEMORY_SIZE),
            "alpha": _weight(0.2, "Weight of the logit MSE (Buzzega et al.'s best DER++ value on "
            "Seq-CIFAR-10 with a 500-example buffer, Mammoth's best_args)."),
            "beta": _weight(0.5, "Weight of the cross-entropy on the second draw (same source)."),
            "replay_batch_size": copy.deepcopy(_REPLAY_BATCH_SIZE),
        }),
        "factory": "climb_replay.der:DarkExperienceReplay",
    },
    "er-ace": {
        # Filled, after each step, from the batch this process trained on: under data parallelism each
        # process holds a different reservoir (its own shard), so the state would not stay equal.
        "data_parallel": False,
        "summary": "ER with the asymmetric cross-entropy; with per-task heads it is reservoir ER at every "
        "step plus a mask of seen classes absent from the mini-batch (see description).",
        "paper": ACE,
        "description": (
            "Every step: loss = CE_ace(current batch) + CE(memory draw, each example through its own head). "
            "CE_ace masks out of the softmax every logit except the classes present in the incoming batch "
            "and those not seen yet in the stream (index >= the largest seen), as the official code "
            "(pclucas14/AML) does, always (its task-free setting)." + _STREAM + " WHAT IT REDUCES TO HERE: "
            "the asymmetry protects old classes from the gradients of new ones in one shared head; with the "
            "harness's per-task heads old classes are never in the incoming softmax, so that effect is "
            "absent by construction. What remains is reservoir ER at every step, plus masking, inside the "
            "current task's head, classes already seen but absent from the mini-batch. Only classification "
            "heads are masked (multiple-choice logits are answer positions; soft-score and multi-label heads "
            "use sigmoids): on those heads it is exactly reservoir ER. Its numbers measure that, not "
            "ER-ACE's class-incremental benefit. Deviations: seen classes are tracked per task head (the "
            "official code tracks one label space); Mammoth masks only from the second task, the official "
            "code always (followed here); the harness's optimizer (AdamW)."
        ),
        "options": _options({
            "memory_size": copy.deepcopy(_MEMORY_SIZE),
            "replay_batch_size": copy.deepcopy(_REPLAY_BATCH_SIZE),
        }),
        "factory": "climb_replay.er_ace:ERACE",
    },
    "gdumb": {
        # The memory is filled from each task's whole training split (the same in every process, seeded),
        # and the runner shards the memory batches it trains on: the state stays equal everywhere.
        "data_parallel": True,
        "summary": "GDumb: a greedy class-balanced memory of the stream, and a model retrained from scratch "
        "(initial weights restored) on the memory alone before each evaluation.",
        "paper": GDUMB,
        "description": (
            "When a task starts, its training examples stream once (in the runner's first-epoch order) into "
            "a class-balanced memory of memory_size entries (the paper's Algorithm 1: stored while there is "
            "room; then an example of class y enters only if y holds fewer than memory_size / classes-seen "
            "entries, evicting a random entry of the largest class). Classes are (task, label): the target "
            "for classification and multiple-choice heads, the arg-max answer for soft-score heads, the "
            "label set for multi-label heads. Then every weight (encoder and all heads) is reset to the "
            "run's initial weights and the task's epochs train on the memory alone, each task's entries "
            "through its own head (batches of that task's batch size, interleaved at random); the epoch is "
            "chosen on the mean selection score of every task seen. So each accuracy-matrix row scores a "
            "model trained from scratch on the memory. Deviations: the harness's optimizer, learning rate, "
            "schedule and epochs (the paper trains with SGD and cosine warm restarts for up to 256 epochs, "
            "with cutmix)."
        ),
        "options": _options({"memory_size": copy.deepcopy(_MEMORY_SIZE)}),
        "factory": "climb_replay.gdumb:GDumb",
    },
}


def manifest(name: str) -> dict[str, Any]:
    """The full algorithm manifest of method ``name`` (without the factory)."""
    spec = MANIFESTS[name]
    return {"name": name, "api_version": API_VERSION, "family": "replay",
            **{k: copy.deepcopy(v) for k, v in spec.items() if k != "factory"}}


@hookimpl
def climb_algorithms() -> list[Component]:
    """der, derpp, er-ace, gdumb."""
    return [algorithm(manifest(name), spec["factory"]) for name, spec in MANIFESTS.items()]
