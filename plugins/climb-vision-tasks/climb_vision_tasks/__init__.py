"""climb-harness tasks: CLiMB's vision-only downstream tasks, plus Fashion-MNIST and scikit-learn's digits."""

__version__ = "0.1.0"
