"""The harness's conformance kit on every component of climb-prompts: one test item per check.

The kit runs each method on the first installed encoder providing what it requires;
test_every_encoder.py runs the same algorithm checks on every other one.
"""

from climb_harness.testing import conformance_test

test_conformance = conformance_test("climb-prompts")
