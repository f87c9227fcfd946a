"""climb-ewc: elastic weight consolidation for climb-harness (hook module: :mod:`climb_ewc.plugin`)."""

__version__ = "0.4.0"
