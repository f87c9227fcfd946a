"""A leaderboard that ranks methods apart only where the evidence does.

Within one experiment (:func:`climb_harness.report.grouping.group_experiments`), every pair of methods is
compared on each ranked metric by the **paired** difference over the seeds both ran
(:func:`climb_harness.core.comparison.paired_difference`: the spread of the per-seed differences plus the
evaluation noise of the shared test examples). Holm's procedure over the ``m (m - 1) / 2`` pairs of a
metric keeps the chance of declaring any difference where there is none at ``alpha`` (5%).

* A method's rank on a metric is ``1 + the number of methods significantly better on it`` (the way
  Chatbot Arena ranks with intervals): methods that no test separates share a rank, and ranks need
  not be consecutive.
* The overall rank counts **significant wins** over average maximum forgetting (stability) and mean
  knowledge transfer (plasticity): forgetting is counted once (average accuracy also rewards not
  forgetting, as BWT does; both are shown and ranked, not counted). Ties share a rank.
* A pair is compared only on seeds both methods ran, at least two of them; with one seed per method
  nothing is ranked and the table says so. Every rank says how many seeds it rests on.
* A method that did not learn (:func:`climb_harness.report.tables.did_not_learn`) is listed last.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from climb_harness.core.comparison import holm, paired_difference
from climb_harness.report.grouping import ExperimentGroup, MethodGroup, RunLike, group_experiments
from climb_harness.report.tables import interval_text, md_text, summarise_methods
from climb_harness.report.values import ReportError, did_not_learn, run_value

__all__ = ["ALPHA", "LEADERBOARD_METRICS", "MEMORY_OPTIONS", "QUALITY_METRICS", "compare", "experiment_heading",
           "leaderboard", "leaderboard_markdown", "leaderboards", "memory_budget"]

#: Family-wise error rate of each metric's comparisons (Holm).
ALPHA = 0.05
#: Ranked columns: key -> (title, higher is better).
LEADERBOARD_METRICS: dict[str, tuple[str, bool]] = {
    "average_accuracy": ("avg acc", True),
    "average_max_forgetting": ("AMF", False),
    "bwt": ("BWT", True),
    "mean_knowledge_transfer": ("mean KT", True),
}
#: What the overall rank counts: one metric for not forgetting, one for learning each new task.
QUALITY_METRICS: tuple[str, ...] = ("average_max_forgetting", "mean_knowledge_transfer")

#: Replay-memory options of the algorithm config, in the order they take effect -> how to show the value.
MEMORY_OPTIONS: dict[str, str] = {
    "memory_size": "{:g}",
    "memories_per_task": "{:g}/task",
    "n_memories": "{:g}/task",
    "memory_percentage": "{:.3g}% of each task",
}

_MISSING = "—"


def memory_budget(results: Mapping[str, Any]) -> str | None:
    """The replay memory budget that a run's config sets, as text (``"1000"``, ``"250/task"``), or ``None``.

    Reads ``algorithm_options`` (the options as the algorithm ran, defaults filled in; results files
    before it existed: ``config.algorithm.options``), the first of :data:`MEMORY_OPTIONS` set winning.
    """
    algorithm = (results.get("config") or {}).get("algorithm")
    given = (algorithm.get("options") or {}) if isinstance(algorithm, Mapping) else {}
    options = results.get("algorithm_options") if isinstance(results.get("algorithm_options"), Mapping) else given
    for key, form in MEMORY_OPTIONS.items():
        value = options.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return form.format(100 * value if key == "memory_percentage" else value)
    return None


# --------------------------------------------------------------------------- comparisons
def _paired_values(a: MethodGroup, b: MethodGroup, key: str) -> tuple[list[float], list[float], Any, Any]:
    """The two methods' values on the seeds both ran (and define the metric), with their replicates."""
    mine = {run.seed: run for run in a.runs}
    values_a, values_b, reps_a, reps_b = [], [], [], []
    for run_b in b.runs:
        run_a = mine.get(run_b.seed)
        if run_a is None:
            continue
        x, y = run_value(run_a.results, key), run_value(run_b.results, key)
        if x is None or y is None:
            continue
        values_a.append(x)
        values_b.append(y)
        ra, rb = run_a.replicates(), run_b.replicates()
        reps_a.append(None if ra is None or key not in ra else ra[key])
        reps_b.append(None if rb is None or key not in rb else rb[key])
    if reps_a and all(r is not None for r in reps_a + reps_b):
        return values_a, values_b, np.stack(reps_a), np.stack(reps_b)
    return values_a, values_b, None, None


