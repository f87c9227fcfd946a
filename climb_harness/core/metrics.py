"""Continual-learning metrics as pure functions over a score matrix (no torch, no state).

Conventions (every score is on a 0-100 scale):

* ``A[i][j]``: score on task ``j`` after learning task ``i``. Row ``i`` is "after task ``i``". The
  harness evaluates every task after every task, future ones included, so ``A`` is ``T x T``.
  Entries above the diagonal (``j > i``) measure a task whose head has not been trained yet; only
  :func:`forward_transfer` reads them (the first super-diagonal).
* ``initial[j]``: score on task ``j`` before any training (the row "-1").
* ``random[j]``: score of random guessing on task ``j`` (the task manifest's ``random_baseline``).
* ``direct[j]``: score of direct (single-task) fine-tuning of the pretrained encoder on task ``j``;
  ``None`` where unknown.

Undefined values are ``None`` (never NaN, so results stay valid JSON): the three averages over
``T - 1`` tasks are ``None`` for ``T = 1``, and CLiMB's normalised ratios are ``None`` where their
denominator is zero or their reference score is missing. Matrices may be nested lists or numpy
arrays; they are read, never modified.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "average_accuracy",
    "average_max_forgetting",
    "backward_transfer",
    "compute_all",
    "forgetting",
    "forward_transfer",
    "knowledge_transfer",
    "mean_defined",
]

Matrix = Sequence[Sequence[float]]
Vector = Sequence[float]


# --------------------------------------------------------------------------- validation
def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        problem = f"{where} must be a number, got {value!r} ({type(value).__name__})."
        raise ValueError(problem)  # noqa: TRY004 - every bad input is a ValueError, as documented
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{where} is {out}; scores must be finite numbers (0-100).")
    return out


def _square(A: Matrix) -> list[list[float]]:
    """``A`` as a list of float rows; ValueError unless it is a non-empty T x T matrix of numbers."""
    try:
        rows = [list(row) for row in A]
    except TypeError as exc:
        raise ValueError(f"the score matrix must be a sequence of rows (a T x T matrix); got {A!r}.") from exc
    T = len(rows)
    if T == 0:
        raise ValueError("the score matrix is empty; it needs one row per learned task (T x T).")
    for i, row in enumerate(rows):
        if len(row) != T:
            raise ValueError(
                f"the score matrix is not square: it has {T} rows but row {i} has {len(row)} entries; "
                f"A[i][j] must hold the score on every task j after learning task i (T x T)."
            )
    return [[_number(x, f"A[{i}][{j}]") for j, x in enumerate(row)] for i, row in enumerate(rows)]


def _vector(values: Sequence[float | None], T: int, name: str, *, allow_none: bool = False) -> list[float | None]:
    try:
        items = list(values)
    except TypeError as exc:
        raise ValueError(f"{name} must be a sequence of {T} scores, one per task; got {values!r}.") from exc
    if len(items) != T:
        raise ValueError(
            f"{name} has {len(items)} entries but the score matrix has {T} tasks; give one score per task, "
            f"in task order."
        )
    return [None if (allow_none and x is None) else _number(x, f"{name}[{j}]") for j, x in enumerate(items)]


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else 100.0 * numerator / denominator


# --------------------------------------------------------------------------- averaged metrics
def average_accuracy(A: Matrix) -> float:
    """Average accuracy after the last task: ``1/T * sum_j A[T-1][j]``.

    Source: CL-Gym (Mirzadeh & Ghasemzadeh, 2021), eq. 1; also Lopez-Paz & Ranzato (2017), "ACC".
    """
    rows = _square(A)
    return sum(rows[-1]) / len(rows)


def average_max_forgetting(A: Matrix) -> float | None:
    """Average maximum forgetting: ``1/(T-1) * sum_{j<T-1} max_{l in j..T-2} (A[l][j] - A[T-1][j])``.

    Source: CL-Gym eq. 2 (after Chaudhry et al., 2018, "Riemannian Walk"). The maximum runs only over
    rows ``l >= j``, i.e. after task ``j`` was learned: before that its head is untrained, so those
    entries (which this harness does record) hold nothing that could be forgotten. A task's value
    can be negative when its final score beats every earlier one. ``None`` for ``T = 1``.
    """
    rows = _square(A)
    T = len(rows)
    if T == 1:
        return None
    last = rows[-1]
    return sum(max(rows[row][j] - last[j] for row in range(j, T - 1)) for j in range(T - 1)) / (T - 1)


def backward_transfer(A: Matrix) -> float | None:
    """Backward transfer: ``1/(T-1) * sum_{i<T-1} (A[T-1][i] - A[i][i])``; negative means forgetting.

    Source: Lopez-Paz & Ranzato (2017), "Gradient Episodic Memory for Continual Learning", "BWT".
    ``None`` for ``T = 1``.
    """
    rows = _square(A)
    T = len(rows)
    if T == 1:
        return None
    return sum(rows[-1][i] - rows[i][i] for i in range(T - 1)) / (T - 1)


def forward_transfer(A: Matrix, initial: Vector) -> float | None:
    """Forward transfer: ``1/(T-1) * sum_{i>=1} (A[i-1][i] - initial[i])``.

    Source: Lopez-Paz & Ranzato (2017), "FWT", where ``b_i`` is the score at random initialisation;
    here it is the model before any training (pretrained encoder, fresh heads). It reads the first
    super-diagonal, the score on task ``i`` just before learning it. ``None`` for ``T = 1``.
    """
    rows = _square(A)
    T = len(rows)
    base = _vector(initial, T, "initial")
    if T == 1:
        return None
    return sum(rows[i - 1][i] - float(base[i]) for i in range(1, T)) / (T - 1)  # type: ignore[arg-type, misc]


# --------------------------------------------------------------------------- CLiMB's normalised metrics
def knowledge_transfer(A: Matrix, direct: Sequence[float | None], random: Vector) -> list[float | None]:
    """CLiMB's upstream knowledge transfer of each task.

    ``KT[i] = 100 * (A[i][i] - direct[i]) / (direct[i] - random[i])``.
    Source: Srinivasan et al. (2022), "CLiMB", section 3: the score when the task is learned in the
    sequence, relative to direct fine-tuning, normalised by direct fine-tuning's gain over random.
    ``None`` where ``direct[i]`` is missing or equals ``random[i]`` (zero denominator).
    """
    rows = _square(A)
    T = len(rows)
    ref = _vector(direct, T, "direct", allow_none=True)
    rand = _vector(random, T, "random")
    return [
        None if ref[i] is None else _ratio(rows[i][i] - ref[i], ref[i] - rand[i])  # type: ignore[operator]
        for i in range(T)
    ]


def forgetting(A: Matrix, random: Vector) -> list[list[float | None]]:
    """CLiMB's normalised forgetting of task ``j`` after learning task ``i``, for ``j < i``.

    ``F[i][j] = 100 * (A[j][j] - A[i][j]) / (A[j][j] - random[j])``: the share of the gain over random
    guessing that task ``j`` had when it was learned (``S_CL(j) = A[j][j]``) which is lost after task
    ``i``. Source: Srinivasan et al. (2022), "CLiMB", section 3. Returns a ``T x T`` list of lists,
    ``None`` where undefined: ``j >= i`` (not yet a past task) and zero denominators (task ``j`` was
    learned to exactly the random score).
    """
    rows = _square(A)
    T = len(rows)
    rand = _vector(random, T, "random")
    return [
        [
            _ratio(rows[j][j] - rows[i][j], rows[j][j] - rand[j]) if j < i else None  # type: ignore[operator]
            for j in range(T)
        ]
        for i in range(T)
    ]


#: Why low-shot transfer is undefined when the pretrained reference does not beat random guessing.
LOW_SHOT_UNDEFINED = (
    "low-shot transfer is not defined: low-shot fine-tuning of the pretrained encoder scored {pretrained:.2f}, "
    "not above the random baseline {random:.2f}, so there is no gain over random to normalise by"
)


def low_shot_transfer(score: float, pretrained: float, random: float) -> float | None:
    """CLiMB's low-shot transfer of an upstream model to a task.

    ``LT = 100 * (S_up - S_pre) / (S_pre - S_rand)``: the low-shot score of the upstream checkpoint
    (``S_up``) relative to the same low-shot fine-tuning of the pretrained encoder (``S_pre``),
    normalised by the pretrained encoder's gain over random guessing. Positive: upstream continual
    learning helped; -100: it lost all of the pretrained encoder's gain. Source: Srinivasan et al.
    (2022), "CLiMB", section 3 (the same normalisation as knowledge transfer). ``None`` when
    ``S_pre <= S_rand`` (:data:`LOW_SHOT_UNDEFINED`).

    Example:
        >>> low_shot_transfer(60.0, 50.0, 10.0)
        25.0
        >>> low_shot_transfer(60.0, 10.0, 10.0) is None
        True
    """
    return None if pretrained - random <= 0 else 100.0 * (score - pretrained) / (pretrained - random)


def mean_defined(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not ``None``; ``None`` when there are none."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


# --------------------------------------------------------------------------- everything, as JSON
def _by_task(values: Any, tasks: Sequence[str], name: str) -> Any:
    """Accept a per-task mapping (as stored in results.json) or a sequence in task order."""
    if not isinstance(values, Mapping):
        return values
    missing = [t for t in tasks if t not in values]
    if missing:
        raise ValueError(f"{name} has no entry for task(s) {missing}; give one per task ({list(tasks)}).")
    return [values[t] for t in tasks]


#: Why FWT is not reported: every task has its own head, untrained until the task is learned.
FWT_UNDEFINED = (
    "FWT is not reported: each task has its own head, which is untrained until the task is learned, so "
    "A[i-1][i] scores task i through a random head and measures no transfer (it is exactly the initial "
    "score for a frozen encoder)."
)


def _clearly_above(interval: Sequence[float] | None, baseline: float) -> bool | None:
    """Whether a score's interval lies wholly above ``baseline`` (``None``: no interval known)."""
    if interval is None:
        return None
    return float(interval[0]) > baseline


