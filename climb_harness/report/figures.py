"""PNG figures of results.json dicts: one run's score matrix, a method's scores along its sequence,
CLiMB's forgetting per task, and the methods against each other.

Every public function takes plain results dicts (as :func:`climb_harness.core.results.read_results`
returns them) and a path, draws with matplotlib's Agg backend (no display, no pyplot state) and
writes the PNG atomically (:func:`climb_harness.core.results.atomic_write_bytes`), returning the path. Each
has a ``*_figure`` twin returning the :class:`matplotlib.figure.Figure`, for tests and for callers
that want other formats. matplotlib is imported inside the functions, so importing this module (and
``climb report`` without figures) stays light.

Figures are ``size`` inches at ``dpi`` (default 6.4 x 4.8 in at 100 dpi: 640 x 480 pixels); scores
are on CLiMB's 0-100 scale.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from climb_harness.core import metrics as _metrics
from climb_harness.core.comparison import mean_std
from climb_harness.report.tables import aggregate
from climb_harness.report.values import ReportError, did_not_learn
from climb_harness.core.io import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover - types only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_DPI",
    "DEFAULT_SIZE",
    "DIAGONAL_GID",
    "accuracy_heatmap",
    "accuracy_heatmap_figure",
    "accuracy_over_sequence",
    "accuracy_over_sequence_figure",
    "forgetting_matrix",
    "forgetting_per_task",
    "forgetting_per_task_figure",
    "method_comparison",
    "method_comparison_figure",
]

DEFAULT_SIZE: tuple[float, float] = (6.4, 4.8)
DEFAULT_DPI = 100
#: The ``gid`` of the boxes drawn around the heatmap's diagonal (score right after learning a task).
DIAGONAL_GID = "diagonal"
_CMAP = "viridis"
_DIAGONAL_COLOUR = "#e8175d"
_MARKERS = "osD^vP<>Xh"


# --------------------------------------------------------------------------- plumbing
#: The longest name (method, task) a figure draws; results files from elsewhere may hold any string.
NAME_LIMIT = 40


def _name(text: Any, limit: int = NAME_LIMIT) -> str:
    """A name from a results file as one bounded line of plain text."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _plain_text(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure with mathtext off: a ``$`` in a name from a results file is a dollar sign, not TeX."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


