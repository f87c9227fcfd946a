"""The episodic memories of climb-replay's methods: the harness's memory toolkit.

Every memory holds ``(task, index)`` entries, never copies of batches; a replayed example is fetched
again with ``ctx.batch(task, indices)``. The policies live in the harness (``climb_harness.api``:
``TaskMemory``, per-task lists and FIFO rings; ``ReservoirMemory``, Vitter's Algorithm R;
``ClassBalancedMemory``, GDumb's greedy sampler), seeded, checkpointed and validated there. The
classes below are those, under this plugin's names (what its methods and earlier versions use), so
that the tests' walk over a method's attributes reaches into its memory.
"""

from __future__ import annotations

from climb_harness import api
from climb_harness.api import Entry
from climb_harness.api import sample_without_replacement as sample

__all__ = ["ClassBalancedMemory", "Entry", "ReservoirMemory", "TaskMemory", "sample"]


class TaskMemory(api.TaskMemory):
    """:class:`climb_harness.api.TaskMemory`: indices per task, ``push`` a FIFO ring."""


class ReservoirMemory(api.ReservoirMemory):
    """:class:`climb_harness.api.ReservoirMemory`: Algorithm R over the stream of examples offered."""


class ClassBalancedMemory(api.ClassBalancedMemory):
    """:class:`climb_harness.api.ClassBalancedMemory`: GDumb's greedy class-balanced sampler."""