def _interval_text(interval: Sequence[float], level: float) -> str:
    return f"{100 * level:g}% CI [{float(interval[0]):.2f}, {float(interval[1]):.2f}]"


def _defined_knowledge_transfer(rows: list[list[float]], names: list[str], direct: Sequence[Any],
                                intervals: Sequence[Any], random: list[float], level: float,
                                undefined: dict[str, str]) -> list[float | None]:
    """:func:`knowledge_transfer`, ``None`` (with the reason in ``undefined``) where the reference is missing or
    its gain over random is not clearly above zero."""
    kt = knowledge_transfer(rows, direct, random)
    for i, name in enumerate(names):
        if direct[i] is None:
            undefined[f"knowledge_transfer.{name}"] = "no direct fine-tuning reference score for this task."
        elif _clearly_above(intervals[i], random[i]) is False:
            kt[i] = None
            undefined[f"knowledge_transfer.{name}"] = (
                f"direct fine-tuning ({float(direct[i]):.2f}, {_interval_text(intervals[i], level)}) is not "
                f"clearly above the random baseline {random[i]:.2f}, so the denominator is noise."
            )
        elif float(direct[i]) <= random[i]:
            kt[i] = None
            undefined[f"knowledge_transfer.{name}"] = (
                f"direct fine-tuning ({float(direct[i]):.2f}) is not above the random baseline {random[i]:.2f}."
            )
    return kt


