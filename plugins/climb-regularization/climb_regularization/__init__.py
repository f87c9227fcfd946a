"""climb-regularization: LwF, SI and MAS for climb-harness.

Hook module: :mod:`climb_regularization.plugin`.
"""

__version__ = "0.1.0"
