"""Capabilities: an algorithm's ``requires`` against an encoder's ``provides``, and ``test_options``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.api.errors import UsageError
from climb_harness.core.registry import Registry

FACTORY = "{module}:Thing"


def _site(site, pf, requires, provides=None, test_options=None):
    extra = {} if provides is None else {"provides": provides}
    if test_options is not None:
        extra["test_options"] = test_options
    return site.add_plugin(
        "climb-ztest-cap",
        encoders=[(pf.encoder_manifest("ztest-plain-enc"), FACTORY), (pf.encoder_manifest("ztest-cap-enc", **extra), FACTORY)],
        algorithms=[(pf.algorithm_manifest("ztest-needy", requires=requires), FACTORY)],
    )


def test_run_refuses_an_encoder_without_the_required_capability(site, pf):
    _site(site, pf, ["ztest-cap"], provides=["ztest-cap"])
    registry = Registry()
    registry.check_capabilities("ztest-needy", "ztest-cap-enc")  # provided: no error
    with pytest.raises(UsageError) as caught:
        registry.check_capabilities("ztest-needy", "ztest-plain-enc", "algorithms[0]")
    message = str(caught.value)
    assert "requires 'ztest-cap'" in message and "ztest-plain-enc" in message
    assert "Encoders that do: ztest-cap: ztest-cap-enc" in message and "algorithms[0]" in message


def test_a_requirement_no_installed_encoder_meets_is_a_warning(site, pf):
    ep = _site(site, pf, ["ztest-nobody"])
    result = CliRunner().invoke(main, ["validate", ep])
    assert result.exit_code == 0, result.output
    assert "requires 'ztest-nobody', which no installed encoder provides" in result.stdout


def test_test_options_must_be_valid_options(site, pf):
    ep = _site(site, pf, [], provides=[], test_options={"hidden": "wide"})
    result = CliRunner().invoke(main, ["validate", ep])
    assert result.exit_code == 1
    assert "> $.test_options.hidden:" in result.stdout and "not of type 'integer'" in result.stdout
