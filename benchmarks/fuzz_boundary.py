"""Count what escapes the plugin boundary over N fuzzed manifests and option schemas.

    python benchmarks/fuzz_boundary.py [--examples 10000]

Uses the strategies and properties of ``tests/test_fuzz_manifests.py``. An input "crashes" when
registering the component raises, or when a component that validated is then refused (or its
defaults fail) with anything but the harness's own errors. Run it against an older checkout (with
that checkout first on PYTHONPATH) to compare.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from climb_harness.api.errors import ClimbError


def _fuzz_module() -> Any:
    path = Path(__file__).resolve().parent.parent / "tests" / "test_fuzz_manifests.py"
    spec = importlib.util.spec_from_file_location("climb_fuzz_manifests", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def count(strategy: Any, check: Any, examples: int) -> tuple[int, collections.Counter[str]]:
    seen, crashes = [0], collections.Counter()

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(strategy)
    def run(case: Any) -> None:
        seen[0] += 1
        try:
            check(case)
        except ClimbError:
            pass
        except BaseException as exc:  # noqa: BLE001 - counting is the point
            crashes[type(exc).__name__] += 1

    run()
    return seen[0], crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    fuzz = _fuzz_module()
    targets = {
        "manifests": (fuzz.st.tuples(fuzz.manifests(), fuzz.factories), lambda c: fuzz.check_manifest(*c[0], c[1])),
        "option schemas": (fuzz.option_schemas, fuzz.check_options_schema),
    }
    for name, (strategy, check) in targets.items():
        n, crashes = count(strategy, check, args.examples)
        print(f"{name}: {sum(crashes.values())} of {n} inputs crashed {dict(crashes.most_common(5))}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
