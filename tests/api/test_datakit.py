"""The task author's data toolkit in ``climb_harness.api``: options, errors, bounded text, records,
caching, hold-outs, paths that stay in their folder, layouts, the image size limit, and
``climb data check`` finding a task's own folder and a folder one level off."""

from __future__ import annotations

import os
import pickle
import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from climb_harness import api
from climb_harness.api import (
    DataError,
    DataFile,
    DataRecord,
    ImagePath,
    MissingDataError,
    UnreadableImageError,
    clip_repr,
    clip_text,
    closest_name,
    data_options,
    find_layout,
    fingerprint_options,
    held_out_groups,
    list_folder,
    load_image,
    misplaced_hint,
    option_defaults,
    read_cached,
    resolve_inside,
    unknown_split,
)
from climb_harness.cli import main


# ----------------------------------------------------------------------------- options
def test_data_options_schema_defaults_and_image_options():
    plain = data_options(
        "Folder; null = $CLIMB_DATA_ROOT/x.", extra={"val_fraction": {"type": "number", "default": 0.1}}
    )
    assert list(plain["properties"]) == [
        "data_dir",
        "max_train_examples",
        "max_eval_examples",
        "val_fraction",
    ]
    images = data_options("Folder.", max_train_default=800, max_image_pixels=4_000_000)
    defaults = option_defaults(images)
    assert defaults == {
        "data_dir": None,
        "max_train_examples": 800,
        "max_eval_examples": None,
        "max_image_pixels": 4_000_000,
        "allow_symlinks_out": False,
    }
    validator = Draft202012Validator(images)
    assert validator.is_valid(defaults) and not validator.is_valid({**defaults, "datadir": "x"})
    assert not validator.is_valid({**defaults, "max_image_pixels": 0})
    assert all(prop.get("description") for prop in images["properties"].values())


def test_fingerprint_options_leave_out_guards_only():
    options = {"data_dir": "/d", "max_train_examples": 5, "max_image_pixels": 10, "allow_symlinks_out": True}
    assert fingerprint_options(options) == '{"data_dir": "/d", "max_train_examples": 5}'
    assert fingerprint_options(options, leave_out=["data_dir"]) == '{"max_train_examples": 5}'


# ----------------------------------------------------------------------------- text and names
def test_clipping_is_bounded_whatever_the_size():
    huge = "word " * 2_000_000
    start = time.perf_counter()
    assert clip_text(huge, 20) == "word word word word…" and len(clip_repr(list(range(10**6)), 30)) <= 30
    assert clip_repr({"a": "x" * 10**6}, 40).endswith("…")
    assert time.perf_counter() - start < 1
    assert clip_text("short") == "short" and clip_repr("a\x00b") == "'a\\x00b'"


def test_closest_name_and_unknown_split():
    assert closest_name("vall", ["train", "val", "test"]) == "val"
    assert closest_name("zzz", ["train"]) is None and closest_name("x" * 65, ["x" * 65]) is None
    message = str(unknown_split("nlvr2", "dev", ["train", "val", "test"], "val reads dev.json"))
    assert message.startswith("task 'nlvr2' has no split 'dev'") and message.endswith("(val reads dev.json).")


# ----------------------------------------------------------------------------- records
def _record(value, line=7) -> DataRecord:
    return DataRecord(
        DataFile(Path("/d/x.jsonl"), "X annotation file", "Each line is X.", "re-download it."),
        value,
        line=line,
    )


def _problem(call) -> str:
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert message.startswith("X annotation file /d/x.jsonl, line 7") and message.endswith(
        "Fix: re-download it."
    )
    return message


