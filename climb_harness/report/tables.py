"""Text and Markdown views of results.json dicts: score matrices, per-run metrics, seed aggregates.

Pure formatting over plain dicts (no torch), so ``climb report`` stays fast. A run's scalar metrics
come from its ``metrics`` object; a run whose ``metrics`` lacks them but whose accuracy matrix is
complete has them computed here with :func:`climb_harness.core.metrics.compute_all`.

Results that cannot be shown together (two task orders, two protocols, a ragged matrix) raise
:class:`ReportError`: a ValueError for callers, and a UsageError so ``climb report`` prints one
paragraph (exit 2) instead of a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from climb_harness.core.comparison import mean_std
from climb_harness.report.values import (
    _MISSING,
    COSTS,
    SCALAR_METRICS,
    ReportError,
    did_not_learn,
    scalar_metrics,
)

__all__ = [
    "SCALAR_METRICS",
    "ReportError",
    "aggregate",
    "aggregate_table",
    "did_not_learn",
    "format_matrix",
    "mean_std",
    "metrics_table",
    "scalar_metrics",
]


#: A name that Markdown shows as it is (no emphasis, link, HTML or table syntax in it).
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./\- ]*$")
#: What Markdown could read as syntax: HTML and autolinks, links and images, emphasis, code, table cells, entities,
#: math; ``_`` only at a word's edge (inside a word CommonMark never reads it as emphasis).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]<>!|&$~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_text(value: Any, limit: int = 120) -> str:
    """A string from a results file (a method, task or experiment name) as Markdown that shows it as text.

    Plain names (letters, digits, ``_ . - /`` and spaces, as configs allow) are returned as they are; in anything
    else every character Markdown could read as syntax is backslash-escaped (CommonMark), so no HTML, link,
    emphasis, code span or table cell can be smuggled into report.md; the text is cut to ``limit`` characters
    on one line.

    Example:
        >>> print(md_text("er-ring"), md_text("<script>x</script>"))
        er-ring \\<script\\>x\\</script\\>
    """
    text = " ".join(str(value).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text if _PLAIN_NAME.match(text) else _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def _fmt(value: float | None, digits: int = 2) -> str:
    return _MISSING if value is None else f"{value:.{digits}f}"


# --------------------------------------------------------------------------- one matrix
def format_matrix(
    tasks: Sequence[str], A: Sequence[Sequence[float]], initial: Sequence[float] | None = None
) -> str:
    """An aligned text table of a score matrix: a column per task, a row ``after <task>`` per learned task.

    ``A`` may have fewer rows than tasks (a run still going). ``initial`` adds a first row ``initial``
    (scores before any training).
    """
    names = [str(t) for t in tasks]
    rows: list[tuple[str, Sequence[float]]] = []
    if initial is not None:
        rows.append(("initial", initial))
    if len(A) > len(names):
        raise ReportError(
            f"the score matrix has {len(A)} rows but only {len(names)} tasks are named; "
            "give every task's name."
        )
    rows += [(f"after {names[i]}", row) for i, row in enumerate(A)]
    for label, row in rows:
        if len(row) != len(names):
            raise ReportError(
                f"row '{label}' has {len(row)} scores but there are {len(names)} tasks; "
                "each row needs one score per task."
            )
    cells = [[_fmt(float(x)) for x in row] for _, row in rows]
    label_width = max([len(label) for label, _ in rows] + [0])
    widths = [max([len(name)] + [len(r[j]) for r in cells]) for j, name in enumerate(names)]
    lines = [" " * label_width + "".join(f"  {name:>{w}}" for name, w in zip(names, widths))]
    for (label, _), row in zip(rows, cells):
        lines.append(f"{label:<{label_width}}" + "".join(f"  {c:>{w}}" for c, w in zip(row, widths)))
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------- per run


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def metrics_table(results_list: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table with one row per run: algorithm, seed, status and its scalar metrics."""
    header = ["algorithm", "seed", "status", *SCALAR_METRICS.values()]
    rows = []
    for results in results_list:
        values = scalar_metrics(results)
        rows.append(
            [
                md_text(results.get("algorithm", "?")),
                md_text(results.get("seed", "?")),
                md_text(results.get("status", "?")),
                *(_fmt(values[key]) for key in SCALAR_METRICS),
            ]
        )
    return _markdown(header, rows, right_from=3)


