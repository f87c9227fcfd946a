"""The bounded JSON reader: limits on size, depth and numbers, checked before parsing, in linear time,
with the place of every problem named; and the same values as :mod:`json` for everything within them."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import pytest

from climb_harness.api import bounded_json as B
from climb_harness.api.bounded_json import JsonError, JsonLimits, iter_lines, load, loads, nesting_depth_ok


def _error(text: str | bytes, **limits) -> JsonError:
    with pytest.raises(JsonError) as info:
        loads(text, source="x.json", limits=JsonLimits(**limits))
    assert isinstance(info.value, ValueError) and "x.json" in str(info.value)
    return info.value


# ----------------------------------------------------------------------------- depth
def _depth(value) -> int:
    """Brute force: the nesting depth of a parsed value."""
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _random_value(rng: random.Random, depth: int):
    kind = rng.random()
    if depth == 0 or kind < 0.3:
        return rng.choice([1, -2.5, "a[b]{c}", 'q"]]"\\', None, True, "\\\\"])
    if kind < 0.65:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}]": _random_value(rng, depth - 1) for i in range(rng.randint(0, 3))}


def test_depth_check_agrees_with_brute_force_on_random_documents():
    rng = random.Random(7)
    for _ in range(400):
        value = _random_value(rng, rng.randint(0, 9))
        text = json.dumps(value).encode()
        true_depth = _depth(value)
        for limit in (1, 2, 3, 5, 8):
            assert nesting_depth_ok(text, limit) == (true_depth <= limit), (text, limit)
            if true_depth <= limit:
                assert loads(text, limits=JsonLimits(max_depth=limit)) == value
            else:
                assert "deep" in _error(text, max_depth=limit).problem


def test_hundred_thousand_deep_arrays_are_one_error_naming_the_place_not_a_recursion_error():
    text = "[" * 100_000 + "]" * 100_000
    error = _error(text)
    assert (error.line, error.column) == (1, 65) and "more than 64 deep" in error.problem
    assert len(str(error)) < 300
    deep_objects = '{"a":' * 100_000 + "1" + "}" * 100_000
    assert "deep" in _error(deep_objects).problem


def test_brackets_inside_strings_do_not_count_and_escapes_are_followed():
    ok = json.dumps({"a": "[[[[[[[[", "b": '\\"]]]]]]', "c": ["\\", ["x"]]})
    assert loads(ok, limits=JsonLimits(max_depth=3)) == json.loads(ok)
    # a string ending in an escaped backslash ends there: the brackets after it count
    assert "deep" in _error('["\\\\", [[[1]]]]', max_depth=3).problem


def test_json_lines_count_depth_per_line_even_after_a_broken_line(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    deep = "[" * 5000 + "]" * 5000
    path.write_text('{"a": "unterminated\n' + deep + "\n")  # line 1 has an odd number of quotes
    with pytest.raises(JsonError) as info:
        list(iter_lines(path))
    assert info.value.line in (1, 2)  # never a RecursionError
    path.write_text('[1]\n{"a": "x"}\n' + deep + "\n")
    with pytest.raises(JsonError) as info:
        list(iter_lines(path))
    assert (info.value.line, info.value.column) == (3, 65)


# ----------------------------------------------------------------------------- numbers, constants, keys
def test_numbers_nan_infinity_and_duplicate_keys():
    assert "digits" in _error("[" + "7" * 101 + "]").problem
    assert loads("[" + "7" * 100 + "]") == [int("7" * 100)]
    assert "infinity" in _error('{"a": [1e400]}').problem
    assert loads("[1e308, 1e-400]") == [1e308, 0.0]
    assert loads('["1e999", "' + "9" * 500 + '"]') == ["1e999", "9" * 500]  # inside strings: text
    for constant in ("NaN", "Infinity", "-Infinity"):
        error = _error(f'{{"score": {constant}}}')
        assert constant.lstrip("-") in error.problem and error.column is not None
    assert loads("[NaN]", limits=JsonLimits(allow_nan=True))[0] != 0
    error = _error('{"b": {"a": 1}, "c": {"a": 1,\n "a": 2}}')
    assert '"a" appears twice' in error.problem and (error.line, error.column) == (2, 2)
    assert loads('{"a": 1, "a": 2}', limits=JsonLimits(duplicate_keys="last")) == {"a": 2}


def test_not_utf8_and_not_json_name_line_and_column():
    error = _error(b'{"a": 1,\n "b": "\xff"}')
    assert error.line == 2 and "UTF-8" in error.problem
    error = _error('{"a": 1,\n "b": }')
    assert error.line == 2 and "not valid JSON" in error.problem and error.excerpt
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a byte-order mark is ignored


# ----------------------------------------------------------------------------- size, files
def test_size_limits_and_files(tmp_path: Path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(list(range(1000))))
    assert load(path) == list(range(1000))
    with pytest.raises(JsonError, match="more than the 100 read at most"):
        load(path, limits=JsonLimits(max_bytes=100))
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.json")
    with pytest.raises(JsonError, match="not a regular file"):
        load(tmp_path)
    lines = tmp_path / "x.jsonl"
    lines.write_text('{"a": 1}\n\n' + json.dumps({"b": "x" * 50}) + "\n")
    assert list(iter_lines(lines)) == [(1, {"a": 1}), (3, {"b": "x" * 50})]
    with pytest.raises(JsonError) as info:
        list(iter_lines(lines, limits=JsonLimits(max_line_bytes=40)))
    assert info.value.line == 3


def test_lines_are_checked_in_blocks_that_keep_line_numbers(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(B, "_BLOCK", 64)  # many blocks
    rows = [{"i": i, "s": "[" * (i % 7)} for i in range(200)]
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "[1, }\n")
    got = []
    with pytest.raises(JsonError) as info:
        for line, value in iter_lines(path):
            got.append((line, value))
    assert got == list(enumerate(rows, start=1)) and info.value.line == 201


# ----------------------------------------------------------------------------- time
def _check_time(text: bytes) -> float:
    """The best of five timings of the checks that run before parsing (what this module adds to json)."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        B._check(text, "x", JsonLimits(max_bytes=2**31), 1, per_line=False)
        best = min(best, time.perf_counter() - start)
    return best


