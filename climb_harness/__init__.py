"""climb-harness: CLiMB, the Continual Learning in Multimodality Benchmark, as a small core plus plugins.

Plugin authors import :mod:`climb_harness.api`; users run the ``climb`` command. The package is arranged in
rings: ``api`` (the contract), ``core`` (the kernel), the optional features (``report``, ``transfer``, ``tune``,
``scale``, ``loggers``, ``scaffold``, ``testing``) and ``cli`` (see README, *Layout*).
"""

from climb_harness import _moved
from climb_harness._version import __version__

_moved.install()  # climb-harness 0.5's module paths, for one minor version

__all__ = ["__version__"]
