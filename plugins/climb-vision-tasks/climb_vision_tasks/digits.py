"""scikit-learn's bundled handwritten digits (UCI optdigits test set): 1,797 real 8x8 images, 10 classes.

The data ships inside scikit-learn (``sklearn.datasets.load_digits``), so nothing is downloaded and
``required_paths()`` is empty. Pixel values 0..16 are scaled to uint8 0..255 (``round(v * 255 / 16)``);
images are 8x8 uint8 numpy arrays.

There is no official split: each class is split 60/20/20 into train / val / test by a seeded
``random.Random`` per class (``climb-vision-tasks/digits/<label>``), a fixed function of the data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from climb_vision_tasks._common import (
    DISTRIBUTION,
    MissingDataFile,
    Official,
    VisionTask,
    array_maker,
    defaults_of,
    options_schema,
    release_manifest,
)

NAME = "digits"
#: Shares of each class in train, val and test.
FRACTIONS = (0.6, 0.2, 0.2)

_schema = options_schema(NAME, "1,079")
OPTIONS_SCHEMA: dict[str, Any] = {**_schema, "properties": {k: v for k, v in _schema["properties"].items() if k != "data_dir"}}
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="scikit-learn's handwritten digits: classify 1,797 real 8x8 greyscale images into 0..9.",
    description=(
        "One 8x8 uint8 image (a numpy array; sklearn's values 0..16 scaled to 0..255), no text (the encoder supplies "
        "its stand-in text). Label = the digit. The data set has no official split: each class is split 60/20/20 "
        "(rounded: val and test get round(0.2 n) each, train the rest) into train / val (model selection) / test by "
        "a seeded random.Random per class, giving 1,079 / 359 / 359 examples; the three are disjoint and together "
        "are the 1,797 images. Not one of CLiMB's tasks: a tiny real vision task that ships with scikit-learn."
    ),
    num_labels=10,
    random_baseline=10.0,
    source="scikit-learn's sklearn.datasets.load_digits(): the test part of the UCI 'Optical Recognition of "
    "Handwritten Digits' data set (Alpaydin & Kaynak 1998), 1,797 images of 8x8, 10 classes.",
    license="CC BY 4.0 (UCI Machine Learning Repository); bundled with scikit-learn (BSD-3-Clause).",
    citation="Alpaydin, E., & Kaynak, C. (1998). Optical Recognition of Handwritten Digits. UCI Machine Learning "
    "Repository. https://doi.org/10.24432/C50P49",
    how_to_get="nothing to download: install scikit-learn (`pip install scikit-learn`), which bundles the data",
    layout="none: the data ships inside scikit-learn (sklearn/datasets/data/digits.csv.gz)",
    options=OPTIONS_SCHEMA,
)


def load_images() -> tuple[Any, list[int]]:
    """``(images, labels)``: an (n, 8, 8) uint8 array scaled to 0..255 and the digit of each."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise MissingDataFile(
            f"The task {NAME!r} reads scikit-learn's bundled digits, but scikit-learn cannot be imported ({exc}). "
            "Install it: `pip install scikit-learn` (a dependency of climb-vision-tasks)."
        ) from None
    import numpy as np

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return images, [int(t) for t in bunch.target]


def split_per_class(labels: Sequence[int], seed: str = f"{DISTRIBUTION}/{NAME}") -> dict[str, list[int]]:
    """Each class shuffled (seeded) and cut: val and test ``round(0.2 n)`` each, train the rest."""
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in sorted(groups):
        items = list(groups[label])
        random.Random(f"{seed}/{label}").shuffle(items)
        n_val, n_test = round(FRACTIONS[1] * len(items)), round(FRACTIONS[2] * len(items))
        out["val"] += items[:n_val]
        out["test"] += items[n_val : n_val + n_test]
        out["train"] += items[n_val + n_test :]
    return {split: sorted(indices) for split, indices in out.items()}


class DigitsTask(VisionTask):
    """scikit-learn's digits: target = the digit; images 8x8 uint8."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    class_names = tuple(str(d) for d in range(10))

    def data_root(self) -> Path:  # pragma: no cover - nothing on disk
        raise FileNotFoundError("the digits ship with scikit-learn; there is no data folder")

    def required_paths(self) -> Sequence[Path]:
        return ()

    def fingerprint(self) -> str:
        try:
            import sklearn

            version = sklearn.__version__
        except ImportError:
            version = "missing"
        import json

        from climb_vision_tasks import __version__

        return f"{DISTRIBUTION} {__version__} task={NAME} sklearn={version} options={json.dumps(self.options, sort_keys=True)}"

    def read_official(self, source: str) -> Official:
        images, labels = load_images()
        return Official(labels, array_maker(images, labels, "digit"))

    def split_indices(self, split: str) -> tuple[Official, Sequence[int]]:
        official = self.official("all")
        if self._carved is None:
            parts = split_per_class(official.targets)
            self._carved = (parts["train"], parts["val"], parts["test"])  # type: ignore[assignment]
        return official, self._carved[("train", "val", "test").index(split)]  # type: ignore[misc]