def _new_figure(size: tuple[float, float], dpi: int) -> Figure:
    """A pyplot-free Agg figure (nothing global is touched, nothing needs closing)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi)


def _save(fig: Figure, path: str | Path, dpi: int) -> Path:
    """Write ``fig`` as a PNG of exactly ``size * dpi`` pixels, atomically; return the path.

    The PNG carries no ``Software`` text (so the file holds no URL and is the same bytes on every run).
    """
    out = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    atomic_write_bytes(out, buffer.getvalue(), fix="free space (or make the folder writable) and rerun")
    return out


def _note(fig: Figure, lines: Sequence[str]) -> float:
    """Write wrapped ``lines`` at the bottom of ``fig``; return the figure fraction they take."""
    width = max(40, int(fig.get_size_inches()[0] * 72 / 3.9))  # characters of 7 pt text across the figure
    text = "\n".join(wrapped for line in lines for wrapped in textwrap.wrap(line, width))
    if not text:
        return 0.0
    fig.text(0.01, 0.01, text, fontsize=7, va="bottom", ha="left", color="#444444")
    height_in = fig.get_size_inches()[1]
    return min(0.4, (text.count("\n") + 1) * 7 * 1.3 / 72 / height_in + 0.015)


def _layout(fig: Figure, note_fraction: float) -> None:
    """Tight layout above the note, if there is one."""
    fig.tight_layout(rect=(0.0, note_fraction, 1.0, 1.0))


def _report_split(results: Mapping[str, Any]) -> str:
    protocol = results.get("protocol") or {}
    return str(protocol.get("report_split") or results.get("eval_split") or "?")


def _label_size(count: int) -> float:
    """A font size for tick labels that still fits ``count`` of them across 6 inches."""
    return 9.0 if count <= 4 else 8.0 if count <= 6 else 6.5


def _short(name: str, limit: int = 18) -> str:
    return _name(name, limit)


# --------------------------------------------------------------------------- accuracy heatmap
def _heatmap_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[float]], list[list[Any]], int]:
    """(row labels, scores with NaN for missing cells, intervals or None, index of the first "after" row)."""
    tasks = [str(t) for t in results.get("tasks") or []]
    T = len(tasks)
    matrix = list(results.get("accuracy_matrix") or [])
    intervals = list(results.get("accuracy_matrix_ci") or [])
    labels: list[str] = []
    values: list[list[float]] = []
    cis: list[list[Any]] = []
    initial = results.get("initial_scores")
    if initial:
        labels.append("initial")
        values.append([float(x) for x in initial])
        cis.append(list(results.get("initial_scores_ci") or [None] * T))
    offset = len(labels)
    for i, row in enumerate(matrix):
        labels.append(f"after {_short(tasks[i])}")
        values.append([float(x) for x in row])
        cis.append(list(intervals[i]) if i < len(intervals) else [None] * T)
    for row, ci in zip(values, cis):
        if len(row) != T or len(ci) != T:
            raise ReportError(f"a score row of {results.get('algorithm', '?')} has {len(row)} entries for {T} tasks.")
    return labels, values, cis, offset


def _cell_text(value: float, interval: Sequence[float] | None, with_ci: bool) -> str:
    if math.isnan(value):
        return ""
    if with_ci and interval is not None:
        return f"{value:.1f}\n[{float(interval[0]):.1f}, {float(interval[1]):.1f}]"
    return f"{value:.1f}"


def _annotate_cells(ax: Axes, values: list[list[float]], cis: list[list[Any]], cmap: Any) -> None:
    """Write each cell's score (and interval) in black or white, whichever reads on its colour."""
    T = len(values[0]) if values else 0
    with_ci = T <= 6
    size = 8.0 if T <= 3 else 7.0 if T <= 5 else 5.5
    for r, (row, ci_row) in enumerate(zip(values, cis)):
        for j, value in enumerate(row):
            red, green, blue, _ = cmap(value / 100.0 if not math.isnan(value) else 0.0)
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(j, r, _cell_text(value, ci_row[j], with_ci), ha="center", va="center", fontsize=size,
                    color="white" if dark else "black")


def _box_diagonal(ax: Axes, values: list[list[float]], offset: int) -> int:
    """Box cell (after task i, task i) of every learned task; return how many boxes were drawn."""
    from matplotlib.patches import Rectangle

    drawn = 0
    for i in range(len(values) - offset):
        if i < len(values[offset + i]) and not math.isnan(values[offset + i][i]):
            ax.add_patch(Rectangle((i - 0.5, offset + i - 0.5), 1, 1, fill=False, edgecolor=_DIAGONAL_COLOUR,
                                   linewidth=2.5, gid=DIAGONAL_GID, clip_on=False))
            drawn += 1
    return drawn


@_plain_text
def accuracy_heatmap_figure(results: Mapping[str, Any], *, size: tuple[float, float] = DEFAULT_SIZE,
                            dpi: int = DEFAULT_DPI) -> Figure:
    """The accuracy matrix of one run as a heatmap (see :func:`accuracy_heatmap`)."""
    import matplotlib

    tasks = [str(t) for t in results.get("tasks") or []]
    labels, values, cis, offset = _heatmap_rows(results)
    if not values:
        raise ReportError(f"run {results.get('algorithm', '?')} (seed {results.get('seed', '?')}) has no scores yet.")
    fig = _new_figure(size, dpi)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps[_CMAP]
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=100, aspect="auto")
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    bar.set_label(f"score on {_report_split(results)} (0-100)")
    _annotate_cells(ax, values, cis, cmap)
    if offset:
        ax.axhline(offset - 0.5, color="white", linewidth=3)  # the initial row is not a learned task
    _box_diagonal(ax, values, offset)
    ax.set_xticks(range(len(tasks)), [_short(t) for t in tasks], rotation=20 if len(tasks) > 2 else 0,
                  ha="right" if len(tasks) > 2 else "center", fontsize=_label_size(len(tasks)))
    ax.set_yticks(range(len(labels)), labels, fontsize=_label_size(len(labels)))
    ax.set_xlabel("evaluated on task")
    ax.set_title(f"{_name(results.get('algorithm', '?'))} (seed {_name(results.get('seed', '?'))}): accuracy matrix", fontsize=11)
    note = ["Boxed: each task's score right after learning it (the diagonal). Above it: tasks not learned yet "
            "(untrained heads)."]
    if any(c is not None for row in cis for c in row):
        note.append("Brackets: 95% bootstrap interval over the evaluation examples.")
    _layout(fig, _note(fig, note))
    return fig


