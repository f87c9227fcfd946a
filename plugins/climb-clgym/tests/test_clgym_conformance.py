"""The harness's conformance kit on every component of climb-clgym: one test item per check.

Item ids name the component and the check (``plugin:<name>::light-import``, ``<kind>:<name>::builds``,
...); ``climb check climb-clgym`` runs the same checks.
"""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-clgym")
