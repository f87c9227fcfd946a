"""Experiment configs: YAML or JSON files, ``--set key=value`` overrides, validation, defaults.

A misspelled key is an error that names the key, where it is, and the closest valid key: a typo
must never silently fall back to a default and produce a different experiment.

Configs are untrusted text: every way in (a file, a ``--set`` value) is read with bounded size,
nesting and alias expansion (:mod:`climb_harness.core.safe_yaml`), the result must be plain finite JSON
data with string keys, and every message is one bounded paragraph however large the input.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from climb_harness.core.config_read import (
    _NAME_CHARS,
    MAX_MESSAGE,
    MAX_PROBLEM,
    MAX_PROBLEMS,
    _clip,
    _error,
    _show_path,
    _string_impurity,
    _where,
    check_plain_data,
    default_config,
    read_config_file,
    short,
)
from climb_harness.core.overrides import apply_override, override_value
from climb_harness.core.schemas import strict_integers, validator

__all__ = ["MAX_MESSAGE", "apply_override", "check_plain_data", "default_config", "load_config", "normalise_component",
           "override_value", "read_config_file", "resolve_protocol", "run_label", "validate_config"]


# --------------------------------------------------------------------------- validation
@functools.cache
def _strict_validator() -> jsonschema.protocols.Validator:
    """The experiment schema's validator, except that 1.0 is not an "integer" (seed-1.0/, range(2.0))."""
    base = validator("experiment")
    return strict_integers(type(base))(base.schema, format_checker=base.format_checker)  # type: ignore[arg-type, attr-defined, no-any-return]

def _path_order(error: jsonschema.ValidationError) -> list[tuple[int, str]]:
    return [(0, f"{p:012d}") if isinstance(p, int) else (1, str(p)) for p in error.absolute_path]

def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the echoed instance shortened (it repeats the whole value)."""
    text = error.message
    if len(text) > 120:
        text = text.replace(repr(error.instance), short(error.instance))
    return _clip(f"{_where(error.absolute_path)}: {text} (rule: {error.validator})", MAX_PROBLEM)

def _unknown_key_message(error: jsonschema.ValidationError) -> str:
    allowed = sorted(error.schema.get("properties", {}))  # type: ignore[union-attr]  # the library's stubs are narrower than its behaviour
    extra = sorted(str(k) for k in set(error.instance) - set(allowed))  # type: ignore[arg-type]  # the library's stubs are narrower than its behaviour
    where = _where(error.absolute_path)
    parts = []
    for key in extra[:MAX_PROBLEMS]:
        close = difflib.get_close_matches(key, allowed, n=1) if len(key) <= 64 else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"unknown key {short(key)} at {where}{hint}")
    more = f" and {len(extra) - MAX_PROBLEMS} more" if len(extra) > MAX_PROBLEMS else ""
    return "; ".join(parts) + more + f". Valid keys there: {', '.join(allowed)}."

def _component_problems(error: jsonschema.ValidationError) -> list[str]:
    """A component is a name or {name, options, label}: report the branch of the instance's own type."""
    branch = 1 if isinstance(error.instance, dict) else 0 if isinstance(error.instance, str) else None
    chosen = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == branch]
    if branch is None or not chosen:
        return [f"{_where(error.absolute_path)}: {short(error.instance)} is not a component: give a registry "
                "name (e.g. ewc) or a mapping {name: ewc, options: {...}, label: ewc-2} (rule: oneOf)"]
    return [_unknown_key_message(e) if e.validator == "additionalProperties" else _message(e) for e in chosen]