def accuracy_heatmap(results: Mapping[str, Any], path: str | Path, *, size: tuple[float, float] = DEFAULT_SIZE,
                     dpi: int = DEFAULT_DPI) -> Path:
    """Draw one run's accuracy matrix and write it as a PNG.

    Shows rows "after task i" (plus an ``initial`` row, the scores before any training, when the run
    has ``initial_scores``) by columns task j, coloured on a fixed 0-100 scale. Each cell holds the
    score and, when the run has ``accuracy_matrix_ci``, its 95% bootstrap interval below it
    ("81.3 / [78.0, 84.5]"; the intervals are left out beyond 6 tasks, where they no longer fit). The
    diagonal, a task's score right after learning it, is boxed: read down a column from its box to
    see the task being forgotten. A run still going has fewer rows.

    Args:
        results: one results.json dict.
        path: the PNG to write (its folder is created).
        size: figure size in inches.
        dpi: pixels per inch.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return _save(accuracy_heatmap_figure(results, size=size, dpi=dpi), path, dpi)


# --------------------------------------------------------------------------- accuracy over the sequence
def _one_method(results_list: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """(algorithm, tasks) shared by every run, or a ReportError saying what differs."""
    if not results_list:
        raise ReportError("no runs given; pass the runs (seeds) of one algorithm.")
    names = sorted({_name(r.get("algorithm", "?")) for r in results_list})
    if len(names) > 1:
        raise ReportError(f"runs of several algorithms given ({', '.join(names)}); draw one algorithm at a time.")
    orders = {tuple(r.get("tasks") or []) for r in results_list}
    if len(orders) > 1:
        raise ReportError(f"runs of {names[0]} use different task orders; draw one task order at a time.")
    return names[0], [str(t) for t in results_list[0].get("tasks") or []]


def _series(results_list: Sequence[Mapping[str, Any]], with_initial: bool
            ) -> list[tuple[list[float], list[Any]]]:
    """Per position (initial, after task 0, ...): the runs' score rows and their interval rows."""
    rows = min(len(r.get("accuracy_matrix") or []) for r in results_list)
    out: list[tuple[list[float], list[Any]]] = []
    if with_initial:
        out.append(([r["initial_scores"] for r in results_list], [r.get("initial_scores_ci") for r in results_list]))
    for i in range(rows):
        out.append(([r["accuracy_matrix"][i] for r in results_list],
                    [(r.get("accuracy_matrix_ci") or [None] * rows)[i] for r in results_list]))
    return out


def _point(scores: list[Any], intervals: list[Any], j: int) -> tuple[float, float, float]:
    """(mean, low, high) of task j over runs: the t-interval over seeds, or one run's bootstrap interval."""
    if len(scores) > 1:
        stat = mean_std([float(s[j]) for s in scores])
        mean, half = float(stat["mean"]), float(stat["ci95"] or 0.0)  # type: ignore[arg-type]
        return mean, mean - half, mean + half
    value = float(scores[0][j])
    interval = intervals[0][j] if intervals[0] is not None else None
    if interval is None:
        return value, value, value
    return value, float(interval[0]), float(interval[1])


