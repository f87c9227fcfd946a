"""climb-clgym: CL-Gym's optional methods (Stable SGD, OGD, MC-SGD) as climb-harness algorithms."""

__version__ = "0.2.0"
