"""climb-harness task: VCR Q->A, read from the official VCR 1.0 release layout."""

__version__ = "0.1.0"
