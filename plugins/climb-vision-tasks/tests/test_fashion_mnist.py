"""Fashion-MNIST: idx parsing (real gz files), 28x28 uint8 arrays, the 500-per-class carving, the folder search."""

from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pytest

from climb_vision_tasks.fashion_mnist import CLASS_NAMES, DEBIAN_DIR, FashionMnistDataError, read_idx
from climb_vision_tasks.sample import fashion_arrays, write_idx

REAL = DEBIAN_DIR / "train-images-idx3-ubyte.gz"


def test_idx_files_round_trip_exactly(make_task, release, assert_carving):
    root = release("fashion-mnist")
    images, labels = fashion_arrays(4)
    t = make_task("fashion-mnist", data_dir=str(root))
    for e in [*t.examples("train"), *t.examples("val")]:
        j = int(e.id.split("-")[1])
        assert e.target == labels[j] and isinstance(e.images[0], np.ndarray)
        assert e.images[0].shape == (28, 28) and e.images[0].dtype == np.uint8
        assert np.array_equal(e.images[0], images[j]) and e.text is None
    assert_carving(t)
    assert Counter(e.target for e in t.examples("val")) == dict.fromkeys(range(10), 2)  # half of 4 per class
    assert [e.id for e in t.examples("test")] == [f"t10k-{j}" for j in range(20)]
    assert t.class_names[0] == "T-shirt/top" and t.class_names[9] == "Ankle boot" and len(CLASS_NAMES) == 10


def test_header_magic_is_checked(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    write_idx(path, np.arange(5, dtype=np.uint8))
    assert read_idx(path, 2049).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(FashionMnistDataError, match=r"magic number 2049, not 2051") as info:
        read_idx(path, 2051)
    assert str(path) in str(info.value)
    with gzip.open(path, "wb") as file:
        file.write(bytes([0, 0, 8, 1]) + (9).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(FashionMnistDataError, match="holds 3 data bytes"):
        read_idx(path, 2049)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(FashionMnistDataError, match="cannot be read"):
        read_idx(path, 2049)


def test_uncompressed_files_are_read_too(make_task, release):
    root = release("fashion-mnist")
    for gz in root.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    t = make_task("fashion-mnist", data_dir=str(root))
    assert len(t.examples("test")) == 20 and all(not p.name.endswith(".gz") for p in t.required_paths())


def test_missing_file_names_it_the_package_and_the_option(make_task, release, tmp_path):
    from climb_harness.api import DataError

    root = release("fashion-mnist")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    t = make_task("fashion-mnist", data_dir=str(root))
    assert [p for p in t.required_paths() if not p.exists()] == [root / "t10k-labels-idx1-ubyte.gz"]
    assert len(t.examples("train")) == 20
    with pytest.raises(DataError) as info:
        t.examples("test")
    message = str(info.value)
    assert str(root / "t10k-labels-idx1-ubyte.gz") in message and isinstance(info.value, FileNotFoundError)
    assert "apt-get install dataset-fashion-mnist" in message and "data_dir" in message
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        make_task("fashion-mnist", data_dir=str(tmp_path / "nowhere")).examples("train")


def test_folder_search_order(make_task, release, tmp_path, monkeypatch):
    root = release("fashion-mnist")
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    assert make_task("fashion-mnist").data_root() == DEBIAN_DIR
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(tmp_path / "empty-root"))
    assert make_task("fashion-mnist").data_root() == DEBIAN_DIR  # no fashion-mnist folder under it
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(root.parent))
    assert make_task("fashion-mnist").data_root() == root
    assert make_task("fashion-mnist", data_dir=str(tmp_path)).data_root() == tmp_path


@pytest.mark.skipif(not REAL.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_real_fashion_mnist(make_task, monkeypatch, assert_carving):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    t = make_task("fashion-mnist")
    train, val, test = (t.examples(s) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (55_000, 5_000, 10_000)
    assert Counter(val.targets) == dict.fromkeys(range(10), 500)
    assert Counter(train.targets) == dict.fromkeys(range(10), 5_500)
    assert Counter(test.targets) == dict.fromkeys(range(10), 1_000)
    assert_carving(t)
    first = t.official("train").make(0)
    assert first.target == 9 and first.images[0].shape == (28, 28)  # the release's first image is an ankle boot
