"""Hook module of climb-nlvr2: the manifest of the ``nlvr2`` task.

Cheap to import (no torch, no data access): ``climb list`` imports it; the data is read only when
the task's ``examples(split)`` is called.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, data_options, hookimpl, option_defaults, task

#: The head's labels in index order: ``Example.target`` indexes this tuple.
LABELS: tuple[str, ...] = ("False", "True")

#: The folder layout under the data folder, one line (``climb data check`` prints it).
LAYOUT = (
    "train.json, dev.json, test1.json (JSON lines: identifier, sentence, label, train also directory; or, as "
    "cloned from lil-lab/nlvr, in data/ or nlvr2/data/); "
    "images/train/<n>/<pair>-img0.png and -img1.png (n = 0..99); dev/<pair>-img{0,1}.png; "
    "test1/<pair>-img{0,1}.png, where <pair> is the identifier minus its last -N"
)

HOW_TO_GET = (
    "Annotations: clone https://github.com/lil-lab/nlvr into the data folder (its "
    "nlvr2/data/{train,dev,test1}.json are read where they are), or copy those three files into the data "
    "folder. Images: fill in the request form linked from nlvr2/README.md "
    "(https://lil.nlp.cornell.edu/nlvr/) "
    "to get the download links, then unzip train_img.zip (gives images/train/0..99/), dev_img.zip (dev/) and "
    "test1_img.zip (test1/) in the same folder. Point the task at it with the option data_dir, or put it at "
    "$CLIMB_DATA_ROOT/nlvr2."
)

#: The largest image decoded by default. NLVR2's images are web photographs as found; of the 16,082
#: image URLs of dev.json and test1.json, the 863 that carry their size name 3840 x 2400 (9.2 megapixels)
#: at most. 40 megapixels (an 8000 x 5000 photograph) leaves room and still stops a decompression bomb.
MAX_IMAGE_PIXELS = 40_000_000

OPTIONS_SCHEMA: dict[str, Any] = data_options(
    "Folder holding NLVR2 in its release layout (train.json, dev.json, test1.json, or a clone of "
    "lil-lab/nlvr with them in nlvr2/data/; images/train/<n>/, dev/, test1/); null = $CLIMB_DATA_ROOT/nlvr2.",
    max_train="Seeded, label-stratified sample of the train split (null = all 86,373) for short runs.",
    max_eval="Seeded, label-stratified sample of each of val (dev) and test (test1); null = all.",
    max_image_pixels=MAX_IMAGE_PIXELS,
)

DEFAULT_OPTIONS: dict[str, Any] = option_defaults(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = {
    "name": "nlvr2",
    "api_version": API_VERSION,
    "summary": "NLVR2: is a sentence true of a pair of photographs? (two images, binary, accuracy).",
    "description": (
        "Natural Language for Visual Reasoning for Real (Suhr et al. 2019): each example is a sentence and "
        "two images (left = -img0, right = -img1); the target is 0 for 'False' and 1 for 'True'. "
        "Splits: train = the release's train.json, val (model selection) = dev.json, test (every reported "
        "score) = test1.json, which the public release labels. CLiMB selected and reported on dev; here "
        "selection and report use different splits. The hidden test2 is not used."
    ),
    "modality": "vision-language",
    "images_per_example": 2,
    "max_text_length": 40,
    "head": {"type": "classification", "num_labels": len(LABELS)},
    "metric": "accuracy",
    "random_baseline": 50.0,
    "splits": ["train", "val", "test"],
    "defaults": {"epochs": 10, "lr": 1e-4, "batch_size": 64, "low_shot": ["2048/class"]},
    "data": {
        "source": "NLVR2, https://lil.nlp.cornell.edu/nlvr/ (annotations: https://github.com/lil-lab/nlvr, "
        "nlvr2/data): 107,292 sentence / image-pair examples; train 86,373, dev 6,982, test1 6,967.",
        "license": "Annotations: the licence of https://github.com/lil-lab/nlvr (CC BY 4.0; check its LICENSE file); images are web photographs under their owners' terms, "
        "distributed for research use through the request form.",
        "citation": "Alane Suhr, Stephanie Zhou, Ally Zhang, Iris Zhang, Huajun Bai and Yoav Artzi. A Corpus for "
        "Reasoning About Natural Language Grounded in Photographs. ACL 2019.",
        "how_to_get": HOW_TO_GET,
        "layout": LAYOUT,
    },
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_tasks() -> list[Component]:
    """The ``nlvr2`` task."""
    return [task(MANIFEST, "climb_nlvr2.tasks:Nlvr2Task")]
