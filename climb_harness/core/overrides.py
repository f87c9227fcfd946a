"""``--set key=value`` overrides of an experiment config: dotted keys reach into mappings and lists, values
are read as YAML, and a wrong path names where it went wrong."""

from __future__ import annotations

from typing import Any

import yaml

from climb_harness.api.errors import ConfigError
from climb_harness.core import safe_yaml
from climb_harness.core.config_read import _INDEX, MAX_DEPTH, _clip, _error, _parse_problem, short

__all__ = ["apply_override", "override_value"]


# --------------------------------------------------------------------------- --set
def apply_override(config: dict[str, Any], assignment: str) -> None:
    """``training.epochs=2``, ``seeds=[0,1]``, ``algorithms.1.options.lambda=10``: the value is read as YAML.

    A component given as a bare name (``encoder: vilt``) becomes ``{name: vilt}`` when a key below it is set.
    """
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise _error(f"--set {short(assignment)} must look like KEY=VALUE, e.g. --set training.epochs=2.")
    parts = key.split(".")
    if len(parts) > MAX_DEPTH:
        raise _error(f"--set {short(key)}: the key has {len(parts)} parts, but a config nests at most "
                     f"{MAX_DEPTH} levels. Give a key such as training.epochs or algorithms.0.options.NAME.")
    value = override_value(key, raw)
    node: Any = config
    for depth in range(len(parts) - 1):
        node = _child(node, parts, depth)
    _assign(node, parts, value)

def override_value(key: str, raw: str) -> Any:
    if not raw:
        return ""
    try:
        return safe_yaml.load(raw)
    except yaml.YAMLError as exc:
        raise _error(
            f"--set {short(key)}: the value {short(raw)} is not valid YAML: {_parse_problem(exc)}. Give "
            "plain YAML data (a number, a quoted string, [a, b] or {k: v}; no !! tags, at most "
            f"{safe_yaml.MAX_ALIASES} aliases)."
        ) from exc

def _child(node: Any, parts: list[str], depth: int) -> Any:
    """The container at ``parts[: depth + 1]``, creating a mapping where there is none yet."""
    if isinstance(node, list):
        index: int | str = _index(node, parts, depth)
    elif isinstance(node, dict):
        index = parts[depth]
        node.setdefault(index, {})
    else:
        raise _not_container(node, parts, depth)
    if node[index] is None:
        node[index] = {}
    elif isinstance(node[index], str):
        node[index] = {"name": node[index]}
    return node[index]

def _assign(node: Any, parts: list[str], value: Any) -> None:
    if isinstance(node, list):
        node[_index(node, parts, len(parts) - 1)] = value
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise _not_container(node, parts, len(parts) - 1)

def _not_container(node: Any, parts: list[str], depth: int) -> ConfigError:
    above = ".".join(parts[:depth])
    return _error(
        f"--set {short('.'.join(parts))}: {short(above)} is {short(node)} ({type(node).__name__}), not a "
        f"mapping or a list, so it has no {short(parts[depth])} below it. Set {short(above)} itself (e.g. "
        f"--set {_clip(above, 80)}=VALUE) or fix the key."
    )

def _index(items: list[Any], parts: list[str], depth: int) -> int:
    part = parts[depth]
    if not _INDEX.fullmatch(part) or int(part) >= len(items):
        above = _clip(".".join(parts[:depth]), 80)
        raise _error(
            f"--set {short('.'.join(parts))}: {short(part)} is not an index of {above}, a list of "
            f"{len(items)} item(s): use 0 to {len(items) - 1}, or set {above} to a whole list (e.g. --set "
            f"'{above}=[...]')."
        )
    return int(part)
