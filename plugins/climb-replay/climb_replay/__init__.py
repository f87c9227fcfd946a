"""climb-replay: replay methods for climb-harness.

Hook modules: :mod:`climb_replay.plugin` and :mod:`climb_replay.plugin_buffers`.
"""

__version__ = "0.3.0"
