"""Experiment configs: YAML or JSON files, ``--set key=value`` overrides, validation, defaults.

A misspelled key is an error that names the key, where it is, and the closest valid key: a typo
must never silently fall back to a default and produce a different experiment.

Configs are untrusted text: every way in (a file, a ``--set`` value) is read with bounded size,
nesting and alias expansion (:mod:`climb_harness.safe_yaml`), the result must be plain finite JSON
data with string keys, and every message is one bounded paragraph however large the input.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import math
import re
import reprlib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from climb_harness import safe_yaml
from climb_harness.errors import ConfigError
from climb_harness.schemas import strict_integers, validator

DEFAULT_EXPERIMENT = "default.yaml"
MAX_CONFIG_BYTES = 1_000_000  # an experiment config is a few hundred bytes; this is a typo'd path's bound
MAX_DEPTH = safe_yaml.MAX_DEPTH
MAX_NODES = safe_yaml.MAX_NODES
MAX_INT = 2**64 - 1  # beyond any seed, count or size a run can use; also keeps repr() cheap
MAX_MESSAGE = 1_000
MAX_PROBLEMS = 5
MAX_PROBLEM = 240
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"[0-9]{1,9}")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


# --------------------------------------------------------------------------- bounded messages
class _ShortRepr(reprlib.Repr):
    """``repr`` cut to a few dozen characters, also for integers too long for ``repr`` itself."""

    def repr_int(self, value: int, level: int) -> str:
        if value.bit_length() > 256:
            return f"<an integer of {value.bit_length()} bits>"
        return super().repr_int(value, level)


_REPR = _ShortRepr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 80
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 4


def short(value: Any) -> str:
    """A repr of ``value`` of at most 80 characters: user values are echoed, never dumped."""
    return _clip(_REPR.repr(value), 80)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_path(path: str | Path) -> str:
    text = str(path)
    return _clip(text if text.isprintable() else repr(text), 200)


def _where(parts: Sequence[Any]) -> str:
    """A JSON path (``$.training.lr``, ``$.seeds[0]``) in which odd keys are quoted and shortened."""
    out = "$"
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _SIMPLE_KEY.fullmatch(part) and len(part) <= 64:
            out += f".{part}"
        else:
            out += f"[{short(part)}]"
    return _clip(out, 200)


def _error(message: str) -> ConfigError:
    return ConfigError(_clip(message, MAX_MESSAGE))


# --------------------------------------------------------------------------- reading files
def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML or JSON file (``.json``: JSON, anything else: YAML), read within bounds."""
    path = Path(path)
    text = _read_text(path)
    is_json = path.suffix == ".json"
    try:
        data = _load_json(text) if is_json else safe_yaml.load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as exc:
        raise _error(
            f"Config file {_show_path(path)} is not valid {'JSON' if is_json else 'YAML'}: "
            f"{_parse_problem(exc)}. Fix it there: a config is plain data (no !! tags) nested at most "
            f"{MAX_DEPTH} levels."
        ) from exc
    if not isinstance(data, dict):
        what = "is empty" if data is None else f"holds {short(data)} ({type(data).__name__})"
        raise _error(
            f"Config file {_show_path(path)} {what}: it must hold a mapping (tasks, encoder, algorithms, "
            "...), e.g. the embedded default experiment, climb_harness/experiments/default.yaml."
        )
    return data


def _read_text(path: Path) -> str:
    """The file's text, UTF-8 with or without BOM: at most ``MAX_CONFIG_BYTES`` read (never all /dev/zero)."""
    shown = _show_path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise _error(f"Config file {shown} does not exist. Give the path of a YAML or JSON experiment "
                     "config.") from exc
    except IsADirectoryError as exc:
        raise _error(f"Config file {shown} is a folder. Give the path of a YAML or JSON experiment config "
                     "file.") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _error(f"Config file {shown} cannot be read ({_clip(reason, 100)}). Give the path of a "
                     "readable YAML or JSON experiment config.") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise _error(f"Config file {shown} is larger than {MAX_CONFIG_BYTES:,} bytes, far beyond any "
                     "experiment config: check the path.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(f"Config file {shown} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x}). "
                     "Save it as UTF-8 YAML or JSON.") from exc


