"""Phase II: low-shot transfer of upstream checkpoints (``climb transfer``)."""

from climb_harness.transfer.cells import *  # noqa: F403 - the package's surface is its cells module's
from climb_harness.transfer.cells import __all__
