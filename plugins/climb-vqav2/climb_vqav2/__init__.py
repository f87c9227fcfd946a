"""climb-harness task: VQAv2 in its official release layout (CLiMB's upstream ``vqa`` task)."""

__version__ = "0.1.0"
