"""Reports: tables, leaderboards, figures and the report folder of ``climb report``.

The tables' functions are the package's own names too (climb-harness 0.5's ``climb_harness.report``).
"""

from climb_harness.report.tables import *  # noqa: F403
from climb_harness.report.tables import __all__
