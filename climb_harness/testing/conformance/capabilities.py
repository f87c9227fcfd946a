"""Which encoder an algorithm's checks run on: capabilities an algorithm requires, encoders provide.

The core names no model. An algorithm's manifest lists what it needs from an encoder
(``"requires": ["hf-transformer"]``); an encoder's manifest lists what it offers
(``"provides": ["hf-transformer"]``) and the small options the kit builds it with for other
components' checks (``"test_options": {...}``). An algorithm that requires nothing runs on the
kit's :class:`~climb_harness.testing.components.TinyEncoder`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class EncoderChoice:
    """The encoder an algorithm's run checks use.

    Attributes:
        factory: Builds a fresh encoder (each run needs its own), or None when none fits.
        note: How results describe it (``"TinyEncoder"``, ``"encoder 'my-encoder' (it provides ...)"``),
            or, when ``factory`` is None, why the run is skipped.
    """

    factory: Callable[[], Any] | None
    note: str


def requirements(manifest: Mapping[str, Any]) -> list[str]:
    """The capabilities a manifest ``requires`` (empty when it declares none).

    Args:
        manifest: An algorithm's manifest.

    Returns:
        The capability names, in the manifest's order.

    >>> requirements({"requires": ["hf-transformer"]}), requirements({})
    (['hf-transformer'], [])
    """
    return [str(c) for c in manifest.get("requires", [])]


def providers(registry: Any, required: Sequence[str]) -> list[Any]:
    """The valid installed encoders that provide every one of ``required``, by name.

    Args:
        registry: The registry to look in.
        required: Capability names.

    Returns:
        Their registry entries, sorted by name (so the choice is the same on every machine).
    """
    wanted = set(required)
    return [
        entry
        for entry in registry.all_entries("encoder")
        if not entry.problems and wanted <= set(entry.manifest.get("provides", []))
    ]


def choose_encoder(registry: Any, manifest: Mapping[str, Any]) -> EncoderChoice:
    """The encoder an algorithm with this manifest runs on in its checks.

    Args:
        registry: Where to look for encoders providing the algorithm's ``requires``.
        manifest: The algorithm's manifest.

    Returns:
        TinyEncoder when nothing is required; else the first providing encoder built with its
        ``test_options``; else a choice without factory whose note names the missing capability.
    """
    required = requirements(manifest)
    if not required:
        from climb_harness.testing.components import TinyEncoder

        return EncoderChoice(lambda: TinyEncoder({}), "TinyEncoder")
    names = ", ".join(repr(c) for c in required)
    found = providers(registry, required)
    if not found:
        return EncoderChoice(
            None,
            f"the algorithm requires an encoder providing {names} and no installed encoder provides it; "
            f"install one whose manifest lists {names} in \"provides\"",
        )
    entry = found[0]
    options = dict(entry.manifest.get("test_options", {}))

    def build() -> Any:
        return registry.build("encoder", entry.name, options, where=f"encoder {entry.name!r}'s test_options")

    how = "its test_options" if options else "its default options (it declares no test_options)"
    return EncoderChoice(build, f"encoder {entry.name!r} (it provides {names}; built with {how})")