def test_record_fields_are_type_and_range_checked_naming_file_line_and_field():
    r = _record(
        {
            "n": 3,
            "d": "42",
            "sup": "²",
            "big": 10**30,
            "flag": True,
            "s": "a\x00b",
            "ids": ["a", 2],
            "name": "../../x-0",
            "ok": "train-1-0-0",
            "nul": None,
        }
    )
    assert r.integer("n", minimum=0, maximum=3) == 3 and r.integer("d", digits_ok=True) == 42
    assert "field 'sup'" in _problem(
        lambda: r.integer("sup", digits_ok=True)
    )  # isdigit() passes, int() would not
    assert "is above 99" in _problem(lambda: r.integer("big", maximum=99))
    assert "not an integer" in _problem(lambda: r.integer("flag"))
    assert "NUL" in _problem(lambda: r.text("s"))
    assert "field 'ids[1]'" in _problem(lambda: r.array("ids", of=str))
    assert "holds 2 items, not 4" in _problem(lambda: r.array("ids", length=4))
    assert "cannot name a file" in _problem(lambda: r.name("name")) and r.name("ok") == "train-1-0-0"
    assert "field 'absent': the field is missing" in _problem(lambda: r.field("absent"))
    assert "the field is null" in _problem(lambda: r.field("nul"))
    assert "a JSON array" in _problem(lambda: _record([1, 2]))


def test_data_file_reads_json_lines_and_names_the_line(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": "\xff"}\n')
    file = DataFile(path, "A file", fix="get a good copy.")
    with pytest.raises(DataError, match=r"a\.jsonl, line 3: it is not UTF-8") as info:
        list(file.records())
    assert str(info.value).endswith("Fix: get a good copy.")
    path.write_bytes(b'{"a": 1}\n\n{"a": "\xc3\xa9"}\n')
    assert [(r.line, r.value) for r in file.records()] == [(1, {"a": 1}), (3, {"a": "\u00e9"})]
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="more than 64 deep"):
        file.read_json()
    path.write_text("a\r\n\nb\n")
    assert list(file.text_lines()) == [(1, "a"), (3, "b")] and file.read_text() == "a\r\n\nb\n"
    with pytest.raises(FileNotFoundError):
        DataFile(tmp_path / "none.json", "A file").read_json()


def test_read_cached_parses_once_per_file_version(tmp_path: Path):
    path = tmp_path / "x.txt"
    path.write_text("one")
    calls = []

    def parse(p: Path) -> str:
        calls.append(p)
        return p.read_text()

    assert read_cached(path, parse) == read_cached(path, parse) == "one" and len(calls) == 1
    assert read_cached(path, parse, key="other") == "one" and len(calls) == 2
    path.write_text("three")
    assert read_cached(path, parse) == "three" and len(calls) == 3
    with pytest.raises(FileNotFoundError):
        read_cached(tmp_path / "absent", parse)


def test_held_out_groups_is_the_legacy_seeded_choice():
    def legacy(groups, fraction, seed):  # the code each VL plugin carried before the toolkit
        items = sorted(set(groups))
        n = min(len(items) - 1, max(1, round(fraction * len(items))))
        random.Random(seed).shuffle(items)
        return frozenset(items[:n])

    rng = random.Random(3)
    for _ in range(50):
        groups = [rng.randint(0, 40) for _ in range(rng.randint(2, 80))]
        if len(set(groups)) < 2:
            continue
        fraction = rng.choice([0.05, 0.1, 0.3, 0.9])
        held = held_out_groups(groups, fraction, 2022)
        assert held == legacy(groups, fraction, 2022) and 1 <= len(held) < len(set(groups))
    with pytest.raises(ValueError, match="at least 2"):
        held_out_groups([5, 5], 0.5, 0)


# ----------------------------------------------------------------------------- paths
def test_resolve_inside_refuses_paths_and_links_that_leave_the_folder(tmp_path: Path):
    root, outside = tmp_path / "data", tmp_path / "secret.txt"
    (root / "images").mkdir(parents=True)
    outside.write_text("x")
    assert resolve_inside(root, "images/1.png") == root / "images" / "1.png"
    for bad in ("../secret.txt", "/etc/passwd", "images/../../secret.txt"):
        with pytest.raises(DataError, match="allow_symlinks_out"):
            resolve_inside(root, bad, named_by="file f, line 2")
    (root / "images" / "link.png").symlink_to(outside)
    with pytest.raises(DataError, match=r"file f, line 2: the path 'images/link.png' leads to .*secret\.txt"):
        resolve_inside(root, "images/link.png", named_by="file f, line 2")
    assert resolve_inside(root, "images/link.png", allow_outside=True) == root / "images" / "link.png"
    with pytest.raises(DataError, match="NUL"):
        resolve_inside(root, "a\x00b")
    linked_root = tmp_path / "linked"
    linked_root.symlink_to(root)  # the folder itself may be a link
    assert resolve_inside(linked_root, "images/1.png") == linked_root / "images" / "1.png"


