"""Fashion-MNIST (Zalando), 10 classes of 28x28 greyscale article images, read from its idx files.

Layout (the release's four gzipped idx files; Debian's ``dataset-fashion-mnist`` package installs
them in ``/usr/share/datasets/fashion-mnist/``)::

    <data_dir>/train-images-idx3-ubyte.gz   magic 2051, 60000 x 28 x 28 uint8
    <data_dir>/train-labels-idx1-ubyte.gz   magic 2049, 60000 uint8 labels 0..9
    <data_dir>/t10k-images-idx3-ubyte.gz    magic 2051, 10000 x 28 x 28
    <data_dir>/t10k-labels-idx1-ubyte.gz    magic 2049, 10000

Uncompressed copies (the same names without ``.gz``) are read too. The data folder is the option
``data_dir``, else ``$CLIMB_DATA_ROOT/fashion-mnist`` when that folder exists, else Debian's
``/usr/share/datasets/fashion-mnist``. Images are handed over as 28x28 uint8 numpy arrays (views
into one array per split; the whole data set is 55 MB).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import DATA_ROOT_ENV
from climb_vision_tasks._common import (
    MissingDataFile,
    Official,
    VisionDataError,
    VisionTask,
    array_maker,
    clip,
    defaults_of,
    options_schema,
    release_manifest,
)

NAME = "fashion-mnist"
#: Where Debian's dataset-fashion-mnist package puts the files.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
#: The official class names, by label.
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
#: Images per class held out of the 60,000 train for val (5,000 in all).
VAL_PER_CLASS = 500

LAYOUT = (
    "<data_dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (the release's gzipped idx files; "
    f"Debian's {DEBIAN_PACKAGE} installs them in {DEBIAN_DIR})"
)
HOW_TO_GET = (
    f"install Debian's package {DEBIAN_PACKAGE} (`apt-get install {DEBIAN_PACKAGE}`: the real data, in {DEBIAN_DIR}), "
    "or download the four .gz files of https://github.com/zalandoresearch/fashion-mnist into a folder and set the "
    f"task's option data_dir to it (or put them in ${DATA_ROOT_ENV}/fashion-mnist)"
)

OPTIONS_SCHEMA = options_schema(
    NAME,
    "55,000",
    data_dir_note=f"Folder of the four idx .gz files; null = ${DATA_ROOT_ENV}/fashion-mnist if that folder exists, "
    f"else {DEBIAN_DIR} (Debian's {DEBIAN_PACKAGE}).",
)
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="Fashion-MNIST: classify 28x28 greyscale Zalando article images into 10 classes.",
    description=(
        "One 28x28 uint8 image (a numpy array), no text (the encoder supplies its stand-in text). Labels 0..9 are "
        "the release's: " + ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES)) + ". Splits: test = the "
        "official 10,000 t10k images; val (model selection) = 500 images per class (5,000) held out of the official "
        "60,000 train, chosen by a seeded random.Random per class; train = the other 55,000. Train and val are "
        "disjoint and together are the official train. Not one of CLiMB's tasks: a small real vision task that "
        f"installs offline (Debian's {DEBIAN_PACKAGE})."
    ),
    num_labels=len(CLASS_NAMES),
    random_baseline=10.0,
    source="Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), https://github.com/zalandoresearch/fashion-mnist: 60,000 "
    f"train and 10,000 test images of 10 classes; packaged in Debian as {DEBIAN_PACKAGE}.",
    license="MIT (Zalando SE).",
    citation="Xiao, H., Rasul, K., & Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset for Benchmarking "
    "Machine Learning Algorithms. arXiv:1708.07747.",
    how_to_get=HOW_TO_GET,
    layout=LAYOUT,
    options=OPTIONS_SCHEMA,
)


class FashionMnistDataError(VisionDataError):
    """A Fashion-MNIST idx file of the wrong form: names the file and what is wrong."""


def default_dir() -> Path:
    """``$CLIMB_DATA_ROOT/fashion-mnist`` if that folder exists, else Debian's folder."""
    root = os.environ.get(DATA_ROOT_ENV)
    if root and (Path(root).expanduser() / NAME).is_dir():
        return (Path(root).expanduser() / NAME).absolute()
    return DEBIAN_DIR