@_plain_text
def accuracy_over_sequence_figure(results_list: Sequence[Mapping[str, Any]], *,
                                  size: tuple[float, float] = DEFAULT_SIZE, dpi: int = DEFAULT_DPI) -> Figure:
    """One algorithm's scores along its sequence (see :func:`accuracy_over_sequence`)."""
    import matplotlib

    algorithm, tasks = _one_method(results_list)
    with_initial = all(r.get("initial_scores") for r in results_list)
    positions = _series(results_list, with_initial)
    if not positions:
        raise ReportError(f"the runs of {algorithm} have no scores yet.")
    learned = [f"after {_short(t, 14)}" for t in tasks][: len(positions) - with_initial]
    xlabels = (["initial"] if with_initial else []) + learned
    fig = _new_figure(size, dpi)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab10"]
    for j, task in enumerate(tasks):
        points = [_point(scores, intervals, j) for scores, intervals in positions]
        xs = list(range(len(points)))
        mean = [p[0] for p in points]
        start = min(j + with_initial, len(points) - 1)  # position where task j is learned
        colour = colours(j % 10)
        ax.fill_between(xs, [p[1] for p in points], [p[2] for p in points], color=colour, alpha=0.15, linewidth=0)
        ax.plot(xs[: start + 1], mean[: start + 1], linestyle=":", color=colour, linewidth=1.2)
        ax.plot(xs[start:], mean[start:], marker="o", markersize=4, color=colour, linewidth=2, label=_short(task, 24))
        ax.plot([xs[start]], [mean[start]], marker="*", markersize=11, color=colour, linestyle="none")
    ax.set_xticks(range(len(xlabels)), xlabels, rotation=20 if len(xlabels) > 3 else 0,
                  ha="right" if len(xlabels) > 3 else "center", fontsize=_label_size(len(xlabels)))
    columns = min(3, len(tasks))
    rows = -(-len(tasks) // columns)
    ax.set_ylim(0, 106 + 8 * rows)  # the legend sits above 100, clear of every line
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"score on {_report_split(results_list[0])} (0-100)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=columns, framealpha=0.9, borderaxespad=0.3,
              handlelength=1.6, columnspacing=1.2)
    seeds = len(results_list)
    ax.set_title(f"{algorithm}: each task's score along the sequence ({seeds} seed{'s' * (seeds > 1)})", fontsize=11)
    band = ("95% t-interval of the mean over seeds" if seeds > 1
            else "95% bootstrap interval over the evaluation examples (one seed)")
    note = [f"Line: mean over seeds; band: {band}. Star: the task is learned there; dotted before it "
            "(untrained head)."]
    _layout(fig, _note(fig, note))
    return fig


def accuracy_over_sequence(results_list: Sequence[Mapping[str, Any]], path: str | Path, *,
                           size: tuple[float, float] = DEFAULT_SIZE, dpi: int = DEFAULT_DPI) -> Path:
    """Draw each task's score after every task of the sequence, for one algorithm, as a PNG.

    One line per task j: x is the point in the sequence (``initial``, then "after task i"), y the
    score on task j there, the mean over the given runs (seeds). A star marks where task j is learned;
    the dotted part before it scores an untrained head, the solid part after it shows the task kept
    or forgotten. The shaded band is the 95% t-interval of the mean over seeds when there are two or
    more runs, else the single run's 95% bootstrap interval (evaluation noise only). Runs still going
    are cut to the rows they all have.

    Args:
        results_list: results dicts of one algorithm and one task order (one per seed).
        path: the PNG to write.
        size: figure size in inches.
        dpi: pixels per inch.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ReportError: no runs, several algorithms or several task orders.
    """
    return _save(accuracy_over_sequence_figure(results_list, size=size, dpi=dpi), path, dpi)