def test_checks_are_linear_in_the_size():
    """Quadratic work would multiply the time by 16 when the size grows 4 times; linear by about 4."""
    row = {"q": ["w", [0, 1], "?", "[[{"], "s": [[1.5, 2e5, '\\"']], "n": "1" * 99}
    small = json.dumps([row] * 20_000).encode()
    large = json.dumps([row] * 80_000).encode()
    deep = ("[" * 60 + "]" * 60).encode()  # deep but within the limit: the exact count runs
    assert _check_time(large) / _check_time(small) < 9
    assert _check_time(deep * 4000) / _check_time(deep * 1000) < 9


@pytest.mark.slow
def test_a_100_mb_line_parses_in_seconds(tmp_path: Path):
    """The measurement the module docstring quotes (about 100 MB of tokens and floats on one line)."""
    row = {"question": ["word", [0], "?"] * 3_200_000, "segms": [[1.5, 2.25, 3]] * 2_700_000}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(row) + "\n")
    size = path.stat().st_size
    assert size > 100e6
    start = time.perf_counter()
    json.loads(path.read_bytes())
    plain = time.perf_counter() - start
    start = time.perf_counter()
    [(line, value)] = list(iter_lines(path, limits=JsonLimits(max_bytes=2**30)))
    bounded = time.perf_counter() - start
    assert line == 1 and len(value["question"]) == 9_600_000
    print(f"\n{size / 1e6:.0f} MB line: json.loads {plain:.1f} s, bounded {bounded:.1f} s", file=sys.stderr)
    assert bounded < 60 and bounded < 4 * plain + 5
