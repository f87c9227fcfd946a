"""climb-harness: CLiMB, the Continual Learning in Multimodality Benchmark, as a small core plus plugins.

Plugin authors import :mod:`climb_harness.api`; users run the ``climb`` command.
"""

from climb_harness._version import __version__

__all__ = ["__version__"]
