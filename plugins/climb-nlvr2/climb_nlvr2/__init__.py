"""climb-harness task NLVR2 (two images, one sentence, true or false), read from its official release."""

__version__ = "0.1.0"