def test_list_folder_sets_links_out_apart_and_lists_only_regular_files(tmp_path: Path):
    images, elsewhere = tmp_path / "data" / "images", tmp_path / "elsewhere"
    images.mkdir(parents=True)
    elsewhere.mkdir()
    (images / "a.png").write_bytes(b"a")
    (elsewhere / "b.png").write_bytes(b"b")
    (images / "b.png").symlink_to(elsewhere / "b.png")
    (images / "c.png").symlink_to(images / "a.png")  # a link that stays inside
    (images / "sub").mkdir()
    os.mkfifo(images / "pipe.png")
    listing = list_folder(images)
    assert listing.files == {"a.png", "c.png"} and set(listing.outside) == {"b.png"}
    with pytest.raises(DataError, match=r"b\.png"):
        listing.require("b.png", FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        listing.require("pipe.png", FileNotFoundError)
    assert list_folder(images, allow_outside=True).files == {"a.png", "b.png", "c.png"}
    moved = tmp_path / "data" / "moved"
    moved.symlink_to(elsewhere)  # a subfolder linked out of its boundary: every file is outside
    assert set(list_folder(moved, tmp_path / "data").outside) == {"b.png"}
    assert list_folder(moved).files == {"b.png"}  # a layout folder that is itself a link is its own boundary
    with pytest.raises(FileNotFoundError):
        list_folder(tmp_path / "absent")


def test_find_layout_and_a_folder_one_level_off(tmp_path: Path):
    root = tmp_path / "nlvr2"
    (root / "nlvr2" / "data").mkdir(parents=True)
    (root / "nlvr2" / "data" / "dev.json").write_text("{}\n")
    assert (
        find_layout(root, ["", "data", "nlvr2/data"], ["train.json", "dev.json"]) == root / "nlvr2" / "data"
    )
    assert find_layout(tmp_path / "none", ["", "data"], ["dev.json"]) == tmp_path / "none"
    top = tmp_path / "imdb"
    (top / "aclImdb" / "train" / "neg").mkdir(parents=True)
    layout = ["aclImdb/train/neg", "aclImdb/train/pos"]
    assert "one level too deep" in misplaced_hint(top / "aclImdb", layout)
    assert misplaced_hint(top / "aclImdb", layout).endswith(f"Fix: set the task option data_dir to {top}.")
    assert f"data_dir to {top}." in misplaced_hint(tmp_path, layout) and "too high" in misplaced_hint(
        tmp_path, layout
    )
    assert misplaced_hint(top, layout) == "" and misplaced_hint(tmp_path / "x", layout) == ""


# ----------------------------------------------------------------------------- images
def _bomb(path: Path, side: int = 12_000) -> Path:
    """A real PNG of side x side pixels (1 bit each: a few kB on disk, 432 MB decoded as RGB)."""
    from PIL import Image

    Image.new("1", (side, side)).save(path)
    return path


def test_large_image_refused_from_its_header_before_decoding(tmp_path: Path, monkeypatch):
    from PIL import ImageFile

    bomb = _bomb(tmp_path / "bomb.png")
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(UnreadableImageError) as info:
        load_image(str(bomb))  # the default: 50 megapixels
    message = str(info.value)
    assert "12000 x 12000 = 144,000,000 pixels" in message and "max_image_pixels" in message and not decoded
    with pytest.raises(UnreadableImageError, match="more than the 4,000,000"):
        load_image(ImagePath(bomb, max_pixels=4_000_000))
    with pytest.raises(UnreadableImageError, match="more than the 100"):
        load_image(ImagePath(bomb, max_pixels=4_000_000), max_pixels=100)  # the argument wins
    small = tmp_path / "small.png"
    from PIL import Image

    Image.new("RGB", (20, 10), (1, 2, 3)).save(small)
    monkeypatch.undo()
    assert load_image(ImagePath(small, max_pixels=200)).size == (20, 10)
    with pytest.raises(UnreadableImageError, match="more than the 199"):
        load_image(ImagePath(small, max_pixels=199))


def test_image_path_is_a_plain_path_with_a_limit_and_pipes_are_refused(tmp_path: Path):
    path = ImagePath(tmp_path / "x.png", 123)
    assert path == str(tmp_path / "x.png") and hash(path) == hash(str(path)) and repr(path) == repr(str(path))
    again = pickle.loads(pickle.dumps(path))
    assert type(again) is ImagePath and again.max_pixels == 123 and again == path
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(UnreadableImageError, match="not a regular file"):  # opening it would block forever
        load_image(str(tmp_path / "pipe.png"))


def test_errors_are_the_api_ones():
    error = MissingDataError("X data not found: /d/x.")
    assert (
        isinstance(error, FileNotFoundError)
        and isinstance(error, DataError)
        and str(error) == "X data not found: /d/x."
    )
    assert api.DataError.__module__ == "climb_harness.api" and pickle.loads(
        pickle.dumps(DataError("m"))
    ).args == ("m",)
    assert set(api.__all__) >= {
        "DataFile",
        "DataRecord",
        "ImagePath",
        "MissingDataError",
        "data_options",
        "read_cached",
        "resolve_inside",
        "closest_name",
        "clip_text",
    }


# ----------------------------------------------------------------------------- data check
SHARED = """
from climb_harness.api import Task, data_dir, hookimpl, task

class Part(Task):
    def required_paths(self):
        root = data_dir(self.options["data_dir"], "ztest-shared", task=self.manifest["name"])
        return [root / "release" / "train.jsonl", root / "release" / "images"]

OPTIONS = {"type": "object", "additionalProperties": False,
           "properties": {"data_dir": {"type": ["string", "null"], "default": None}}}

def manifest(name):
    return {"name": name, "api_version": "1.0", "summary": name, "modality": "vision-language",
            "images_per_example": 1, "head": {"type": "classification", "num_labels": 2},
            "metric": "accuracy",
            "random_baseline": 50.0, "options": OPTIONS, "data": {"how_to_get": "x", "layout": "release/..."}}

@hookimpl
def climb_tasks():
    return [task(manifest("ztest-a"), Part), task(manifest("ztest-b"), Part)]
"""


def _check(*args):
    result = CliRunner().invoke(main, ["data", "check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_data_check_finds_tasks_sharing_a_folder_and_a_folder_one_level_off(site, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    site.add_plugin("climb-ztest-shared", source=SHARED)
    folder = tmp_path / "data" / "ztest-shared" / "release"
    (folder / "images").mkdir(parents=True)
    (folder / "train.jsonl").write_text("{}\n")
    result = _check("ztest-a", "ztest-b", "--data-root", str(tmp_path / "data"))
    assert result.exit_code == 0 and "2 task(s) checked, 0 with missing data" in result.stdout, result.stdout
    # the data root set one level too deep (at the shared folder itself): named, with the exact fix
    result = _check("ztest-a", "--data-root", str(tmp_path / "data" / "ztest-shared"))
    assert result.exit_code == 1
    assert (
        f"  hint:    The folder {tmp_path / 'data' / 'ztest-shared' / 'ztest-shared'} is one level too deep: "
        f"{tmp_path / 'data' / 'ztest-shared'} holds 2 of the 2 expected path(s). Fix: set the task option "
        f"data_dir to {tmp_path / 'data' / 'ztest-shared'}."
    ) in result.stdout.splitlines(), result.stdout


def test_data_dir_message_suggests_a_command_that_works(site, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    site.add_plugin("climb-ztest-shared", source=SHARED)
    with pytest.raises(FileNotFoundError) as info:
        api.data_dir(None, "ztest-shared", task="ztest-b")
    command = str(info.value).split("`")[1]
    assert command == "climb data check ztest-b --data-root DIR"
    result = _check(*command.split()[3:-2], "--data-root", str(tmp_path))
    assert (
        result.exit_code == 1 and "MISSING ztest-b" in result.stdout
    )  # a check that ran, not a usage error (2)
