"""Hook module of climb-replay: the manifests of experience-replay, er-reservoir, er-ring and agem.

Cheap to import (no torch): ``climb list`` imports it; each method's module is imported only when
the harness builds it.
"""

from __future__ import annotations

import copy
from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

CLIMB = ("Srinivasan, T., Chang, T.-Y., Pinto Alva, L., Chochlakis, G., Rostami, M., Thomason, J. (2022). "
         "CLiMB: A Continual Learning Benchmark for Vision-and-Language Tasks. NeurIPS Datasets and Benchmarks.")
TINY = ("Chaudhry, A., Rohrbach, M., Elhoseiny, M., Ajanthan, T., Dokania, P. K., Torr, P. H. S., Ranzato, M. (2019). "
        "On Tiny Episodic Memories in Continual Learning. arXiv:1902.10486.")
AGEM = ("Chaudhry, A., Ranzato, M., Rohrbach, M., Elhoseiny, M. (2019). Efficient Lifelong Learning with A-GEM. ICLR. "
        "arXiv:1812.00420.")


def _options(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


_REPLAY_FREQUENCY = {
    "type": "integer", "minimum": 1, "default": 100,
    "description": "Take one replay step every this many training steps of an epoch (CLiMB's --replay_frequency, 100). "
    "A task with fewer steps per epoch never replays: lower it for small benchmarks.",
}


def _memory_size(per_task: str) -> dict[str, Any]:
    """The option every replay method shares: one total budget of stored examples for the whole sequence."""
    return {
        "type": ["integer", "null"], "minimum": 1, "default": None,
        "description": "Total training examples stored over the whole task sequence (the same meaning in every replay "
        "method of climb-replay, climb-clgym and climb-bcl). Split evenly over the T tasks of the run: task i keeps "
        f"M // T examples, one more for the first M % T tasks. null = {per_task}.",
    }


def _replay_batch_size(description: str) -> dict[str, Any]:
    return {"type": ["integer", "null"], "minimum": 1, "default": None, "description": description}


MANIFESTS: dict[str, dict[str, Any]] = {
    "experience-replay": {
        # Memories are drawn from the task's seeded stream, the same in every process, and the replay step
        # (ctx.optimizer_step) computes the same loss everywhere. er-reservoir and er-ring fill their memories
        # from each process's own batch shard, and A-GEM is not verified under data parallelism: not declared.
        "data_parallel": True,
        "summary": "CLiMB's experience replay: a random 1% of each past task, and every 100 steps one extra step on a "
        "batch of one past task drawn uniformly.",
        "paper": CLIMB + " Experience replay after Rolnick et al. (2019) and " + TINY,
        "description": (
            "When a task ends, memory_percentage of its training examples (at least one), drawn at random, are "
            "stored as indices; with memory_size M (total over the T tasks) it is the task's share, M // T (one more "
            "for the first M % T tasks), so that the memory ends at M examples. While learning a later task, after every replay_frequency-th optimizer step of "
            "an epoch, one past task is drawn uniformly and one extra optimizer step (the runner's own "
            "zero-grad/backward/clip/step, same optimizer) is taken on replay_batch_size examples drawn from its "
            "memory without replacement, through its own head. CLiMB built a fresh AdamW for every replay step; "
            "here the task's optimizer is shared. The learning-rate schedule only counts the main steps."
        ),
        "options": _options({
            "memory_percentage": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.01,
                                  "description": "Share of each task's training set kept in memory (CLiMB's --memory_percentage, 0.01); "
                                  "ignored when memory_size is set."},
            "memory_size": _memory_size("memory_percentage of each task's training set"),
            "replay_frequency": copy.deepcopy(_REPLAY_FREQUENCY),
            "replay_batch_size": _replay_batch_size(
                "Examples per replay step (null = the replayed task's training batch size, as CLiMB); capped by its memory."),
        }),
        "factory": "climb_replay.experience_replay:ExperienceReplay",
    },
    "er-reservoir": {
        "summary": "Experience replay from one fixed-size memory filled by reservoir sampling over every training "
        "example seen, on CLiMB's replay schedule.",
        "paper": TINY + " Reservoir sampling: Vitter, J. S. (1985). Random sampling with a reservoir. ACM TOMS 11(1).",
        "description": (
            "A single memory of memory_size (task, index) pairs. Each training example is offered to it the first "
            "time it is trained on within a task (Vitter's Algorithm R: stored while there is room, afterwards it "
            "replaces a random slot with probability memory_size / examples seen), so the memory is a uniform "
            "sample of the whole stream and tasks share it in proportion to their size. Replay follows CLiMB's "
            "schedule: every replay_frequency-th step of an epoch, one extra optimizer step on replay_batch_size "
            "entries drawn uniformly from the memory's past-task entries (replay_from: past, default, as CLiMB's "
            "ER) or from all of it (all, as Chaudhry et al.'s ER); a batch that mixes tasks sends each example "
            "through its task's head, losses weighted by each task's share."
        ),
        "options": _options({
            "memory_size": {"type": "integer", "minimum": 1, "default": 1000,
                            "description": "Total examples held, over all tasks, at any time (the reservoir's capacity; the same "
                            "meaning as every replay method's memory_size). No CLiMB value; a round number."},
            "replay_frequency": copy.deepcopy(_REPLAY_FREQUENCY),
            "replay_batch_size": _replay_batch_size(
                "Entries per replay step (null = the current task's training batch size); capped by the memory."),
            "replay_from": {"type": "string", "enum": ["past", "all"], "default": "past",
                            "description": "past: only entries of tasks learned before the current one; all: the current task too."},
        }),
        "factory": "climb_replay.er_reservoir:ReservoirReplay",
    },
    "er-ring": {
        "summary": "Experience replay with a FIFO ring buffer per task: every step trains on the current batch plus "
        "a batch from past tasks' memories (Chaudhry et al. 2019).",
        "paper": TINY,
        "description": (
            "Each task has a ring buffer of memories_per_task example indices (with memory_size M over T tasks: M // T, "
            "one more for the first M % T tasks), fed with every batch it trains on "
            "(oldest dropped first; an index already held is not added twice), so it keeps the task's most recent "
            "distinct examples. The paper's ring is per class; here it is per task, because soft-score and "
            "multi-label heads have no single class per example. At EVERY step of a later task the loss is "
            "loss(current batch) + loss(memory batch), the memory batch (replay_batch_size) drawn uniformly from "
            "the past tasks' rings, each example through its own task's head (per-task losses weighted by their "
            "share). As in CL-Gym's ERRingBuffer, only past tasks' memories are replayed."
        ),
        "options": _options({
            "memories_per_task": {"type": "integer", "minimum": 1, "default": 250,
                                  "description": "Ring size per task (250 = A-GEM's code on permuted MNIST, 25 per class x 10; the same as agem, so the two compare at equal memory); "
                                  "ignored when memory_size is set."},
            "memory_size": _memory_size("memories_per_task per task"),
            "replay_batch_size": _replay_batch_size(
                "Examples per memory batch (null = the current task's training batch size, as the paper's equal "
                "batch and memory-batch sizes); capped by the memory."),
        }),
        "factory": "climb_replay.er_ring:RingReplay",
    },
    "agem": {
        "summary": "A-GEM: project the gradient, and the update AdamW actually applies, when they conflict with the "
        "gradient on a memory of past tasks, so the memory loss does not rise to first order.",
        "paper": AGEM,
        "description": (
            "When a task ends, memories_per_task of its training examples, drawn at random, are stored as indices. "
            "Before every optimizer step of a later task, the reference gradient g_ref is computed on sample_size "
            "examples drawn uniformly from the past tasks' memories (each through its own head), without losing "
            "the batch gradient g (set aside, then restored). If g . g_ref < 0, g is replaced by "
            "g - (g . g_ref / g_ref . g_ref) g_ref over all trainable parameters as one flat vector (heads "
            "included), which has a zero dot product with g_ref. That is the paper's guarantee for SGD only: the "
            "harness's AdamW (moments, per-coordinate scaling, weight decay) can still apply an update delta with "
            "delta . g_ref > 0. So with project_update (default) the update itself is projected too: after the "
            "optimizer step, delta = theta_after - theta_before is replaced by delta - (delta . g_ref / |g_ref|^2) "
            "g_ref over the parameters the optimizer updated when delta . g_ref > 0, and AdamW's first moment is "
            "corrected so that its own update rule gives exactly the applied update (second moment and step "
            "count unchanged). Chosen over plain SGD so that agem keeps the optimizer, learning rate and schedule "
            "of the methods it is compared with. With memory_size M over T tasks each task keeps M // T (one more "
            "for the first M % T). Costs one extra forward/backward and one copy of the trainable weights per step."
        ),
        "options": _options({
            "memories_per_task": {"type": "integer", "minimum": 1, "default": 250,
                                  "description": "Examples kept per past task (A-GEM's official code on permuted MNIST: 25 per class x 10 classes); "
                                  "ignored when memory_size is set."},
            "memory_size": _memory_size("memories_per_task per task"),
            "sample_size": {"type": "integer", "minimum": 1, "default": 256,
                            "description": "Memory examples per reference gradient (A-GEM's official EPS_MEM_BATCH_SIZE, 256); capped by the memory."},
            "project_update": {"type": "boolean", "default": True,
                               "description": "Also project the parameter update the optimizer applied (and correct AdamW's first "
                               "moment to match), so that the memory loss never rises to first order with AdamW either. "
                               "false = the gradient projection alone, as in the paper and CL-Gym (exact for SGD only)."},
        }),
        "factory": "climb_replay.agem:AGEM",
    },
}


def manifest(name: str) -> dict[str, Any]:
    """The full algorithm manifest of method ``name`` (without the factory)."""
    spec = MANIFESTS[name]
    return {"name": name, "api_version": API_VERSION, "family": "replay",
            **{k: copy.deepcopy(v) for k, v in spec.items() if k != "factory"}}


def default_options(name: str) -> dict[str, Any]:
    return {key: prop["default"] for key, prop in MANIFESTS[name]["options"]["properties"].items()}


@hookimpl
def climb_algorithms() -> list[Component]:
    """experience-replay, er-reservoir, er-ring, agem."""
    return [algorithm(manifest(name), spec["factory"]) for name, spec in MANIFESTS.items()]