def compare(group: ExperimentGroup, key: str, alpha: float = ALPHA) -> dict[tuple[str, str], dict[str, Any]]:
    """Every pair of methods on one metric: the paired difference (first minus second), its seeds, its
    p-value and whether Holm's procedure over all pairs declares it (see the module docstring).

    Returns:
        ``{(a, b): {"difference": Estimate | None, "seeds": n, "significant": bool}}``; pairs with fewer than
        two common seeds get ``difference`` None and are never significant.
    """
    names = list(group.methods)
    pairs = list(itertools.combinations(names, 2))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for a, b in pairs:
        xa, xb, ra, rb = _paired_values(group.methods[a], group.methods[b], key)
        difference = paired_difference(xa, xb, ra, rb) if len(xa) >= 2 else None
        found[(a, b)] = {"difference": difference, "seeds": len(xa), "significant": False}
    decisions = holm([None if v["difference"] is None else v["difference"].p_value for v in found.values()], alpha)
    for (pair, value), significant in zip(found.items(), decisions):
        value["significant"] = significant
    return found


def _better(pair: tuple[str, str], value: Mapping[str, Any], higher: bool) -> str | None:
    """The method a significant comparison favours (None when not significant)."""
    if not value["significant"]:
        return None
    first_higher = value["difference"].mean > 0
    return pair[0] if first_higher == higher else pair[1]


# --------------------------------------------------------------------------- the table
def _ranked(group: ExperimentGroup, alpha: float) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, int]]:
    """Per metric, each method's rank; per method, its significant wins over QUALITY_METRICS; and the
    smallest number of seeds any decisive comparison rested on, per method."""
    names = list(group.methods)
    ranks: dict[str, dict[str, int]] = {}
    wins = dict.fromkeys(names, 0)
    seeds: dict[str, int] = {}
    for key, (_, higher) in LEADERBOARD_METRICS.items():
        beaten_by = {name: 0 for name in names}
        for pair, value in compare(group, key, alpha).items():
            winner = _better(pair, value, higher)
            if value["difference"] is not None:
                for name in pair:
                    seeds[name] = min(seeds.get(name, value["seeds"]), value["seeds"])
            if winner is None:
                continue
            loser = pair[1] if winner == pair[0] else pair[0]
            beaten_by[loser] += 1
            if key in QUALITY_METRICS:
                wins[winner] += 1
        ranks[key] = {name: 1 + beaten_by[name] for name in names}
    return ranks, wins, seeds


def leaderboard(results_list: Sequence[RunLike], alpha: float = ALPHA, level: float = 0.95) -> list[dict[str, Any]]:
    """One row per method of ONE experiment, ordered by overall rank (methods that did not learn last).

    Returns:
        Rows of ``{"method", "runs", "incomplete_runs", "seeds", "memory", "did_not_learn", "ranked" (False
        when no pair of methods shares two seeds), "rank_seeds" (the fewest seeds a comparison of this
        method rested on), "metrics": {key: {"mean", "std", "n", "low", "high", "rank"}}, "costs": {...},
        "wins", "overall_rank"}``.

    Raises:
        ReportError: The runs come from more than one experiment (use :func:`leaderboards`).
    """
    groups = group_experiments(results_list)
    if len(groups) > 1:
        raise ReportError(f"the runs come from {len(groups)} experiments; rank each on its own (leaderboards()).")
    return _rows(groups[0], alpha, level) if groups else []


def leaderboards(results_list: Sequence[RunLike], alpha: float = ALPHA,
                 level: float = 0.95) -> list[tuple[ExperimentGroup, list[dict[str, Any]]]]:
    """A leaderboard per experiment, in order of first appearance."""
    return [(group, _rows(group, alpha, level)) for group in group_experiments(results_list)]


