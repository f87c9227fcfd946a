"""The three question types of easy-VQA and each one's answer set (the label order of its head).

easy-VQA has 13 answers. A question's type follows from its answer alone: a shape name answers a
"what shape" question, a colour answers a "what colour" question, yes/no answers the rest. The
label lists are fixed here (not read from the data) because each head's size is declared in the
task manifest before any data is loaded.
"""

from __future__ import annotations

#: question type -> answers, in label-index order.
ANSWERS: dict[str, tuple[str, ...]] = {
    "shape": ("circle", "rectangle", "triangle"),
    "color": ("black", "blue", "brown", "gray", "green", "red", "teal", "yellow"),
    "yesno": ("no", "yes"),
}

#: question type -> registry name of its task, in the default task order.
TASK_NAMES: dict[str, str] = {
    "shape": "easyvqa-shape",
    "color": "easyvqa-color",
    "yesno": "easyvqa-yesno",
}

_TYPE_OF_ANSWER = {answer: qtype for qtype, answers in ANSWERS.items() for answer in answers}


def question_type(answer: str) -> str | None:
    """The question type an answer belongs to, or ``None`` for an answer outside easy-VQA's 13."""
    return _TYPE_OF_ANSWER.get(answer)


def label_index(question_type_: str, answer: str) -> int:
    """The head's class index of ``answer`` within its question type."""
    return ANSWERS[question_type_].index(answer)
