"""Sequential fine-tuning (CLiMB ``sequential_ft``): the lower bound of continual learning."""

from __future__ import annotations

from climb_harness.api import Algorithm


class SequentialFineTuning(Algorithm):
    """Every hook is the base class's: the runner's plain loop already fine-tunes encoder and head
    on each task in turn. A class of its own so the method has a name, a manifest and a paper."""
