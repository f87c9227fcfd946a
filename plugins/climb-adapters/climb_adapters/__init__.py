"""climb-adapters: CLiMB's adapter baseline (one adapter per task, frozen encoder) on the adapters library."""

__version__ = "0.1.0"
