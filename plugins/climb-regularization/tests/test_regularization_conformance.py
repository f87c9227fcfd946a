"""The harness's conformance kit on every component of climb-regularization: one test item per check.

``climb check climb-regularization`` runs the same checks.
"""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-regularization")