def _rows(group: ExperimentGroup, alpha: float, level: float) -> list[dict[str, Any]]:
    summary = summarise_methods(group, level)
    ranks, wins, seeds = _ranked(group, alpha)
    ranked = bool(seeds)
    flagged = {name for name in group.methods if did_not_learn(summary[name])}
    names = list(group.methods)
    more_wins = {name: sum(wins[o] > wins[name] for o in names if (o in flagged) == (name in flagged)) for name in names}
    order = sorted(names, key=lambda n: (n in flagged, -wins[n], n))
    first_flagged = len(names) - len(flagged)
    rows = []
    for name in order:
        overall = 1 + more_wins[name] + (first_flagged if name in flagged else 0)
        runs = group.methods[name].runs
        rows.append({
            "method": name, "runs": len(runs), "incomplete_runs": len(group.methods[name].incomplete),
            "seeds": group.methods[name].seeds, "memory": _memory(group.methods[name]),
            "did_not_learn": name in flagged, "ranked": ranked, "rank_seeds": seeds.get(name),
            "metrics": {key: {**summary[name][key], "rank": ranks[key][name] if ranked else None}
                        for key in LEADERBOARD_METRICS},
            "costs": {key: summary[name][key] for key in ("wall_time_s", "peak_memory_mb")},
            "wins": wins[name] if ranked else None, "overall_rank": overall if ranked else None,
        })
    return rows


def _memory(method: MethodGroup) -> str | None:
    budgets: list[str] = []
    for run in [*method.runs, *method.incomplete]:
        budget = memory_budget(run.results)
        if budget is not None and budget not in budgets:
            budgets.append(budget)
    return ", ".join(budgets) or None


def _cell(stat: Mapping[str, Any], digits: int) -> str:
    text = interval_text(stat, digits)
    return text if stat.get("rank") is None else f"{text} ({stat['rank']})"


def leaderboard_markdown(rows: Sequence[Mapping[str, Any]], alpha: float = ALPHA) -> str:
    """The rows of :func:`leaderboard` as a Markdown table with notes that say what the ranks rest on."""
    ranked = bool(rows) and bool(rows[0]["ranked"])
    header = ["rank", "method", "seeds", "memory",
              *(f"{title} {'↑' if higher else '↓'}" for title, higher in LEADERBOARD_METRICS.values()), "wins",
              "wall time (s)"]
    body = [
        [("—" if row["overall_rank"] is None else str(row["overall_rank"])),
         md_text(row["method"]) + (" †" if row["did_not_learn"] else ""),
         str(row["runs"]) + (f" (+{row['incomplete_runs']} incomplete)" if row["incomplete_runs"] else ""),
         row["memory"] or _MISSING,
         *(_cell(row["metrics"][key], 2) for key in LEADERBOARD_METRICS),
         "—" if row["wins"] is None else str(row["wins"]),
         interval_text(row["costs"]["wall_time_s"], 1)]
        for row in rows
    ]
    align = ["---:", "---", "---:", "---", *["---:"] * len(LEADERBOARD_METRICS), "---:", "---:"]
    lines = ["| " + " | ".join(cells) + " |" for cells in [header, align, *body]]
    seeds = sorted({row["rank_seeds"] for row in rows if row.get("rank_seeds")})
    if ranked:
        notes = [
            "Each metric: mean over seeds [95% interval], its rank in parentheses: 1 + the number of methods "
            "significantly better on it (ties share a rank). Significance: the paired difference over the seeds both "
            f"methods ran (seed spread plus the shared test examples' evaluation noise), Holm-corrected at "
            f"{alpha:g} over all pairs of each metric. Ranks rest on "
            + (f"{seeds[0]} paired seeds" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]} paired seeds") + ".",
            "Overall rank: significant wins on AMF (not forgetting) and mean KT (learning each new task); average "
            "accuracy and BWT also reward not forgetting, so they are ranked but not counted. ↑ higher is better, "
            "↓ lower is better.",
        ]
    else:
        notes = ["Not ranked: no two methods share two seeds, so no difference between methods can be told from seed "
                 "noise. The numbers are mean [95% interval] (one seed: the evaluation noise of the test examples "
                 "only); run more seeds (seeds: [0, 1, 2, ...]) to rank them."]
    notes.append("memory: the replay budget each run stored (its algorithm options; — for methods without one).")
    flagged = [row["method"] for row in rows if row["did_not_learn"]]
    if flagged:
        notes.append(f"† did not learn (mean knowledge transfer below -50): {', '.join(map(md_text, flagged))}; its low forgetting is "
                     "no finding, so it is listed last.")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes])


def experiment_heading(group: ExperimentGroup, total: int) -> str:
    """One line naming an experiment group (and how it differs from the others in the report)."""
    seeds = sorted({run.seed for run in group.runs() if run.complete}, key=str)
    text = f"Experiment {md_text(group.title)}: {len(group.methods)} method(s), seeds {md_text(seeds, 200)}"
    if total > 1 and group.differs:
        text += f"; differs from the others in {md_text(', '.join(group.differs), 400)}"
    if group.derived:
        text += " (grouped by its config: results written before experiment fingerprints)"
    return text