def _problems(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for error in sorted(_strict_validator().iter_errors(dict(config)), key=_path_order):
        if error.validator == "additionalProperties":
            problems.append(_unknown_key_message(error))
        elif error.validator == "oneOf" and error.context:
            problems += _component_problems(error)
        else:
            problems.append(_message(error))
    return problems

def validate_config(config: Mapping[str, Any], source: str) -> None:
    """Check ``config`` against schemas/experiment.schema.json, after checking that it is plain data."""
    if not isinstance(config, Mapping):
        raise _error(f"Invalid experiment config ({_clip(source, 200)}): it is {short(config)} "
                     f"({type(config).__name__}), not a mapping of tasks, encoder, algorithms, ...")
    check_plain_data(config if isinstance(config, dict) else dict(config), source)
    problems = _problems(config)
    if problems:
        shown = " ".join(_clip(p, MAX_PROBLEM) for p in problems[:MAX_PROBLEMS])
        more = f" (and {len(problems) - MAX_PROBLEMS} more problems)" if len(problems) > MAX_PROBLEMS else ""
        raise _error(f"Invalid experiment config ({_clip(source, 200)}): {shown}{more} See "
                     "schemas/experiment.schema.json.")

# --------------------------------------------------------------------------- resolving
def normalise_component(item: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, str):
        return {"name": item, "options": {}}
    label = {"label": item["label"]} if "label" in item else {}
    return {"name": item["name"], "options": dict(item.get("options") or {}), **label}

def default_name(path: str | Path | None) -> str:
    """The experiment name when the config gives none: the file's stem made a safe folder name."""
    if not path:
        return "default"
    name = _NAME_CHARS.sub("-", Path(path).stem).lstrip(".-")[:64]
    return name or "experiment"

def load_config(
    path: str | Path | None = None, overrides: Sequence[str] = (), output: str | None = None
) -> dict[str, Any]:
    """Read, override, validate and normalise an experiment config (defaults filled in)."""
    from climb_harness.core.engine import TrainingOptions

    config = read_config_file(path) if path else default_config()
    source = _show_path(path) if path else "the embedded default experiment"
    check_plain_data(config, source)  # before deepcopy, which cannot copy a structure 1,000 levels deep
    config = copy.deepcopy(config)
    for assignment in overrides:
        apply_override(config, assignment)
    validate_config(config, source + (" with --set overrides" if overrides else ""))
    resolved: dict[str, Any] = {
        "name": config.get("name", default_name(path)),
        "tasks": [normalise_component(t) for t in config["tasks"]],
        "encoder": normalise_component(config["encoder"]),
        "algorithms": [normalise_component(a) for a in config["algorithms"]],
        "seeds": list(config.get("seeds", [0])),
        "plugins": list(config.get("plugins", [])),
        "loggers": [normalise_component(item) for item in config.get("loggers", [])],
        "protocol": resolve_protocol(config, source),
        "training": {**_as_json(dataclasses.asdict(TrainingOptions())), **config.get("training", {})},
        "references": {"direct": True, "cache_dir": None, **config.get("references", {})},
    }
    problem = _string_impurity(output, ["--output"]) if isinstance(output, str) else None
    if problem:
        raise _error(f"{problem.removeprefix('$.')} Give another output folder.")
    resolved["output"] = output or config.get("output") or str(Path("runs") / resolved["name"])
    labels = [run_label(a) for a in resolved["algorithms"]]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise _error(
            f"Algorithm {duplicates[0]!r} is listed more than once ({source}); give each entry a distinct "
            f"'label' (e.g. {{name: {duplicates[0]}, label: {duplicates[0]}-2, options: ...}})."
        )
    names = [task["name"] for task in resolved["tasks"]]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise _error(
            f"Task {repeated[0]!r} appears more than once in tasks ({source}): each task of a sequence has its own "
            "head, row and column of the accuracy matrix, so a task is learned once. List each task once."
        )
    return resolved

PROTOCOL_DEFAULTS: dict[str, Any] = {
    "selection_split": "val", "report_split": "test", "confidence_level": 0.95, "bootstrap_resamples": 1000,
}


def resolve_protocol(config: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The selection and report splits; refuses choosing epochs on the split that is reported or on test."""
    protocol = {**PROTOCOL_DEFAULTS, **config.get("protocol", {})}
    if "eval_split" in config:
        raise _error(
            f"eval_split ({source}) is no longer a setting: it chose epochs and reported scores on one "
            "split, which biases every reported score upwards (and eval_split: test chose epochs on test). "
            "Remove it; epochs are now chosen on protocol.selection_split (default val) and every score is "
            "reported on protocol.report_split (default test)."
        )
    if protocol["selection_split"] == "test":
        raise _error(
            f"protocol.selection_split: test ({source}) would choose epochs on the test split. Choose on val "
            "(the default) and report on test."
        )
    if protocol["selection_split"] == protocol["report_split"]:
        raise _error(
            f"protocol.selection_split and protocol.report_split are both "
            f"{short(protocol['selection_split'])} ({source}): the reported scores would be maxima over "
            "epochs of the very examples they are read on. Use two different splits (default: select on val, "
            "report on test)."
        )
    return protocol

def run_label(algorithm: Mapping[str, Any]) -> str:
    return str(algorithm.get("label") or algorithm["name"])

def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values))
