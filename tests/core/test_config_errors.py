"""Bad experiment configs and ``--set`` overrides: each is one bounded ConfigError naming the key or file.

One case per way a fuzzing user broke config loading: YAML errors and ``!!python`` tags in ``--set``,
descending into a scalar, non-string keys, a scalar file, over-long labels and names, non-finite
numbers, out-of-range seeds, alias bombs and deep nesting, oversized validation messages, and the
rest found while fuzzing (duplicate keys, dates, NUL characters, files that are not UTF-8 text, ...).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.core.config import MAX_MESSAGE, default_name, load_config, validate_config
from climb_harness.api.errors import ConfigError

MINIMAL = "tasks: [a]\nencoder: b\nalgorithms: [c]\n"


def laughs(depth: int, width: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


def merge_bomb(depth: int, width: int) -> str:
    """Like :func:`laughs`, through merge keys (``<<: [*m, *m, ...]``), which PyYAML copies entry by entry."""
    lines = ["m0: &m0 {x: 1}"]
    lines += [f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * width) + "]}" for i in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


#: Half a KB that expands to 9 ** 8 tasks: unbounded, its validation was still running after two minutes.
BOMB = laughs(8, 9) + "tasks: *l8\nencoder: b\nalgorithms: [c]\n"


def assert_bounded(message: str, expected: list[str]) -> None:
    assert len(message) <= MAX_MESSAGE, message[:2_000]
    assert "\n" not in message and "Traceback" not in message, message
    for text in expected:
        assert text in message, message


def refused(path: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


SET_CASES = [
    # 1. YAML syntax errors and tags in a --set value
    ("training.epochs=[", ["--set 'training.epochs'", "not valid YAML", "line 1, column 2"]),
    ('x=!!python/object/apply:os.system ["echo hi"]', ["--set 'x'", "python/object/apply:os.system", "no !! tags"]),
    ("name=!!python/name:os.system", ["--set 'name'", "python/name:os.system"]),
    ("training.epochs=!!int x", ["--set 'training.epochs'", "cannot read 'x' as int"]),
    ("name=2020-13-45", ["--set 'name'", "month must be in 1..12"]),
    ("name=a\n---\nb", ["--set 'name'", "single document"]),
    ("name=\x00", ["--set 'name'", "#x0000"]),
    # 2. descending into a scalar or past the end of a list
    ("seeds.0.x=1", ["--set 'seeds.0.x'", "'seeds.0' is 0 (int)", "not a mapping or a list"]),
    ("training.epochs.x.y=1", ["--set 'training.epochs.x.y'", "'training.epochs' is 3 (int)"]),
    ("references.direct.x=1", ["'references.direct' is True (bool)"]),
    ("seeds.5=1", ["'5' is not an index of seeds", "a list of 1 item(s)"]),
    ("seeds.²=1", ["'²' is not an index of seeds"]),
    ("seeds.99999999999999999999=1", ["is not an index of seeds"]),
    ("tasks.x.name=a", ["'x' is not an index of tasks"]),
    ("." * 80 + "=1", ["the key has 81 parts", "at most 64"]),
    # 3. non-string keys
    ("encoder.options={1: x}", ["$.encoder.options has the key 1 (int)", "must be a string"]),
    ("tasks.0={null: 1}", ["$.tasks[0] has the key None", "must be a string"]),
    ("training={? [1, 2] : 3}", ["--set 'training'", "unhashable key"]),
    # 5. names and labels that become folders
    ("algorithms.0.label=" + "a" * 300, ["$.algorithms[0].label", "is too long"]),
    ("algorithms.0.label=..", ["$.algorithms[0].label", "does not match"]),
    ("algorithms.0.label=a/b", ["$.algorithms[0].label", "does not match"]),
    ("name=../../etc", ["$.name", "does not match"]),
    ("name=a/b", ["$.name", "does not match"]),
    ("name=" + "n" * 300, ["$.name", "is too long"]),
    ("name=", ["$.name", "should be non-empty"]),
    ("output=", ["$.output", "should be non-empty"]),
    ("encoder=" + "e" * 300, ["$.encoder", "is too long"]),
    # 6. non-finite numbers, anywhere
    ("training.lr=.nan", ["$.training.lr is nan", "finite"]),
    ("training.lr=.inf", ["$.training.lr is inf"]),
    ("training.weight_decay=-.inf", ["$.training.weight_decay is -inf"]),
    ("protocol.confidence_level=.nan", ["$.protocol.confidence_level is nan"]),
    ("encoder.options.x=.nan", ["$.encoder.options.x is nan"]),
    ("tasks.0.options.sizes=[1, [2, .inf]]", ["$.tasks[0].options.sizes[1][1] is inf"]),
    ("algorithms.3.options.replay_frequency=1.0e+400", ["$.algorithms[3].options.replay_frequency is inf"]),
    # 7. seeds and integers
    ("seeds=[18446744073709551616]", ["$.seeds[0]"]),
    ("seeds=[4294967296]", ["$.seeds[0]", "maximum of 4294967295"]),
    ("seeds=[-1]", ["$.seeds[0]", "minimum of 0"]),
    ("seeds=[true]", ["$.seeds[0]", "is not of type 'integer'"]),
    ("seeds=[1.0]", ["$.seeds[0]", "is not of type 'integer'"]),
    ("seeds=[0, 0]", ["$.seeds", "non-unique"]),
    ("training.epochs=true", ["$.training.epochs", "is not of type"]),
    ("training.epochs=2.0", ["$.training.epochs", "is not of type"]),
    ("training.batch_size=99999999999", ["$.training.batch_size", "maximum"]),
    ("protocol.bootstrap_resamples=1000000000", ["$.protocol.bootstrap_resamples", "maximum"]),
    ("training.device=cuda:99999999999999999999", ["$.training.device", "does not match"]),
    # 8. alias bombs, recursion and deep nesting in a --set value; bounded validation messages
    ("tasks=" + laughs(9, 9), ["--set 'tasks'", "expands (through its aliases) to more than 100,000"]),
    ("tasks=&a [*a]", ["--set 'tasks'", "refers to a node that contains it"]),
    ("tasks=" + "[" * 100 + "]" * 100, ["--set 'tasks'", "nests deeper than 64"]),
    ("training=[" + ", ".join(["x" * 50] * 1000) + "]", ["$.training:", "is not of type 'object'"]),
    ("training={" + ", ".join(f"k{i}: 1" for i in range(200)) + "}", ["unknown key 'k0' at $.training", "and 195 more"]),
    # 9. found while fuzzing
    ("training={epochs: 1, epochs: 2}", ["--set 'training'", "duplicate key 'epochs'"]),
    ("name=2020-01-01", ["$.name is datetime.date(2020, 1, 1)", "Quote a date"]),
    ("encoder.options.x=!!binary aGk=", ["$.encoder.options.x is b'hi'"]),
    ("encoder.options.x=!!set {a}", ["$.encoder.options.x", "a set"]),
    ("encoder.options.x=!!omap [a: 1]", ["$.encoder.options.x[0]", "a tuple"]),
    ('references.cache_dir="a\\0b"', ["$.references.cache_dir", "NUL character"]),
    ('output="\\ud800"', ["$.output", "lone surrogate"]),
    ("plugins=['']", ["$.plugins[0]", "should be non-empty"]),
    ("nonsense", ["must look like KEY=VALUE"]),
]


@pytest.mark.parametrize(("assignment", "expected"), SET_CASES, ids=[c[0][:40] for c in SET_CASES])
def test_bad_set_override_is_one_bounded_config_error(assignment: str, expected: list[str]) -> None:
    assert_bounded(refused(None, [assignment]), expected)


FILE_CASES = [
    # 3. non-string keys
    ("keys.yaml", "{1: 2, tasks: [a], encoder: b, algorithms: [c]}", ["$ has the key 1 (int)"]),
    ("keys.yaml", MINIMAL + "training: {1.5: x}", ["$.training has the key 1.5 (float)"]),
    # 4. a file that is not a mapping
    ("five.yaml", "5", ["five.yaml holds 5 (int)", "must hold a mapping"]),
    ("str.yaml", '"x"', ["str.yaml holds 'x' (str)"]),
    ("empty.yaml", "", ["empty.yaml is empty"]),
    ("null.yaml", "null", ["null.yaml is empty"]),
    ("list.yaml", "[1, 2]", ["list.yaml holds [1, 2] (list)"]),
    ("five.json", "5", ["five.json holds 5 (int)"]),
    ("blank.json", "", ["blank.json is not valid JSON"]),
    # 6. non-finite numbers from JSON and YAML files
    ("nan.json", '{"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "training": {"lr": NaN}}', ["$.training.lr is nan"]),
    ("inf.json", '{"tasks": ["a"], "encoder": {"name": "b", "options": {"x": [Infinity]}}, "algorithms": ["c"]}',
     ["$.encoder.options.x[0] is inf"]),
    ("big.json", '{"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "training": {"lr": 1e400}}', ["$.training.lr is inf"]),
    ("inf.yaml", MINIMAL + "training: {lr: 1.0e+400}", ["$.training.lr is inf"]),
    # 8. alias bombs, recursive aliases, too many aliases, deep nesting
    ("bomb.yaml", BOMB, ["bomb.yaml is not valid YAML", "more than 100,000 values"]),
    ("merge-bomb.yaml", merge_bomb(8, 9), ["merge-bomb.yaml", "more than 100,000"]),
    ("loop.yaml", "tasks: &t [a, *t]\nencoder: b\nalgorithms: [c]\n", ["loop.yaml", "refers to a node that contains it"]),
    ("aliases.yaml", "x: &x 1\ny: [" + ", ".join(["*x"] * 101) + "]\n", ["aliases.yaml", "more than 100 aliases"]),
    ("deep.yaml", "tasks: " + "[" * 20_000 + "]" * 20_000, ["deep.yaml", "nests deeper than 64 levels"]),
    ("deep.json", "[" * 100_000 + "]" * 100_000, ["deep.json is not valid JSON", "nests too deeply"]),
    ("deeper.json", '{"tasks": ' + "[" * 70 + "]" * 70 + ', "encoder": "b", "algorithms": ["c"]}', ["nests deeper than 64"]),
    ("errors.yaml", MINIMAL + "".join(f"unknown{i}: 1\n" for i in range(500)), ["unknown key 'unknown0' at $", "and 495 more"]),
    ("long.yaml", "tasks: " + json.dumps(["t" * 10_000] * 20) + "\nencoder: b\nalgorithms: [c]\nseeds: x\n",
     ["$.tasks[0]", "is too long", "$.seeds"]),
    # 9. found while fuzzing
    ("dup.yaml", MINIMAL + "training: {epochs: 1}\ntraining: {lr: 1}\n", ["dup.yaml", "duplicate key 'training'"]),
    ("dup.json", '{"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "seeds": [0], "seeds": [1]}', ["duplicate key 'seeds'"]),
    ("date.yaml", MINIMAL + "name: 2020-01-01\n", ["$.name is datetime.date(2020, 1, 1)"]),
    ("tag.yaml", MINIMAL + "x: !!python/object/apply:os.system [echo hi]\n", ["tag.yaml is not valid YAML", "python/object"]),
    ("surrogate.json", '{"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "output": "\\ud800"}', ["$.output", "surrogate"]),
    ("nul.json", '{"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "name": "a\\u0000"}', ["$.name", "NUL"]),
    ("label.yaml", "tasks: [a]\nencoder: b\nalgorithms: [{name: c, label: " + "l" * 300 + "}]\n",
     ["$.algorithms[0].label", "is too long"]),
    ("component.yaml", "tasks: [a]\nencoder: 5\nalgorithms: [c]\n", ["$.encoder: 5 is not a component"]),
    ("oddkey.yaml", MINIMAL + "training: {\"a\\nb\": 1}\n", ["unknown key 'a\\nb' at $.training"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_config_file_is_one_bounded_config_error(
    tmp_path: Path, name: str, text: str, expected: list[str]
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    message = refused(path)
    assert time.perf_counter() - started < 5  # the 1 KB alias bomb took 25 s and a 52 MB message
    assert_bounded(message, expected)


def test_unreadable_config_files(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"tasks: [\xff\xfe]\n")
    assert_bounded(refused(binary), ["binary.yaml is not UTF-8 text", "byte 8 is 0xff"])
    assert_bounded(refused(tmp_path), ["is a folder"])
    assert_bounded(refused(tmp_path / "missing.yaml"), ["missing.yaml does not exist"])
    huge = tmp_path / "huge.yaml"
    huge.write_text(MINIMAL + "#" * 1_100_000)
    assert_bounded(refused(huge), ["huge.yaml is larger than 1,000,000 bytes"])
    assert_bounded(refused(tmp_path / ("x" * 5_000 + ".yaml")), ["cannot be read"])


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    minimal = {"tasks": ["a"], "encoder": "b", "algorithms": ["c"]}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(minimal).encode())
    assert load_config(path)["tasks"] == [{"name": "a", "options": {}}]


@pytest.mark.parametrize(("config", "expected"), [
    ({"tasks": ["a"], "encoder": "b", "algorithms": ["c"], 1: 2}, ["$ has the key 1 (int)"]),
    ({"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "training": {"lr": float("nan")}}, ["$.training.lr is nan"]),
    ({"tasks": ["a"], "encoder": "b", "algorithms": ["c"], "seeds": [2**5000]}, ["$.seeds[0] is <an integer of 5001 bits>"]),
    ({"tasks": ("a",), "encoder": "b", "algorithms": ["c"]}, ["$.tasks is ('a',), a tuple"]),
    (5, ["it is 5 (int), not a mapping"]),
])
def test_validate_config_refuses_what_is_not_plain_json(config: Any, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(config, "a test")
    assert_bounded(str(info.value), expected)


def test_recursive_and_deep_mappings_are_refused_without_recursion_errors() -> None:
    looped: dict[str, Any] = {"tasks": ["a"], "encoder": "b", "algorithms": ["c"]}
    looped["training"] = {"inner": [looped]}
    deep: Any = 0
    for _ in range(5_000):
        deep = [deep]
    cases = ((looped, "$.training.inner[0] contains itself"), ({"tasks": deep}, "nests deeper than 64"))
    for config, expected in cases:
        with pytest.raises(ConfigError) as info:
            validate_config(config, "a test")
        assert_bounded(str(info.value), [expected])


def test_limits_still_accept_ordinary_configs(tmp_path: Path) -> None:
    """Aliases, merge keys, the largest seed and folder-safe labels are all fine."""
    path = tmp_path / "ok.yaml"
    path.write_text("tasks: [a, b]\nencoder: {name: e, options: &o {x: 1}}\n"
                    "algorithms: [{name: c, options: *o}, {name: c, label: c_2.v-1, options: {<<: *o, y: 2}}]\n"
                    "seeds: [0, 4294967295]\nname: my_exp-1.0\n")
    config = load_config(path)
    assert config["seeds"] == [0, 4294967295] and config["name"] == "my_exp-1.0"
    assert config["algorithms"][1] == {"name": "c", "label": "c_2.v-1", "options": {"x": 1, "y": 2}}
    assert config["output"] == str(Path("runs") / "my_exp-1.0")


@pytest.mark.parametrize(("stem", "name"), [
    ("exp", "exp"), ("...", "experiment"), ("my exp", "my-exp"), ("-x", "x"), ("a" * 200, "a" * 64),
])
def test_default_name_from_a_file_stem_is_a_safe_folder(tmp_path: Path, stem: str, name: str) -> None:
    assert default_name(tmp_path / f"{stem}.yaml") == name
    path = tmp_path / f"{stem}.yaml"
    path.write_text(MINIMAL)
    assert load_config(path)["output"] == str(Path("runs") / name)


# --------------------------------------------------------------------------- the CLI: exit code 2, nothing run
@pytest.mark.parametrize(("args", "expected"), [
    (["--set", "training.epochs=["], ["training.epochs", "not valid YAML"]),
    (["--set", 'x=!!python/object/apply:os.system ["echo hi"]'], ["--set 'x'", "python/object/apply"]),
    (["--set", "seeds.0.x=1"], ["'seeds.0' is 0 (int)"]),
    (["--set", "training.lr=.nan"], ["$.training.lr is nan"]),
    (["--set", "seeds=[18446744073709551616]"], ["$.seeds[0]"]),
])
def test_cli_refuses_bad_overrides_with_exit_code_2(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--output", str(out), *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ")
    assert_bounded(result.output.removeprefix("Error: ").rstrip("\n"), expected)
    assert not out.exists()


def test_cli_refuses_an_alias_bomb_config_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    started = time.perf_counter()
    args = ["run", "--config", str(bomb), "--output", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2
    assert_bounded(result.output.removeprefix("Error: ").rstrip("\n"), ["bomb.yaml", "more than 100,000 values"])


def test_an_output_folder_with_a_nul_character_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [], "runs/a\x00b")
    assert_bounded(str(info.value), ["--output", "NUL character"])
