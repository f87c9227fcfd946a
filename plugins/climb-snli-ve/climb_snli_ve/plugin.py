"""Hook module of climb-snli-ve: the manifest of the ``snli-ve`` task.

Cheap to import (no torch, no data access): ``climb list`` imports it. The data is read only when
the task's ``examples(split)`` is called.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, data_options, hookimpl, option_defaults, task

#: gold_label -> class index (CLiMB's order).
LABELS: dict[str, int] = {"entailment": 0, "contradiction": 1, "neutral": 2}

#: One line: what the task expects under its data folder (``climb data check`` prints it).
LAYOUT = (
    "<data_dir>/snli_ve_{train,dev,test}.jsonl (JSON lines with Flickr30K_ID, sentence2, gold_label) and "
    "<images_dir>/<Flickr30K_ID>.jpg (images_dir default <data_dir>/flickr30k_images, or "
    "<data_dir>/flickr30k-images as the official archive unpacks)"
)

#: The largest image decoded by default: Flickr30k's images are at most 500 pixels on their longer side
#: (250,000 pixels at most); 4 megapixels leaves room for a re-encoded copy and stops a decompression bomb.
MAX_IMAGE_PIXELS = 4_000_000

OPTIONS_SCHEMA: dict[str, Any] = data_options(
    "Folder holding snli_ve_train.jsonl, snli_ve_dev.jsonl and snli_ve_test.jsonl as the SNLI-VE release "
    "ships them; null = $CLIMB_DATA_ROOT/snli-ve.",
    max_train="Seeded, label-stratified sample of the train split (null = all 529,527) for short runs.",
    max_eval="Seeded, label-stratified sample of each of val (dev) and test (null = all).",
    max_image_pixels=MAX_IMAGE_PIXELS,
    extra={
        "images_dir": {
            "type": ["string", "null"],
            "default": None,
            "description": "Folder of the Flickr30k images, one <Flickr30K_ID>.jpg per image (flat); null = "
            "<data_dir>/flickr30k_images, or <data_dir>/flickr30k-images (the folder the official Flickr30k "
            "archive unpacks to) when only that exists.",
        },
    },
)

DEFAULT_OPTIONS: dict[str, Any] = option_defaults(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = {
    "name": "snli-ve",
    "api_version": API_VERSION,
    "summary": "SNLI-VE visual entailment: does a Flickr30k image (premise) entail, contradict or leave "
    "neutral a sentence (hypothesis)?",
    "description": (
        "One image and the hypothesis text (SNLI's sentence2; the premise caption sentence1 is not given, "
        "the image is the premise). Labels, in head order: entailment 0, contradiction 1, neutral 2. Splits: "
        "train = snli_ve_train.jsonl, val (model selection) = snli_ve_dev.jsonl, test (reported) = "
        "snli_ve_test.jsonl; the release's three splits are labelled and disjoint by image, so nothing is "
        "carved out. A record with a gold_label outside the three (e.g. SNLI's '-') is refused with a "
        "ValueError naming the file and line: the official release has none."
    ),
    "modality": "vision-language",
    "images_per_example": 1,
    "max_text_length": 40,
    "head": {"type": "classification", "num_labels": len(LABELS)},
    "metric": "accuracy",
    "random_baseline": 33.33,
    "splits": ["train", "val", "test"],
    "defaults": {"epochs": 5, "lr": 5e-5, "batch_size": 64, "low_shot": ["2048/class"]},
    "data": {
        "source": "SNLI-VE (Xie, Lai, Doran & Kadav 2019), https://github.com/necla-ml/SNLI-VE, built from SNLI 1.0 "
        "and the Flickr30k images: 529,527 / 17,858 / 17,901 train / dev / test pairs over 29,783 / 1,000 / 1,000 images.",
        "license": "SNLI-VE annotations: as SNLI (CC BY-SA 4.0); Flickr30k images: Flickr30k terms of use "
        "(non-commercial research only).",
        "citation": "Xie, N., Lai, F., Doran, D., & Kadav, A. (2019). Visual Entailment: A Novel Task for "
        "Fine-Grained Image Understanding. arXiv:1901.06706.",
        "how_to_get": "Download snli_ve_train.jsonl, snli_ve_dev.jsonl and snli_ve_test.jsonl from the links in "
        "https://github.com/necla-ml/SNLI-VE (or generate them with its snli_ve_generator.py from SNLI 1.0) into "
        "the data folder; get the Flickr30k images (request form at "
        "https://shannon.cs.illinois.edu/DenotationGraph/, flickr30k-images.tar.gz) and unpack them into "
        "<data_dir>/flickr30k_images (or set the option images_dir).",
        "layout": LAYOUT,
    },
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_tasks() -> list[Component]:
    """The ``snli-ve`` task."""
    return [task(MANIFEST, "climb_snli_ve.tasks:SnliVeTask")]
