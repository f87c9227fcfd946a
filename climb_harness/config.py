"""Experiment configs: YAML or JSON files, ``--set key=value`` overrides, validation, defaults.

A misspelled key is an error that names the key, where it is, and the closest valid key: a typo
must never silently fall back to a default and produce a different experiment.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from climb_harness.errors import ConfigError
from climb_harness.schemas import json_path, validator

DEFAULT_EXPERIMENT = "default.yaml"


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"Config file {path} does not exist. Give the path of a YAML or JSON experiment config.") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"Config file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping (tasks, encoder, algorithms, ...), not {type(data).__name__}.")
    return data


def default_config() -> dict[str, Any]:
    """The embedded default experiment (easy-VQA sequence, small ViLT-BERT, several methods)."""
    text = resources.files("climb_harness").joinpath("experiments", DEFAULT_EXPERIMENT).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def apply_override(config: dict[str, Any], assignment: str) -> None:
    """``training.epochs=2``, ``seeds=[0,1]``, ``algorithms.1.options.lambda=10``: the value is read as YAML.

    A component given as a bare name (``encoder: vilt``) becomes ``{name: vilt}`` when a key below it is set.
    """
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r} must look like KEY=VALUE, e.g. --set training.epochs=2.")
    value = yaml.safe_load(raw) if raw else ""
    parts = key.split(".")
    node: Any = config
    for part in parts[:-1]:
        node = _child(node, part, key)
    if isinstance(node, list):
        node[_index(node, parts[-1], key)] = value
    else:
        node[parts[-1]] = value


def _child(node: Any, part: str, key: str) -> Any:
    if isinstance(node, list):
        index = _index(node, part, key)
    elif isinstance(node, dict):
        index = part
        node.setdefault(part, {})
    else:
        raise ConfigError(f"--set {key}: the value above {part!r} is not a mapping or a list.")
    if node[index] is None:
        node[index] = {}
    elif isinstance(node[index], str):
        node[index] = {"name": node[index]}
    return node[index]


def _index(items: list[Any], part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(f"--set {key}: {part!r} is not an index of a list of {len(items)} item(s).")
    return int(part)


def _unknown_key_message(error: Any) -> str:
    allowed = sorted(error.schema.get("properties", {}))
    extra = sorted(set(error.instance) - set(allowed))
    where = json_path(error.absolute_path)
    parts = []
    for key in extra:
        close = difflib.get_close_matches(key, allowed, n=1)
        parts.append(f"unknown key {key!r} at {where}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return "; ".join(parts) + f". Valid keys there: {', '.join(allowed)}."


def validate_config(config: Mapping[str, Any], source: str) -> None:
    problems = []
    for error in sorted(validator("experiment").iter_errors(dict(config)), key=lambda e: list(e.absolute_path)):
        if error.validator == "additionalProperties":
            problems.append(_unknown_key_message(error))
        elif error.validator == "oneOf" and isinstance(error.instance, dict) and error.context:
            extra = [e for e in error.context if e.validator == "additionalProperties"]
            problems.append(_unknown_key_message(extra[0]) if extra else f"{json_path(error.absolute_path)}: {error.message}")
        else:
            problems.append(f"{json_path(error.absolute_path)}: {error.message} (rule: {error.validator})")
    if problems:
        raise ConfigError(f"Invalid experiment config ({source}): " + " ".join(problems) + " See schemas/experiment.schema.json.")


def normalise_component(item: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, str):
        return {"name": item, "options": {}}
    return {"name": item["name"], "options": dict(item.get("options") or {}), **({"label": item["label"]} if "label" in item else {})}


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (), output: str | None = None) -> dict[str, Any]:
    """Read, override, validate and normalise an experiment config (defaults filled in)."""
    from climb_harness.runner import TrainingOptions

    config = read_config_file(path) if path else default_config()
    source = str(path) if path else "the embedded default experiment"
    config = copy.deepcopy(config)
    for assignment in overrides:
        apply_override(config, assignment)
    validate_config(config, source + (" with --set overrides" if overrides else ""))
    resolved: dict[str, Any] = {
        "name": config.get("name", Path(path).stem if path else "default"),
        "tasks": [normalise_component(t) for t in config["tasks"]],
        "encoder": normalise_component(config["encoder"]),
        "algorithms": [normalise_component(a) for a in config["algorithms"]],
        "seeds": list(config.get("seeds", [0])),
        "plugins": list(config.get("plugins", [])),
        "protocol": resolve_protocol(config, source),
        "training": {**_as_json(dataclasses.asdict(TrainingOptions())), **config.get("training", {})},
        "references": {"direct": True, "cache_dir": None, **config.get("references", {})},
    }
    resolved["output"] = output or config.get("output") or str(Path("runs") / resolved["name"])
    labels = [run_label(a) for a in resolved["algorithms"]]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(
            f"Algorithm {duplicates[0]!r} is listed more than once ({source}); give each entry a distinct 'label' "
            f"(e.g. {{name: {duplicates[0]}, label: {duplicates[0]}-2, options: ...}})."
        )
    return resolved


PROTOCOL_DEFAULTS: dict[str, Any] = {"selection_split": "val", "report_split": "test", "confidence_level": 0.95, "bootstrap_resamples": 1000}


def resolve_protocol(config: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The selection and report splits; refuses choosing epochs on the split that is reported or on test."""
    protocol = {**PROTOCOL_DEFAULTS, **config.get("protocol", {})}
    if "eval_split" in config:
        raise ConfigError(
            f"eval_split ({source}) is no longer a setting: it chose epochs and reported scores on one split, which biases "
            "every reported score upwards (and eval_split: test chose epochs on test). Remove it; epochs are now chosen on "
            "protocol.selection_split (default val) and every score is reported on protocol.report_split (default test)."
        )
    if protocol["selection_split"] == "test":
        raise ConfigError(
            f"protocol.selection_split: test ({source}) would choose epochs on the test split. Choose on val (the default) "
            "and report on test."
        )
    if protocol["selection_split"] == protocol["report_split"]:
        raise ConfigError(
            f"protocol.selection_split and protocol.report_split are both {protocol['selection_split']!r} ({source}): the "
            "reported scores would be maxima over epochs of the very examples they are read on. Use two different "
            "splits (default: select on val, report on test)."
        )
    return protocol


def run_label(algorithm: Mapping[str, Any]) -> str:
    return str(algorithm.get("label") or algorithm["name"])


def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values))
