"""climb-replay: replay methods for climb-harness (hook module: :mod:`climb_replay.plugin`)."""

__version__ = "0.2.0"
