"""Hook module of climb-vcr: the manifest of the ``vcr`` task (VCR Q->A).

Cheap to import (no torch, no data access): ``climb list`` imports it; the data is read only when
the task's ``examples(split)`` is called.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, data_options, hookimpl, option_defaults, task

#: The layout under the data folder, one line (``climb data check`` prints it).
LAYOUT = (
    "train.jsonl and val.jsonl (VCR 1.0 JSON lines, vcr1annots.zip unpacked; test.jsonl, unlabelled, is not "
    "read; or the three in annotation/, as CLiMB arranged them) beside vcr1images/<img_fn>, e.g. "
    "vcr1images/lsmdc_3001_21_JUMP_STREET/3001_21_JUMP_STREET_00.00.00.000-00.00.04.000@0.jpg"
)

HOW_TO_GET = (
    "Accept the VCR terms at https://visualcommonsense.com/download/ and download vcr1annots.zip and "
    "vcr1images.zip. Unzip vcr1annots.zip into DATA (train.jsonl, val.jsonl, test.jsonl; DATA/annotation/, "
    "CLiMB's place for them, works too) and vcr1images.zip into DATA (it makes "
    "DATA/vcr1images/<movie>/<frame>.jpg; "
    "vcr1images may be a link to the images kept elsewhere). DATA is the task "
    "option data_dir, or $CLIMB_DATA_ROOT/vcr when data_dir is null."
)

#: The largest image decoded by default. VCR's images are frames of films (LSMDC) and of their clips
#: (MovieClips), at most HD (1920 x 1080, 2.1 megapixels); 16 megapixels covers a 4K frame twice over
#: and still stops a decompression bomb.
MAX_IMAGE_PIXELS = 16_000_000

OPTIONS_SCHEMA: dict[str, Any] = data_options(
    "Folder in VCR 1.0's layout: vcr1annots.zip unpacked ({train,val}.jsonl) beside vcr1images/<img_fn>, or "
    "the jsonl files in annotation/ as CLiMB arranged them; null = $CLIMB_DATA_ROOT/vcr.",
    max_train="Seeded sample of the train split keeping each answer_label's share (null = all), "
    "for short runs on a laptop.",
    max_eval="Seeded, answer_label-stratified sample of each of val and test (null = all).",
    max_image_pixels=MAX_IMAGE_PIXELS,
    val_fraction=0.1,
    val_fraction_description="Share of the movies of VCR's train.jsonl held out as the val (selection) split "
    "(by movie folder of img_fn, seed 2022), so no movie is in both train and val.",
    extra={
        "distinguish_repeated_objects": {
            "type": "boolean",
            "default": False,
            "description": "false (CLiMB): every non-person object is 'the gray {class}'; true: a class that "
            "occurs more than once in the image is numbered by its order among that class ('the gray chair 2').",
        },
    },
)

DEFAULT_OPTIONS: dict[str, Any] = option_defaults(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = {
    "name": "vcr",
    "api_version": API_VERSION,
    "summary": "VCR Q->A: pick the right one of 4 answers to a commonsense question about a movie still.",
    "description": (
        "Visual Commonsense Reasoning, question answering (Q->A) as in CLiMB. The question and the 4 answer "
        "choices are token lists whose object references (lists of indices into the record's objects) are "
        "rendered as text: a person is a gender-neutral name chosen by the object's index (CLiMB's list of 50 "
        "names, cycled), any other object 'the gray {class}'; every object of a multi-object reference is kept "
        "('Casey and Riley', 'Casey, Riley and Jessie'), unlike CLiMB, which kept only the last. Example text "
        "is the question, choices the 4 answers (the encoder pairs each with the question and the image). "
        "Splits: VCR's test.jsonl has no labels, so train = VCR train minus a seeded 10% of its movies, "
        "val (selection) = those held-out movies, test (report) = VCR's val.jsonl. Images are the official "
        "frames without boxes drawn (CLiMB drew the object boxes in)."
    ),
    "modality": "vision-language",
    "images_per_example": 1,
    "max_text_length": 40,
    "head": {"type": "multiple-choice", "num_choices": 4},
    "metric": "accuracy",
    "random_baseline": 25.0,
    "splits": ["train", "val", "test"],
    "defaults": {"epochs": 10, "lr": 1e-4, "batch_size": 16, "low_shot": ["5%"]},
    "data": {
        "source": "VCR 1.0, https://visualcommonsense.com: 290k multiple-choice questions (Q->A, QA->R) on "
        "110k movie stills from LSMDC and MovieClips; Q->A uses question, answer_choices and answer_label.",
        "license": "VCR's terms of use (research, non-commercial; accepted at download); the images come "
        "from LSMDC and MovieClips under their own terms.",
        "citation": "Zellers, Bisk, Farhadi & Choi (2019), From Recognition to Cognition: Visual Commonsense "
        "Reasoning, CVPR 2019, arXiv:1811.10830.",
        "how_to_get": HOW_TO_GET,
        "layout": LAYOUT,
    },
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_tasks() -> list[Component]:
    """The ``vcr`` task."""
    return [task(MANIFEST, "climb_vcr.tasks:VcrTask")]