# --------------------------------------------------------------------------- over seeds


def _stat(estimate: Any) -> dict[str, Any]:
    """An :class:`climb_harness.core.comparison.Estimate` as the summary's plain dict (``None``: undefined)."""
    if estimate is None:
        return {"mean": None, "std": None, "n": 0, "low": None, "high": None, "eval_se": None}
    return {"mean": estimate.mean, "std": estimate.seed_sd, "n": estimate.seeds, "low": estimate.low,
            "high": estimate.high, "eval_se": estimate.eval_se}


def summarise_methods(group: Any, level: float = 0.95) -> dict[str, dict[str, Any]]:
    """Per method of one :class:`climb_harness.report.grouping.ExperimentGroup`: its seeds, and every scalar metric
    and cost over them with the interval of :func:`climb_harness.report.grouping.estimate`."""
    from climb_harness.report.grouping import estimate

    out: dict[str, dict[str, Any]] = {}
    for label, method in group.methods.items():
        summary: dict[str, Any] = {
            "runs": len(method.runs), "incomplete_runs": len(method.incomplete), "seeds": method.seeds,
            "tasks": list(method.runs[0].results.get("tasks", [])) if method.runs else [],
        }
        for key in SCALAR_METRICS:
            summary[key] = _stat(estimate(method, key, level))
        for key in COSTS:  # a cost is never below 0
            stat = _stat(estimate(method, key, level))
            summary[key] = {**stat, "low": None if stat["low"] is None else max(0.0, stat["low"])}
        out[label] = summary
    return out


def aggregate(results_list: Sequence[Any], level: float = 0.95) -> dict[str, dict[str, Any]]:
    """Summarise the complete runs of ONE experiment by method (label), over their seeds.

    Takes results dicts or :class:`climb_harness.report.grouping.Run` objects (a Run that knows its file adds the
    evaluation noise of its per-example scores to the intervals). Returns ``{label: {"runs", "incomplete_runs",
    "seeds", "tasks", "<metric or cost>": {"mean", "std", "n", "low", "high", "eval_se"}}}`` in order of first
    appearance; ``std`` is the spread over seeds (``None`` for one seed), ``[low, high]`` the interval of
    :func:`climb_harness.core.comparison.seed_estimate` (``None`` when nothing is known about the noise).

    Raises:
        ReportError: The runs belong to more than one experiment (their fingerprints differ): averaging them
            as seeds would mix different experiments; :func:`climb_harness.report.grouping.group_experiments`
            separates them.
    """
    from climb_harness.report.grouping import GroupingError, group_experiments

    try:
        groups = group_experiments(results_list)
    except GroupingError as exc:
        raise ReportError(str(exc)) from None
    if len(groups) > 1:
        differs = "; ".join(f"{g.title}: {', '.join(g.differs) or 'settings differ'}" for g in groups[:3])
        raise ReportError(f"these runs come from {len(groups)} different experiments ({differs}); they cannot be "
                          "averaged as seeds. Summarise one experiment at a time (climb report shows each as its own group).")
    return summarise_methods(groups[0], level) if groups else {}


def interval_text(stat: Mapping[str, Any], digits: int = 2) -> str:
    """``mean [low, high]``; the mean alone when there is no interval; — when undefined."""
    if stat.get("mean") is None:
        return _MISSING
    if stat.get("low") is None:
        return _fmt(stat["mean"], digits)
    return f"{stat['mean']:.{digits}f} [{stat['low']:.{digits}f}, {stat['high']:.{digits}f}]"


