"""How one example becomes ViLT's views: (text, text pair, image, image token type) tuples.

A view is one ViLT forward input. A two-image example (NLVR2) gives one view per image, the text
repeated, with image token types 1 and 2; a multiple-choice example gives one view per choice,
the text paired with the choice (a tokenizer text pair) and the example's image; anything else
gives one view. Language-only tasks get no image (a mean-colour image stands in, see
:mod:`climb_vilt.images`); vision-only tasks get CLiMB's dummy text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from climb_harness.api import Example, ImageLike, TaskInfo

#: The text CLiMB gives ViLT for vision-only tasks.
DUMMY_TEXT = "This is an image."


@dataclasses.dataclass(frozen=True)
class View:
    text: str
    pair: str | None
    image: ImageLike | None  # None: the mean-colour stand-in image
    image_token_type: int


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
        image = images[0] if images else None
        return [View(text, choice, image, 1) for choice in example.choices]
    if wanted >= 2:
        return [View(text, None, images[i], i + 1) for i in range(wanted)]
    return [View(text, None, images[0] if images else None, 1)]


def max_text_tokens(task: TaskInfo, max_position_embeddings: int) -> int:
    """Tokens kept per view: the task's limit, capped by ViLT's text position table."""
    limit = task.max_text_length or max_position_embeddings
    return max(1, min(int(limit), int(max_position_embeddings)))
