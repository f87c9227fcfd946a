"""Reading experiment configs: YAML or JSON text, bounded in size, nesting and alias expansion
(:mod:`climb_harness.core.safe_yaml`), and checked to be plain finite JSON data with string keys; every message
is one bounded paragraph however large the input."""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from climb_harness.api.errors import ConfigError
from climb_harness.core import safe_yaml

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
            "...), e.g. the embedded default experiment, climb_harness/core/experiments/default.yaml."
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
    folder = resources.files("climb_harness.core").joinpath("experiments")
    return safe_yaml.load(folder.joinpath(DEFAULT_EXPERIMENT).read_text(encoding="utf-8"))

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
