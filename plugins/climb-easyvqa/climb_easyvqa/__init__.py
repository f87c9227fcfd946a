"""climb-harness tasks built from the easy-VQA data set (the embedded default benchmark)."""

__version__ = "0.1.0"