def idx_path(folder: Path, stem: str) -> Path:
    """``<folder>/<stem>.gz``, or the uncompressed ``<folder>/<stem>`` when only that is there."""
    gz = folder / f"{stem}.gz"
    return folder / stem if not gz.exists() and (folder / stem).exists() else gz


def read_idx(path: Path, magic: int) -> Any:
    """An idx file (gzipped when its name ends in .gz) -> a uint8 numpy array of its shape.

    The header is big-endian: ``0x00 0x00 0x08 ndim`` (magic 2049 for 1-d labels, 2051 for 3-d images),
    then ``ndim`` uint32 sizes, then the uint8 data.
    """
    import numpy as np

    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as file:
            raw = file.read()
    except (FileNotFoundError, NotADirectoryError):
        raise missing_file(path) from None
    except (OSError, EOFError) as exc:
        raise FashionMnistDataError(f"Fashion-MNIST file {path} cannot be read ({clip(exc)}). {_refetch()}") from None
    if len(raw) < 8:
        raise FashionMnistDataError(f"Fashion-MNIST file {path} is too short for an idx header. {_refetch()}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise FashionMnistDataError(
            f"Fashion-MNIST file {path} has idx magic number {found}, not {magic} "
            f"({'labels' if magic == LABEL_MAGIC else 'images'}). {_refetch()}"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) != header + size:
        raise FashionMnistDataError(
            f"Fashion-MNIST file {path} holds {len(raw) - header} data bytes, its header says {shape} = {size}. {_refetch()}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _refetch() -> str:
    return f"Reinstall {DEBIAN_PACKAGE} (`apt-get install --reinstall {DEBIAN_PACKAGE}`) or re-download the file."


def missing_file(path: Path) -> MissingDataFile:
    """The error for a missing idx file or folder: names it, the Debian package and the option."""
    return MissingDataFile(
        f"Fashion-MNIST data not found: {path} does not exist. Expected layout: {LAYOUT}. How to get it: {HOW_TO_GET}."
    )


class FashionMnistTask(VisionTask):
    """Fashion-MNIST: targets index :data:`CLASS_NAMES`; images are 28x28 uint8 arrays."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    VAL_PER_CLASS = VAL_PER_CLASS
    class_names = CLASS_NAMES

    def data_root(self) -> Path:
        given = self.options.get("data_dir")
        return Path(given).expanduser().absolute() if given else default_dir()

    def required_paths(self) -> Sequence[Path]:
        root = self.data_root()
        return [idx_path(root, stem) for source in ("train", "test") for stem in FILES[source]]

    def read_official(self, source: str) -> Official:
        root = self.data_root()
        if not root.is_dir():
            raise missing_file(root)
        images_file, labels_file = (idx_path(root, stem) for stem in FILES[source])
        images = read_idx(images_file, IMAGE_MAGIC)
        labels = read_idx(labels_file, LABEL_MAGIC)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise FashionMnistDataError(f"Fashion-MNIST file {images_file} holds images of shape {images.shape[1:]}, not 28x28.")
        if labels.ndim != 1 or len(labels) != len(images):
            raise FashionMnistDataError(
                f"Fashion-MNIST files {images_file} and {labels_file} disagree: {len(images)} images, {labels.shape} labels."
            )
        if len(labels) and int(labels.max()) >= len(CLASS_NAMES):
            raise FashionMnistDataError(f"Fashion-MNIST file {labels_file} holds label {int(labels.max())}, not in 0..9.")
        targets = labels.tolist()
        return Official(targets, array_maker(images, targets, "train" if source == "train" else "t10k"))
