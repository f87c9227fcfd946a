"""The task checks: each split loads, every example matches the manifest, images open.

Missing data (``FileNotFoundError`` from the factory or from ``examples()``) is *skipped*, not
failed: a task whose data must be downloaded still passes ``climb check`` before the download.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from climb_harness.testing.conformance._report import describe, fail, skip
from climb_harness.testing.conformance._subject import Check, Subject
from climb_harness.testing.conformance.common import built, common_checks, is_int

#: Examples per split whose contents are checked (a lazy data set may be large).
MAX_EXAMPLES_CHECKED = 5000
#: Images opened per split (opening is the slow part).
IMAGES_OPENED = 4


def checks(entry: Any, options: Mapping[str, Any] | None = None) -> list[Check]:
    """Every check of a task, in order: the common ones, one per split, the fingerprint.

    Args:
        entry: The task's registry entry (its manifest lists the splits: train, val, maybe test).
        options: The options it is built with (None: its defaults).

    Returns:
        The checks; ``examples-<split>`` ids name the splits.
    """
    splits = ["train", "val"] + (["test"] if "test" in entry.manifest.get("splits", []) else [])
    return [
        *common_checks(options),
        *(Check(f"examples-{s}", f"examples('{s}') load", _examples_check(s)) for s in splits),
        Check("fingerprint", "fingerprint", _fingerprint),
    ]


def _examples_check(split: str) -> Any:
    def run(subject: Subject) -> str:
        from climb_harness.api import TaskInfo

        task = built(subject)
        try:
            examples = task.examples(split)
        except FileNotFoundError as exc:
            skip(f"data not available: {exc}")
        return check_examples(examples, TaskInfo.from_manifest(subject.entry.manifest), split)

    return run


def _fingerprint(subject: Subject) -> None:
    fingerprint = built(subject).fingerprint()
    if not isinstance(fingerprint, str):
        fail(f"fingerprint() returned a {type(fingerprint).__name__}; return a str that changes when the "
             "data does")


def check_examples(examples: Any, info: Any, split: str) -> str:
    """Check a split's (first :data:`MAX_EXAMPLES_CHECKED`) examples against the task's manifest.

    Args:
        examples: What ``task.examples(split)`` returned.
        info: The task's :class:`climb_harness.api.TaskInfo`.
        split: The split's name, for messages.

    Returns:
        A summary such as ``"train: 36 examples, 4 image(s) opened"``.

    Raises:
        Failed: Naming the first few examples that contradict the manifest, or an image that does not open.
    """
    from climb_harness.api import Example, load_image

    try:
        total = len(examples)
    except TypeError:
        fail(f"examples('{split}') returned a {type(examples).__name__}, not a sequence (it has no len())")
    if total == 0:
        fail(f"examples('{split}') is empty; the runner cannot train or evaluate on an empty split")
    count = min(total, MAX_EXAMPLES_CHECKED)
    problems: list[str] = []
    bad = 0
    for index in range(count):
        example = examples[index]
        found = (
            example_problems(example, info)
            if isinstance(example, Example)
            else [f"is a {type(example).__name__}, not a climb_harness.api.Example"]
        )
        if found:
            bad += 1
            if len(problems) < 3:
                label = f"example {index}" + (f" (id {example.id!r})" if getattr(example, "id", None) else "")
                problems.append(f"{label} " + "; ".join(found))
    if bad:
        noun = "choices" if info.head.type == "multiple-choice" else "labels"
        fail(
            f"{bad} of {count} {split} examples do not match the manifest (head {info.head.type} with "
            f"{info.head.num_labels} {noun}, {info.images_per_example} image(s), modality {info.modality}): "
            + "; ".join(problems)
        )
    shared = _ungrouped_shared_images([examples[i] for i in range(count)])
    if shared:
        fail(f"{split} examples {shared} show the same image but not the same Example.group; their scores are not "
             "independent, so give every example its image (or image pair) as group (intervals resample whole groups)")
    opened = 0
    for example in (examples[i] for i in range(count)):
        for image in example.images:
            if opened >= IMAGES_OPENED:
                break
            try:
                load_image(image)
            except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
                fail(f"{split} example {example.id or ''!s} image {image!r:.80} cannot be opened: "
                     f"{describe(exc)}")
            opened += 1
        if opened >= IMAGES_OPENED:
            break
    checked = f"{total} examples" if count == total else f"first {count} of {total} examples checked"
    return f"{split}: {checked}" + (f", {opened} image(s) opened" if opened else "")


def _ungrouped_shared_images(examples: list[Any]) -> str | None:
    """Two examples naming the same image file with different (or no) groups, described; None if none do."""
    first: dict[str, Any] = {}
    for example in examples:
        for image in example.images:
            if not isinstance(image, str):
                continue
            other = first.setdefault(str(image), example)
            if other is not example and (example.group is None or example.group != other.group):
                return f"{other.id or '?'!s:.40} and {example.id or '?'!s:.40} (image {str(image)[-60:]})"
    return None


def example_problems(example: Any, info: Any) -> list[str]:
    """What is wrong with one example for this task (empty when nothing is).

    Args:
        example: A :class:`climb_harness.api.Example`.
        info: The task's :class:`climb_harness.api.TaskInfo`.

    Returns:
        One phrase per problem, e.g. ``"has target 3, outside the head's 0..2"``.
    """
    found = _target_problems(example.target, info.head.type, info.head.num_labels)
    if len(example.images) != info.images_per_example:
        found.append(f"has {len(example.images)} image(s), the manifest says "
                     f"images_per_example={info.images_per_example}")
    if info.head.type == "multiple-choice" and len(example.choices) != info.head.num_labels:
        found.append(f"has {len(example.choices)} choice(s), the manifest says "
                     f"num_choices={info.head.num_labels}")
    if info.modality != "vision" and not (isinstance(example.text, str) and example.text.strip()):
        found.append(f"has no text (text={example.text!r:.40}) in a {info.modality} task")
    return found


def _target_problems(target: Any, kind: str, labels: int) -> list[str]:
    if kind in ("classification", "multiple-choice"):
        if not is_int(target):
            return [f"has target {target!r:.60}, not a class index (int)"]
        if not 0 <= int(target) < labels:
            return [f"has target {target}, outside the head's 0..{labels - 1}"]
        return []
    if kind == "soft-score":
        if not isinstance(target, Mapping):
            return [f"has target {target!r:.60}, not a {{label index: score}} dict (soft-score head)"]
        for label, score in target.items():
            if not is_int(label) or not 0 <= int(label) < labels:
                return [f"has soft-score label {label!r}, not an int in 0..{labels - 1}"]
            is_number = isinstance(score, (int, float)) and not isinstance(score, bool)
            if not is_number or not 0.0 <= float(score) <= 1.0:
                return [f"has score {score!r} for label {label}, not a number in [0, 1]"]
        return []
    if isinstance(target, (str, bytes, Mapping)) or not isinstance(target, Sequence):  # multi-label
        return [f"has target {target!r:.60}, not a list of label indices (multi-label head)"]
    if any(not is_int(t) or not 0 <= int(t) < labels for t in target):
        return [f"has labels {list(target)!r:.60}, not all ints in 0..{labels - 1}"]
    return []
