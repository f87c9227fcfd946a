"""A leaderboard of methods: mean ± std over seeds of each metric, a rank per metric, and an overall
rank by Borda count.

:func:`leaderboard` turns results dicts into rows (plain dicts, JSON-serialisable);
:func:`leaderboard_markdown` formats them. Pure Python over :func:`climb_harness.report.aggregate`,
no plotting, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from climb_harness.report import aggregate, did_not_learn

__all__ = ["LEADERBOARD_METRICS", "MEMORY_OPTIONS", "QUALITY_METRICS", "leaderboard", "leaderboard_markdown",
           "memory_budget", "ranks"]

#: Ranked columns: key (as in :func:`climb_harness.report.aggregate`) -> (title, higher is better).
LEADERBOARD_METRICS: dict[str, tuple[str, bool]] = {
    "average_accuracy": ("avg acc", True),
    "average_max_forgetting": ("AMF", False),
    "bwt": ("BWT", True),
    "mean_knowledge_transfer": ("mean KT", True),
    "wall_time_s": ("wall time (s)", False),
}
#: The metrics the overall (Borda) rank counts: quality only (a method is not better for being fast),
#: and one per question (accuracy, forgetting, transfer): BWT is shown and ranked but not counted, since
#: with per-task heads it measures forgetting again (-AMF whenever a task's best score is where it was
#: learned) and counting both would weigh forgetting twice.
QUALITY_METRICS: tuple[str, ...] = ("average_accuracy", "average_max_forgetting", "mean_knowledge_transfer")

#: Replay-memory options of the algorithm config, in the order they take effect -> how to show the value.
#: ``memory_size`` (a total over the sequence) overrides the per-task sizes in every replay plugin.
MEMORY_OPTIONS: dict[str, str] = {
    "memory_size": "{:g}",
    "memories_per_task": "{:g}/task",
    "n_memories": "{:g}/task",
    "memory_percentage": "{:.3g}% of each task",
}

_MISSING = "—"
_DAGGER = " †"


# --------------------------------------------------------------------------- pieces
def ranks(values: Sequence[float | None], higher_is_better: bool) -> list[float]:
    """Rank each value, 1 = best; ties share the average of the ranks they span.

    ``None`` (undefined) ranks after every defined value, tied with the other ``None``.

    Example:
        >>> ranks([3.0, 1.0, 3.0, None], higher_is_better=True)
        [1.5, 3.0, 1.5, 4.0]
    """
    def key(index: int) -> tuple[int, float]:
        value = values[index]
        if value is None:
            return (1, 0.0)
        return (0, -value if higher_is_better else value)

    order = sorted(range(len(values)), key=key)
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and key(order[end + 1]) == key(order[start]):
            end += 1
        for index in order[start: end + 1]:
            out[index] = (start + end) / 2 + 1
        start = end + 1
    return out


def _beats(a: float | None, b: float | None, higher_is_better: bool) -> bool:
    """Whether ``a`` is strictly better than ``b`` (a defined value beats an undefined one)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b if higher_is_better else a < b


def _borda(means: Mapping[str, Mapping[str, float | None]]) -> dict[str, int]:
    """Per method: the number of (metric, other method) pairs it strictly beats, over the quality metrics."""
    scores = dict.fromkeys(means, 0)
    for key in QUALITY_METRICS:
        higher = LEADERBOARD_METRICS[key][1]
        for name in means:
            scores[name] += sum(_beats(means[name][key], means[other][key], higher) for other in means if other != name)
    return scores


def memory_budget(results: Mapping[str, Any]) -> str | None:
    """The replay memory budget that a run's config sets, as text (``"1000"``, ``"250/task"``), or ``None``.

    Reads ``algorithm_options`` (the options as the algorithm ran, defaults filled in; results files
    before it existed: ``config.algorithm.options``, the options the config gave) for
    :data:`MEMORY_OPTIONS`, the first one set (not null) winning.
    """
    algorithm = (results.get("config") or {}).get("algorithm")
    given = (algorithm.get("options") or {}) if isinstance(algorithm, Mapping) else {}
    options = results.get("algorithm_options") if isinstance(results.get("algorithm_options"), Mapping) else given
    for key, form in MEMORY_OPTIONS.items():
        value = options.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return form.format(100 * value if key == "memory_percentage" else value)
    return None


