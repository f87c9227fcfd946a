"""How one example becomes the encoder's views: (text, text pair, image, image index) tuples.

A view is one pass through the fused layers. A two-image example (NLVR2) gives one view per image,
the text repeated, with image indices 0 and 1 (a learned embedding tells them apart); a
multiple-choice example gives one view per choice, the text paired with the choice (a tokenizer
text pair) and the example's image; anything else gives one view. Language-only tasks have no
image (the view has no image tokens); vision-only tasks get CLiMB's dummy text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from climb_harness.api import Example, ImageLike, TaskInfo

#: The text CLiMB gives its encoders for vision-only tasks.
DUMMY_TEXT = "This is an image."


@dataclasses.dataclass(frozen=True)
class View:
    text: str
    pair: str | None
    image: ImageLike | None  # None: no image tokens (language-only tasks)
    image_index: int  # which image of the example: 0 or 1


def example_views(example: Example, task: TaskInfo) -> list[View]:
    """The ``task.num_views`` views of one example (see the module docstring)."""
    text = example.text if example.text is not None else ""
    if task.modality == "vision" and not text:
        text = DUMMY_TEXT
    images: Sequence[ImageLike] = () if task.modality == "language" else tuple(example.images)
    wanted = task.images_per_example if task.modality != "language" else 0
    if len(images) < wanted:
        raise ValueError(
            f"task {task.name!r} declares {wanted} image(s) per example but example "
            f"{example.id or '<no id>'} has {len(images)}; fix the task's examples or its manifest's "
            "images_per_example."
        )
    if task.head.type == "multiple-choice":
        if len(example.choices) != task.num_views:
            raise ValueError(
                f"task {task.name!r} declares {task.num_views} choices but example "
                f"{example.id or '<no id>'} has {len(example.choices)}; every multiple-choice example "
                "must have exactly head.num_choices choices."
            )
        image = images[0] if wanted else None
        return [View(text, choice, image, 0) for choice in example.choices]
    if wanted >= 2:
        return [View(text, None, images[i], i) for i in range(wanted)]
    return [View(text, None, images[0] if wanted else None, 0)]


def text_limit(task: TaskInfo, cap: int) -> int:
    """Tokens kept per view: the task's limit, capped by the encoder's ``max_text_length``."""
    limit = task.max_text_length or cap
    return max(4, min(int(limit), int(cap)))
