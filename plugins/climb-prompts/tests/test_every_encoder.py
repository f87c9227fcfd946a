"""The kit's algorithm checks for each method on every installed encoder that provides what it requires.

The conformance items (test_prompts_conformance.py) run each method on the first such encoder only;
here each (method, encoder) pair gets the same checks: a two-task run completes, results and state
are valid, and a run killed after its first task resumes to the same final state.
"""

from __future__ import annotations

import pytest

from climb_harness.testing import check_algorithm
from climb_harness.testing.conformance.capabilities import providers, requirements

METHODS = ("l2p", "dualprompt", "coda-prompt")


@pytest.mark.parametrize("method", METHODS)
def test_every_providing_encoder_passes_the_algorithm_checks(method, climb_registry, tmp_path):
    registry = climb_registry
    required = requirements(registry.get("algorithm", method).manifest)
    encoders = providers(registry, required)
    # climb-vilt's and climb-vl-minilm's encoders at least
    assert {"vilt", "vilt-bert", "vl-minilm"} <= {entry.name for entry in encoders}
    for entry in encoders:
        options = dict(entry.manifest.get("test_options", {}))

        def build(entry=entry, options=options):
            return registry.build("encoder", entry.name, options)

        results = check_algorithm(registry, method, tmp_path / entry.name, encoder_factory=build)
        failed = [str(result) for result in results if result.status != "passed"]
        assert not failed, f"{method} on encoder {entry.name!r}: " + "; ".join(failed)
