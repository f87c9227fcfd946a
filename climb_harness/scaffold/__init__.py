"""``climb new``: a ready-to-install plugin distribution from the templates."""

from climb_harness.scaffold.files import *  # noqa: F403 - the package's surface is its files module's
from climb_harness.scaffold.files import __all__