def _defined_forgetting(rows: list[list[float]], names: list[str], random: list[float], ci: Any, level: float,
                        undefined: dict[str, str]) -> list[list[float | None]]:
    """:func:`forgetting`, ``None`` (with the reason) where the task was not learned clearly above random."""
    T = len(rows)
    forget = forgetting(rows, random)
    for j, name in enumerate(names[:-1]):
        above = None if ci is None else _clearly_above(ci[j][j], random[j])
        for i in range(j + 1, T):
            key = f"forgetting.after:{names[i]}.{name}"
            if above is False:
                forget[i][j] = None
                undefined[key] = (
                    f"{name} was learned to {rows[j][j]:.2f} ({_interval_text(ci[j][j], level)}), not clearly above "
                    f"its random baseline {random[j]:.2f}: there was no gain to forget."
                )
            elif rows[j][j] <= random[j]:
                forget[i][j] = None
                undefined[key] = (f"{name} was learned to {rows[j][j]:.2f}, not above its random baseline "
                                  f"{random[j]:.2f}: there was no gain to forget.")
    return forget


def compute_all(
    A: Matrix,
    initial: Vector | Mapping[str, float] | None,
    random: Vector | Mapping[str, float],
    direct: Sequence[float | None] | Mapping[str, float | None] | None,
    tasks: Sequence[str] | None = None,
    *,
    ci: Sequence[Sequence[Sequence[float]]] | None = None,
    direct_ci: Sequence[Sequence[float] | None] | Mapping[str, Sequence[float] | None] | None = None,
    level: float = 0.95,
    per_task_heads: bool = True,
) -> dict[str, Any]:
    """Every metric of a finished run, as a JSON-serialisable dict (the ``metrics`` of results.json).

    ``initial``, ``random`` and ``direct`` are sequences in task order or mappings keyed by task
    name; ``direct=None`` leaves knowledge transfer undefined. ``tasks`` names the tasks (default
    ``"0"``, ``"1"``, ...). ``ci`` (the ``T x T`` matrix of ``[low, high]`` intervals of ``A``) and
    ``direct_ci`` (an interval per direct score) make CLiMB's normalised ratios ``None`` where their
    denominator is not clearly above zero: the random baseline lies inside (or above) the interval of
    the score it is subtracted from, so the ratio would divide by noise. Keys:

    * ``average_accuracy``, ``average_max_forgetting``, ``bwt``, ``fwt``: numbers or ``None``
      (``fwt`` is ``None`` with ``per_task_heads``, see :data:`FWT_UNDEFINED`);
    * ``forgetting``: ``{"after:<task i>": {"<task j>": value}}`` for every ``j < i``;
    * ``knowledge_transfer``: ``{"<task>": value or None}``; ``mean_knowledge_transfer``: the mean of
      the defined values of tasks ``1..T-1`` (task 0 is learned first, from the same weights as its
      direct reference, so any fine-tuning method scores a built-in 0 there);
    * ``undefined``: ``{"<metric>[.<task>...]": reason}`` for every ``None`` above.
    """
    rows = _square(A)
    T = len(rows)
    names = [str(j) for j in range(T)] if tasks is None else list(tasks)
    if len(names) != T:
        raise ValueError(
            f"tasks names {len(names)} tasks but the score matrix has {T}; give one name per row."
        )
    if len(set(names)) != T:
        raise ValueError(f"task names must be unique; got {names}.")
    random_list = [float(x) for x in _vector(_by_task(random, names, "random"), T, "random")]  # type: ignore[arg-type]
    direct_list = [None] * T if direct is None else _by_task(direct, names, "direct")
    direct_intervals = [None] * T if direct_ci is None else list(_by_task(direct_ci, names, "direct_ci"))
    undefined: dict[str, str] = {}

    kt = _defined_knowledge_transfer(rows, names, direct_list, direct_intervals, random_list, level, undefined)
    forget = _defined_forgetting(rows, names, random_list, ci, level, undefined)

    later = kt[1:]
    mean_kt = mean_defined(later)
    if mean_kt is None:
        undefined["mean_knowledge_transfer"] = (
            "needs at least two tasks (task 0 is excluded: it starts from the direct reference's own weights)."
            if T == 1 else "knowledge transfer is undefined for every task after the first."
        )
    if per_task_heads:
        fwt = None
        undefined["fwt"] = FWT_UNDEFINED
    else:
        fwt = None if initial is None else forward_transfer(rows, _by_task(initial, names, "initial"))
    result = {
        "average_accuracy": average_accuracy(rows),
        "average_max_forgetting": average_max_forgetting(rows),
        "bwt": backward_transfer(rows),
        "fwt": fwt,
        "forgetting": {f"after:{names[i]}": {names[j]: forget[i][j] for j in range(i)} for i in range(1, T)},
        "knowledge_transfer": dict(zip(names, kt)),
        "mean_knowledge_transfer": mean_kt,
        "undefined": undefined,
    }
    for key in ("average_max_forgetting", "bwt"):
        if result[key] is None:
            undefined[key] = "needs at least two tasks."
    if fwt is None and "fwt" not in undefined:
        undefined["fwt"] = "needs at least two tasks and the scores before training."
    return result
