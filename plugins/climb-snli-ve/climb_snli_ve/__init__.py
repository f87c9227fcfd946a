"""climb-harness task: SNLI-VE visual entailment, read from its official release layout."""

__version__ = "0.1.0"