def aggregate_table(results: Sequence[Any] | Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table, one row per method of one experiment: ``mean [95% interval]`` of every metric and
    cost over the seeds (:func:`aggregate`). A method marked † did not learn (:func:`did_not_learn`): read no
    "no forgetting" into its row."""
    summary = results if isinstance(results, Mapping) else aggregate(results)
    header = ["algorithm", "seeds", *SCALAR_METRICS.values(), *COSTS.values()]
    rows = [
        [
            md_text(name) + (" †" if did_not_learn(s) else ""),
            str(s["runs"]),
            *(interval_text(s[key], 2) for key in SCALAR_METRICS),
            *(interval_text(s[key], 1) for key in COSTS),
        ]
        for name, s in summary.items()
    ]
    return _markdown(header, rows, right_from=1) + "\n\n" + INTERVAL_NOTE


#: What the intervals of :func:`aggregate_table` and the leaderboard are.
INTERVAL_NOTE = (
    "mean over seeds [95% interval]: Student t on the seed spread, combined with the evaluation noise of the "
    "shared test examples (a cluster bootstrap of each task's example groups, applied to every seed at once) where "
    "the runs kept their per-example scores; one seed shows the evaluation noise only. Costs: over seeds only."
)


# --------------------------------------------------------------------------- Phase II
def _ci(stat: Mapping[str, Any] | None, digits: int = 2) -> str:
    """``mean ± ci95`` (the 95% t-interval over seeds), the mean alone below two seeds."""
    if not stat or stat.get("mean") is None:
        return _MISSING
    if stat.get("ci95") is None:
        return _fmt(stat["mean"], digits)
    return f"{stat['mean']:.{digits}f} ± {stat['ci95']:.{digits}f}"


def transfer_table(transfer: Mapping[str, Any]) -> str:
    """Phase II as Markdown: one row per (upstream model, task, low-shot size), the pretrained encoder first.

    Scores are the report split's, mean ± 95% t-interval half-width over sampling seeds; "LT" is CLiMB's
    low-shot transfer (:func:`climb_harness.core.metrics.low_shot_transfer`) on the seed means, its interval
    from the per-seed (paired) values. A row whose transfer is undefined says why below the table.
    """
    protocol = transfer.get("protocol", {})
    header = ["upstream model", "task", "low-shot", "seeds", "score", "pretrained", "LT"]
    rows, notes = [], {}
    for row in transfer.get("summary", []):
        source = row["source"]
        lt = row.get("low_shot_transfer")
        per_seed = row.get("low_shot_transfer_per_seed") or {}
        if lt is None:
            lt_text = _MISSING
        elif per_seed.get("ci95") is None:
            lt_text = _fmt(lt)
        else:
            lt_text = f"{lt:.2f} ± {per_seed['ci95']:.2f}"
        if row.get("undefined") and row["undefined"] != "reference":
            notes.setdefault((row["task"], row["shots"], row["undefined"]), []).append(source)
        rows.append([md_text(source), md_text(row["task"]), md_text(row["shots"]), str(len(row["seeds"])), _ci(row["score"]),
                     "(reference)" if row.get("undefined") == "reference" else _ci(row.get("pretrained")), lt_text])
    title = (f"Phase II low-shot transfer: scores on {protocol.get('report_split', '?')} (epochs chosen on "
             f"{protocol.get('selection_split', '?')}), mean ± 95% t-interval over seeds; {protocol.get('epochs')} "
             f"epochs at lr {protocol.get('lr')}; LT = 100 (S_up - S_pre) / (S_pre - S_rand)")
    table = _markdown(header, rows, right_from=3)
    lines = [f"- {md_text(task)} ({md_text(shots)}), {len(sources)} upstream model(s): {md_text(reason, 400)}"
             for (task, shots, reason), sources in notes.items()]
    return "\n".join([title, "", table] + (["", *lines] if lines else []))


def summary_markdown(runs: Sequence[tuple[Mapping[str, Any], Any]]) -> str:
    """``summary.md`` of an experiment: :func:`aggregate_table` of its complete runs, given as ``(results,
    results.json path)`` pairs so that each run's per-example scores add the evaluation noise to the intervals
    (what :class:`climb_harness.core.experiment.Experiment` is given as its ``summarise``)."""
    from climb_harness.report.grouping import Run

    return aggregate_table([Run(results, path) for results, path in runs])