def _memories(results_list: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
    """Per algorithm: its runs' distinct memory budgets joined by ", " (``None`` when no run sets one)."""
    found: dict[str, list[str]] = {}
    for results in results_list:
        budgets = found.setdefault(str(results.get("algorithm", "?")), [])
        budget = memory_budget(results)
        if budget is not None and budget not in budgets:
            budgets.append(budget)
    return {name: ", ".join(budgets) or None for name, budgets in found.items()}


def _overall(names: list[str], borda: Mapping[str, int], flagged: set[str]) -> tuple[list[str], dict[str, float]]:
    """Order (Borda descending, name; methods that did not learn last) and overall ranks (ties averaged)."""
    order: list[str] = []
    rank: dict[str, float] = {}
    for group in ([n for n in names if n not in flagged], [n for n in names if n in flagged]):
        ordered = sorted(group, key=lambda n: (-borda[n], n))
        within = ranks([float(borda[n]) for n in ordered], higher_is_better=True)
        rank.update({n: len(order) + r for n, r in zip(ordered, within)})
        order += ordered
    return order, rank


# --------------------------------------------------------------------------- the table
def leaderboard(results_list: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per method, sorted by overall rank (ties by name).

    Each metric of :data:`LEADERBOARD_METRICS` is summarised over the method's complete runs by
    :func:`climb_harness.report.aggregate` (mean, sample std, count) and ranked across methods, 1 =
    best (higher is better for average accuracy, BWT and mean knowledge transfer; lower for average
    maximum forgetting and wall time), ties sharing their average rank and an undefined mean ranking
    last.

    The overall rank is a Borda count over the quality metrics (:data:`QUALITY_METRICS`, not wall
    time): a method scores one point per (metric, other method) pair where its mean is strictly
    better, and methods are ordered by points. Borda, as MTEB ranks its models: it needs only the
    order on each metric, so metrics on different scales (accuracy in points, knowledge transfer in
    per cent of a gain, which can run to -100 and beyond) weigh the same and one extreme value cannot
    dominate as it would in a mean of raw scores; and it is robust to a metric on which all methods
    tie. A method that did not learn (:func:`climb_harness.report.did_not_learn`: its "no
    forgetting" is no finding) keeps its per-metric ranks but is ranked after every other method.

    Returns:
        Rows of ``{"method", "runs", "incomplete_runs", "seeds", "memory" (text or None),
        "did_not_learn", "metrics": {key: {"mean", "std", "n", "rank"}}, "borda", "overall_rank"}``.
    """
    summary = aggregate(results_list)
    names = list(summary)
    means = {n: {k: summary[n][k]["mean"] for k in LEADERBOARD_METRICS} for n in names}
    per_metric = {k: dict(zip(names, ranks([means[n][k] for n in names], higher)))
                  for k, (_, higher) in LEADERBOARD_METRICS.items()}
    borda = _borda(means)
    flagged = {n for n in names if did_not_learn(summary[n])}
    order, overall = _overall(names, borda, flagged)
    memory = _memories(results_list)
    return [
        {
            "method": name,
            "runs": summary[name]["runs"],
            "incomplete_runs": summary[name]["incomplete_runs"],
            "seeds": list(summary[name]["seeds"]),
            "memory": memory.get(name),
            "did_not_learn": name in flagged,
            "metrics": {key: {"mean": summary[name][key]["mean"], "std": summary[name][key]["std"],
                              "n": summary[name][key]["n"], "rank": per_metric[key][name]}
                        for key in LEADERBOARD_METRICS},
            "borda": borda[name],
            "overall_rank": overall[name],
        }
        for name in order
    ]


def _rank_text(rank: float) -> str:
    return f"{rank:g}"


def _cell(stat: Mapping[str, Any], digits: int) -> str:
    """``mean ± std (rank)``; the mean alone for one run; — when undefined."""
    if stat["mean"] is None:
        return f"{_MISSING} ({_rank_text(stat['rank'])})"
    value = f"{stat['mean']:.{digits}f}" + ("" if stat["std"] is None else f" ± {stat['std']:.{digits}f}")
    return f"{value} ({_rank_text(stat['rank'])})"


def _runs_text(row: Mapping[str, Any]) -> str:
    return str(row["runs"]) + (f" (+{row['incomplete_runs']} incomplete)" if row["incomplete_runs"] else "")


def leaderboard_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows of :func:`leaderboard` as a Markdown table with notes below it.

    Columns: overall rank, method (``†``: did not learn), runs, replay memory budget (— where the
    config sets none), each metric as ``mean ± std (rank)`` (the mean alone for one seed), and the
    Borda points.
    """
    header = ["rank", "method", "runs", "memory", *(f"{title} {'↑' if higher else '↓'}"
                                                    for title, higher in LEADERBOARD_METRICS.values()), "Borda"]
    body = [
        [_rank_text(row["overall_rank"]), row["method"] + (_DAGGER if row["did_not_learn"] else ""), _runs_text(row),
         row["memory"] or _MISSING,
         *(_cell(row["metrics"][key], 1 if key == "wall_time_s" else 2) for key in LEADERBOARD_METRICS),
         str(row["borda"])]
        for row in rows
    ]
    align = ["---:", "---", "---:", "---", *["---:"] * len(LEADERBOARD_METRICS), "---:"]
    lines = ["| " + " | ".join(cells) + " |" for cells in [header, align, *body]]
    quality = ", ".join(LEADERBOARD_METRICS[k][0] for k in QUALITY_METRICS)
    notes = [
        "mean ± std over seeds (the mean alone for one seed), the method's rank on that metric in parentheses "
        "(1 = best, ties share the average rank, — ranks last). ↑ higher is better, ↓ lower is better.",
        f"Overall rank: Borda count over {quality} (one point per metric and per method beaten; BWT, which "
        "measures forgetting again, and wall time are not counted), ties broken by name.",
        "memory: the replay budget each run stored (its algorithm options, defaults included; — for methods without one).",
    ]
    flagged = [row["method"] for row in rows if row["did_not_learn"]]
    if flagged:
        notes.append(f"† did not learn (mean knowledge transfer below -50): {', '.join(flagged)}; its low "
                     "forgetting is no finding, so it is ranked last whatever its points.")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes])