# --------------------------------------------------------------------------- forgetting
def _run_metrics(results: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ``metrics``, computed from a complete matrix when the file has none."""
    found = dict(results.get("metrics") or {})
    tasks = list(results.get("tasks") or [])
    matrix = results.get("accuracy_matrix") or []
    if "forgetting" not in found and tasks and len(matrix) == len(tasks):
        refs = results.get("references") or {}
        random = refs.get("random") or [0.0] * len(tasks)
        found = _metrics.compute_all(matrix, results.get("initial_scores") or None, random, None, tasks,
                                     ci=results.get("accuracy_matrix_ci"))
    return found


def forgetting_matrix(results: Mapping[str, Any]) -> tuple[list[list[float | None]], dict[str, str]]:
    """CLiMB's forgetting ``F[i][j]`` (task j after task i, ``None`` where undefined) and the reasons.

    Reads ``metrics.forgetting`` in either stored form, ``{"after:<task i>": {"<task j>": value}}``
    (results.json) or a ``T x T`` list with nulls (:func:`climb_harness.core.metrics.forgetting`). Returns
    the matrix and ``metrics.undefined``.
    """
    tasks = [str(t) for t in results.get("tasks") or []]
    found = _run_metrics(results)
    stored = found.get("forgetting")
    T = len(tasks)
    F: list[list[float | None]] = [[None] * T for _ in range(T)]
    if isinstance(stored, Mapping):
        for key, row in stored.items():
            after = str(key).removeprefix("after:")
            if after in tasks and isinstance(row, Mapping):
                for task, value in row.items():
                    if task in tasks:
                        F[tasks.index(after)][tasks.index(task)] = None if value is None else float(value)
    elif isinstance(stored, Sequence):
        for i, row in enumerate(stored[:T]):
            for j, value in enumerate(list(row)[:T]):
                F[i][j] = None if value is None or j >= i else float(value)
    return F, dict(found.get("undefined") or {})


def _undefined_lines(tasks: list[str], F: list[list[float | None]], reasons: Mapping[str, str]) -> list[str]:
    """One note line per past task whose forgetting is undefined somewhere, with the reason given."""
    lines = []
    for j, task in enumerate(tasks):
        missing = [tasks[i] for i in range(j + 1, len(tasks)) if F[i][j] is None]
        if missing:
            reason = reasons.get(f"forgetting.after:{missing[0]}.{task}", "undefined")
            lines.append(f"Left out, {task} after {', '.join(missing)}: {reason}")
    return lines


def _bars(ax: Axes, tasks: list[str], F: list[list[float | None]]) -> int:
    """Grouped bars: a group per past task j, a bar per later task i. Returns the bars drawn."""
    import matplotlib

    T = len(tasks)
    colours = matplotlib.colormaps["tab10"]
    width = 0.8 / max(1, T - 1)
    drawn = 0
    for i in range(1, T):
        xs = [j + (i - j - 1 - (T - 2 - j) / 2) * width for j in range(i) if F[i][j] is not None]
        ys = [F[i][j] for j in range(i) if F[i][j] is not None]
        colour = colours((i - 1) % 10)
        container = ax.bar(xs, ys, width=width * 0.95, color=colour, label=f"after {_short(tasks[i], 24)}")
        ax.hlines(ys, [x - width * 0.47 for x in xs], [x + width * 0.47 for x in xs], colors=[colour],
                  linewidth=2.5)  # a bar of height ~0 still shows its colour
        if T <= 6:
            ax.bar_label(container, fmt="%.1f", fontsize=7, padding=2)
        drawn += len(xs)
    return drawn


@_plain_text
def forgetting_per_task_figure(results: Mapping[str, Any], *, size: tuple[float, float] = DEFAULT_SIZE,
                               dpi: int = DEFAULT_DPI) -> Figure:
    """CLiMB's forgetting of each past task after each later task (see :func:`forgetting_per_task`)."""
    tasks = [str(t) for t in results.get("tasks") or []]
    F, reasons = forgetting_matrix(results)
    fig = _new_figure(size, dpi)
    ax = fig.add_subplot()
    drawn = _bars(ax, tasks, F) if len(tasks) > 1 else 0
    if drawn:
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axhline(100, color="grey", linewidth=0.8, linestyle="--")
        ax.legend(title="forgetting measured", fontsize=8, title_fontsize=8, loc="best", framealpha=0.85)
        top = max(110.0, max(v for row in F for v in row if v is not None) * 1.12)
        bottom = min(0.0, min(v for row in F for v in row if v is not None) * 1.12)
        ax.set_ylim(bottom - 5, top)
    else:
        ax.text(0.5, 0.5, "no forgetting value is defined for this run", ha="center", va="center",
                transform=ax.transAxes, fontsize=10, color="#444444")
    past = tasks[:-1]
    ax.set_xticks(range(len(past)), [_short(t) for t in past], fontsize=_label_size(len(past)))
    ax.set_xlim(-0.6, max(0.6, len(past) - 0.4))
    ax.set_xlabel("past task (learned earlier)")
    ax.set_ylabel("forgetting (% of its gain over random lost)")
    ax.set_title(f"{_name(results.get('algorithm', '?'))} (seed {_name(results.get('seed', '?'))}): forgetting per task", fontsize=11)
    note = ["Forgetting = 100 (A[j][j] - A[i][j]) / (A[j][j] - random[j]) (CLiMB); dashed: all of the gain lost; below 0: "
            "the task improved."]
    note += _undefined_lines(tasks, F, reasons)
    _layout(fig, _note(fig, note))
    return fig


def forgetting_per_task(results: Mapping[str, Any], path: str | Path, *, size: tuple[float, float] = DEFAULT_SIZE,
                        dpi: int = DEFAULT_DPI) -> Path:
    """Draw CLiMB's normalised forgetting of each task after each later task, as grouped bars, to a PNG.

    A group per past task j (every task but the last), a bar per later task i, of
    ``100 (A[j][j] - A[i][j]) / (A[j][j] - random[j])``: the share of the gain over random guessing
    that task j had when learned which is lost after learning task i (0: kept it all, 100: back to
    random, negative: improved). Undefined values (``null`` in ``metrics.forgetting``: task j never
    clearly beat random) are left out and listed, with the run's reason, in a note under the plot.

    Args:
        results: one results.json dict (its ``metrics.forgetting``; computed from a complete matrix
            when missing).
        path: the PNG to write.
        size: figure size in inches.
        dpi: pixels per inch.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return _save(forgetting_per_task_figure(results, size=size, dpi=dpi), path, dpi)


# --------------------------------------------------------------------------- methods against each other
def _method_points(results_list: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per method with both averages defined: name, x, y, their spreads and whether it learned; and the rest."""
    points, left_out = [], []
    for name, summary in aggregate(results_list).items():
        x, y = summary["average_max_forgetting"], summary["average_accuracy"]
        if x["mean"] is None or y["mean"] is None:
            left_out.append(_name(name))
            continue
        points.append({"name": _name(name), "x": x["mean"], "y": y["mean"], "xerr": _half_widths(x), "yerr": _half_widths(y),
                       "runs": summary["runs"], "dagger": did_not_learn(summary)})
    return points, left_out


def _half_widths(stat: Mapping[str, Any]) -> list[list[float]] | None:
    """matplotlib's asymmetric error bar ``[[below], [above]]`` of an interval (None without one)."""
    if stat.get("low") is None:
        return None
    return [[stat["mean"] - stat["low"]], [stat["high"] - stat["mean"]]]


def _limits(values: list[float], errors: list[float], pad: float, floor: float | None = None,
            ceil: float | None = None) -> tuple[float, float]:
    low = min(v - e for v, e in zip(values, errors))
    high = max(v + e for v, e in zip(values, errors))
    span = max(high - low, 10.0)
    low, high = low - pad * span, high + pad * span
    return (low if floor is None else max(floor, low)), (high if ceil is None else min(ceil, high))


def _place_labels(ax: Axes, points: list[dict[str, Any]], xlim: tuple[float, float],
                  ylim: tuple[float, float]) -> None:
    """Label each point, moving a label down until it no longer overlaps one already placed."""
    placed: list[tuple[float, float, float]] = []  # (x, y, width) in axes fractions
    height = 0.055
    for point in sorted(points, key=lambda p: (-p["y"], p["name"])):
        text = point["name"] + (" †" if point["dagger"] else "")
        width = 0.0155 * len(text) + 0.01
        fx = (point["x"] - xlim[0]) / (xlim[1] - xlim[0])
        fy = (point["y"] - ylim[0]) / (ylim[1] - ylim[0])
        lx = fx + 0.025 if fx + 0.025 + width < 1.0 else fx - 0.025 - width
        ly = fy + 0.02
        while any(abs(ly - py) < height and lx < px + pw and px < lx + width for px, py, pw in placed):
            ly -= height
        placed.append((lx, ly, width))
        moved = abs(ly - fy - 0.02) > 1e-9
        ax.annotate(text, (point["x"], point["y"]), xytext=(lx, ly), textcoords="axes fraction", fontsize=8.5,
                    color=point.get("colour", "black"),
                    va="bottom", ha="left",
                    arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.7} if moved else None)