def _load_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_json_object)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is an error (json.loads would silently keep the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {short(key)}")
        out[key] = value
    return out


def _parse_problem(exc: BaseException) -> str:
    if isinstance(exc, yaml.YAMLError):
        return _clip(safe_yaml.describe(exc), 300)
    if isinstance(exc, RecursionError):  # json.loads of [[[[...]]]]: the C parser stops cleanly
        return "it nests too deeply"
    return _clip(" ".join(str(exc).split()), 300)


def default_config() -> dict[str, Any]:
    """The embedded default experiment (easy-VQA sequence, small ViLT-BERT, several methods)."""
    folder = resources.files("climb_harness").joinpath("experiments")
    return safe_yaml.load(folder.joinpath(DEFAULT_EXPERIMENT).read_text(encoding="utf-8"))


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


# --------------------------------------------------------------------------- plain data
def check_plain_data(config: Any, source: str) -> None:
    """Refuse what is not plain finite JSON: NaN (which JSON schema's "number" accepts), dates, sets, loops.

    Such values would pass validation and end up in results.json (NaN), or crash a run when it writes
    experiment.json (a date, a set, bytes) or creates a folder (a NUL character).
    """
    problem = _impurity(config, [], set(), [0])
    if problem:
        raise _error(f"Invalid experiment config ({_clip(source, 200)}): {problem}")


def _impurity(value: Any, path: list[Any], ancestors: set[int], count: list[int]) -> str | None:
    """The first reason ``value`` (at ``path``) is not plain JSON data, or None."""
    count[0] += 1
    if count[0] > MAX_NODES:
        return (f"{_where(path)}: the config holds more than {MAX_NODES:,} values (counting each repeat of a "
                "shared one); an experiment config is small: check for a runaway list or alias.")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) <= MAX_INT:
            return None
        return f"{_where(path)} is {short(value)}, beyond any integer a run can use (at most 2**64 - 1)."
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return f"{_where(path)} is {value!r}: every number must be finite (no NaN or infinity)."
    if isinstance(value, str):
        return _string_impurity(value, path)
    if isinstance(value, (dict, list)):
        return _container_impurity(value, path, ancestors, count)
    return (f"{_where(path)} is {short(value)}, a {type(value).__name__}: a config holds only strings, "
            "numbers, booleans, null, lists and mappings. Quote a date or other text (e.g. \"2020-01-01\"); "
            "write a set or an ordered map as a list or a mapping.")


def _string_impurity(value: str, path: list[Any]) -> str | None:
    if "\x00" in value:
        return f"{_where(path)} ({short(value)}) contains a NUL character, which no name or path may hold."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{_where(path)} ({short(value)}) is not valid Unicode text (a lone surrogate, e.g. \\ud800)."
    return None


def _container_impurity(value: dict[Any, Any] | list[Any], path: list[Any], ancestors: set[int],
                        count: list[int]) -> str | None:
    if id(value) in ancestors:
        return f"{_where(path)} contains itself (a recursive structure). Write the value out instead."
    if len(path) >= MAX_DEPTH:
        return f"{_where(path)} nests deeper than {MAX_DEPTH} levels, far beyond any experiment config."
    ancestors.add(id(value))
    try:
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            if isinstance(value, dict) and not isinstance(key, str):
                return (f"{_where(path)} has the key {short(key)} ({type(key).__name__}): every key must "
                        f"be a string. Quote it (e.g. \"{_clip(str(key), 40)}\": ...) or remove it.")
            problem = _impurity(item, [*path, key], ancestors, count)
            if problem:
                return problem
    finally:
        ancestors.discard(id(value))
    return None


# --------------------------------------------------------------------------- validation
@functools.cache
def _strict_validator() -> jsonschema.protocols.Validator:
    """The experiment schema's validator, except that 1.0 is not an "integer" (seed-1.0/, range(2.0))."""
    base = validator("experiment")
    return strict_integers(type(base))(base.schema, format_checker=base.format_checker)


def _path_order(error: jsonschema.ValidationError) -> list[tuple[int, str]]:
    return [(0, f"{p:012d}") if isinstance(p, int) else (1, str(p)) for p in error.absolute_path]


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the echoed instance shortened (it repeats the whole value)."""
    text = error.message
    if len(text) > 120:
        text = text.replace(repr(error.instance), short(error.instance))
    return _clip(f"{_where(error.absolute_path)}: {text} (rule: {error.validator})", MAX_PROBLEM)


def _unknown_key_message(error: jsonschema.ValidationError) -> str:
    allowed = sorted(error.schema.get("properties", {}))
    extra = sorted(str(k) for k in set(error.instance) - set(allowed))
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
    from climb_harness.runner import TrainingOptions

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
