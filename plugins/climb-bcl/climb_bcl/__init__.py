"""climb-bcl: Bilevel Continual Learning (BCL-Dual) as a climb-harness algorithm plugin."""

__version__ = "0.2.0"