@_plain_text
def method_comparison_figure(results_list: Sequence[Mapping[str, Any]], *, size: tuple[float, float] = DEFAULT_SIZE,
                             dpi: int = DEFAULT_DPI) -> Figure:
    """Average accuracy against average maximum forgetting per method (see :func:`method_comparison`)."""
    import matplotlib

    points, left_out = _method_points(results_list)
    fig = _new_figure(size, dpi)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab10"]
    for k, point in enumerate(points):
        colour = point["colour"] = colours(k % 10)  # a marker shape per method too: coinciding points stay visible
        ax.errorbar(point["x"], point["y"], xerr=point["xerr"], yerr=point["yerr"], fmt=_MARKERS[k % len(_MARKERS)],
                    markersize=8, capsize=4, color=colour, alpha=0.85,
                    markerfacecolor="white" if point["dagger"] else colour)
    note = []
    if points:
        xlim = _limits([p["x"] for p in points], [max(map(max, p["xerr"])) if p["xerr"] else 0.0 for p in points], 0.15)
        ylim = _limits([p["y"] for p in points], [max(map(max, p["yerr"])) if p["yerr"] else 0.0 for p in points],
                       0.15, 0.0, 102.0)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        _place_labels(ax, points, xlim, ylim)
        ax.text(0.02, 0.97, "better ↖", transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#2a7a2a")
    else:
        ax.text(0.5, 0.5, "no method has both averages defined", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("average maximum forgetting (lower is better)")
    ax.set_ylabel("average accuracy (higher is better)")
    ax.grid(alpha=0.3)
    ax.set_title("Methods: accuracy against forgetting", fontsize=11)
    seeds = sorted({p["runs"] for p in points})
    note.append(f"Error bars: 95% intervals of the means over {', '.join(map(str, seeds))} seed(s) (seed spread and the "
                "test examples' evaluation noise; one seed: evaluation noise only, none without per-example scores).")
    if any(p["dagger"] for p in points):
        note.append("† (hollow): did not learn (mean knowledge transfer below -50): its low forgetting is no finding.")
    if left_out:
        note.append(f"Left out (an average undefined, e.g. one task or no complete run): {', '.join(left_out)}.")
    _layout(fig, _note(fig, note))
    return fig


def method_comparison(results_list: Sequence[Mapping[str, Any]], path: str | Path, *,
                      size: tuple[float, float] = DEFAULT_SIZE, dpi: int = DEFAULT_DPI) -> Path:
    """Draw one point per algorithm, average accuracy (y) against average maximum forgetting (x), as a PNG.

    Up and to the left is better. Each point is the mean over that algorithm's complete runs (seeds,
    grouped by :func:`climb_harness.report.tables.aggregate`); error bars are the 95% intervals of the
    means (seed spread and the test examples' evaluation noise, :mod:`climb_harness.core.comparison`). A method that did not learn
    (:func:`climb_harness.report.tables.did_not_learn`) is drawn hollow and labelled †; methods whose
    averages are undefined are listed in a note.

    Args:
        results_list: results dicts of any algorithms and seeds.
        path: the PNG to write.
        size: figure size in inches.
        dpi: pixels per inch.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return _save(method_comparison_figure(results_list, size=size, dpi=dpi), path, dpi)
