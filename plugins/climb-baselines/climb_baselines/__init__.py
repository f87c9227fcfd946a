"""climb-baselines: CLiMB's baselines (sequential, direct, frozen fine-tuning) and CL-Gym's multitask upper bound."""

__version__ = "0.2.0"
