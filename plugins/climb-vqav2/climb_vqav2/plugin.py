"""Hook module of climb-vqav2: the manifest of the ``vqav2`` task.

Cheap to import (no torch, no data access): the data is read only in ``examples(split)``.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, data_options, hookimpl, option_defaults, task

#: CLiMB's answer-vocabulary size (normalised multiple_choice_answer seen >= 9 times in train+val).
NUM_ANSWERS = 3129

#: The largest image decoded by default: COCO 2014 images are at most 640 pixels on their longer side
#: (409,600 pixels at most); ten times that leaves room for a re-encoded copy and stops a decompression bomb.
MAX_IMAGE_PIXELS = 4_000_000

OPTIONS_SCHEMA: dict[str, Any] = data_options(
    "Folder holding the VQAv2 release as unzipped (v2_OpenEnded_mscoco_{train,val}2014_questions.json, "
    "v2_mscoco_{train,val}2014_annotations.json, train2014/, val2014/); null = $CLIMB_DATA_ROOT/vqav2.",
    max_train="Seeded random sample of the train split, kept in file order (null = all), for laptops.",
    max_eval="Seeded random sample of each of val and test, kept in file order (null = all).",
    max_image_pixels=MAX_IMAGE_PIXELS,
    val_fraction=0.05,
    val_fraction_description="Share of the train2014 images (seed 2022, by image) whose questions form the "
    "val (selection) split; the rest is train.",
    extra={
        "min_answer_count": {
            "type": "integer",
            "minimum": 1,
            "default": 9,
            "description": "An answer enters the vocabulary when its normalised multiple_choice_answer occurs at least "
            "this often over the train2014 and val2014 annotations (CLiMB: 9, giving 3,129 answers).",
        },
        "num_answers": {
            "type": "integer",
            "minimum": 1,
            "default": NUM_ANSWERS,
            "description": "Outputs of the soft-score head; the vocabulary (by count, then string) is truncated to it, "
            "or leaves the extra outputs unused when shorter. CLiMB: 3129.",
        },
        "drop_unanswerable_train": {
            "type": "boolean",
            "default": True,
            "description": "Leave out of train the questions none of whose annotator answers is in the vocabulary "
            "(all-zero targets), as ViLT/CLiMB do; val and test keep them (they score 0).",
        },
    },
)

DEFAULT_OPTIONS: dict[str, Any] = option_defaults(OPTIONS_SCHEMA)

_LAYOUT = (
    "v2_OpenEnded_mscoco_{train,val}2014_questions.json + v2_mscoco_{train,val}2014_annotations.json + "
    "train2014/COCO_train2014_<image_id:012d>.jpg + val2014/COCO_val2014_<image_id:012d>.jpg"
)

MANIFEST: dict[str, Any] = {
    "name": "vqav2",
    "api_version": API_VERSION,
    "summary": "VQAv2 open-ended questions about COCO images: soft scores over 3,129 answers, VQA score (CLiMB's upstream vqa task).",
    "description": (
        "Splits: train = train2014 questions minus a seeded 5% of the train2014 images (option val_fraction, seed "
        "2022), which form val (model selection); test = the official val2014 (every reported number). VQAv2's "
        "test-dev/test-std answers are hidden, so CLiMB selected and reported on val2014 alone; here selection and "
        "reporting use different splits. Answers are normalised as the official VQA evaluation does (vqaEval.py); "
        "the vocabulary is the normalised multiple_choice_answer strings seen >= min_answer_count (9) times over "
        "the train2014+val2014 annotations, ordered by count then string (3,129 on the real data), truncated or "
        "padded to num_answers outputs, cached under the harness cache (vqav2/) keyed by the annotation files' "
        "sha256. Soft target of an answer given by n of the 10 annotators: 0.3, 0.6, 0.9, 1.0 for n = 1, 2, 3, "
        ">= 4 (CLiMB's rounding of min(1, n/3)); score = target score of the arg-max answer, x 100."
    ),
    "modality": "vision-language",
    "images_per_example": 1,
    "max_text_length": 40,
    "head": {"type": "soft-score", "num_labels": NUM_ANSWERS},
    "metric": "vqa-score",
    "random_baseline": 0,
    "splits": ["train", "val", "test"],
    "defaults": {"epochs": 10, "lr": 1e-4, "batch_size": 64, "low_shot": ["5%"]},
    "data": {
        "source": "VQAv2 (Goyal et al. 2017), https://visualqa.org: 443,757 train2014 and 214,354 val2014 questions "
        "on MS-COCO 2014 images, 10 answers each.",
        "license": "Annotations CC BY 4.0 (VQA); images under the COCO terms of use (Flickr licences per image).",
        "citation": "Goyal, Khot, Summers-Stay, Batra & Parikh (2017), Making the V in VQA Matter: Elevating the Role "
        "of Image Understanding in Visual Question Answering, CVPR 2017.",
        "how_to_get": "From https://visualqa.org/download.html the VQAv2 Training and Validation questions and "
        "annotations zips, from https://cocodataset.org/#download the 2014 Train and Val images zips; unzip all "
        "into one folder and set data_dir to it (or CLIMB_DATA_ROOT to its parent, the folder named vqav2).",
        "layout": _LAYOUT,
    },
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_tasks() -> list[Component]:
    """The ``vqav2`` task."""
    return [task(MANIFEST, "climb_vqav2.tasks:Vqav2Task")]
