"""``climb tune``: Optuna search of an algorithm's options on the selection split."""

from climb_harness.tune.study import *  # noqa: F403 - the package's surface is its study module's
from climb_harness.tune.study import __all__
