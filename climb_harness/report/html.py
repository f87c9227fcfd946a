"""A report folder of Phase I runs (and Phase II transfer results): ``report.md``, ``report.html`` and
the figures under ``figures/``.

:func:`write_report` lays the report out once, as a list of blocks (headings, Markdown text, fixed-width
matrices, figures), then renders it twice: as Markdown that links the PNGs by relative path, and as
one self-contained HTML page (CSS inline, every figure a base64 ``data:`` URI, no script, no external
reference) that can be mailed or archived as a single file.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from climb_harness.report import figures as _figures
from climb_harness.report.leaderboard import experiment_heading, leaderboard_markdown, leaderboards
from climb_harness.report.tables import ReportError, format_matrix, md_text, metrics_table, transfer_table
from climb_harness.core.io import atomic_write_bytes

__all__ = ["FIGURES_DIR", "FORMATS", "HTML_FILE", "MD_FILE", "write_report"]

MD_FILE, HTML_FILE, FIGURES_DIR = "report.md", "report.html", "figures"
FORMATS: tuple[str, ...] = ("md", "html")
_TITLE = "climb-harness report"
_FIX = "free space (or make the folder writable) and rerun"
_NUM = ' class="num"'


# --------------------------------------------------------------------------- the layout
@dataclass(frozen=True)
class Heading:
    """A section title (``level`` 2 or 3), with an anchor for the page's contents."""

    level: int
    text: str


@dataclass(frozen=True)
class Markdown:
    """Markdown of the simple kind the report modules write: paragraphs, pipe tables, ``- `` lists."""

    text: str


@dataclass(frozen=True)
class Pre:
    """Fixed-width text (an aligned score matrix)."""

    text: str


@dataclass(frozen=True)
class Figure:
    """A PNG under the report folder (``path`` relative to it) and what it shows."""

    path: str
    caption: str


Block = Union[Heading, Markdown, Pre, Figure]


def _slug(text: str, limit: int = 80) -> str:
    """A file- and anchor-safe name of at most ``limit`` characters: letters, digits, ``.``, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:limit].strip("-.") or "x"


class _Figures:
    """Writes figures under ``<output_dir>/figures/`` with unique names; remembers what it wrote."""

    def __init__(self, output_dir: Path) -> None:
        self.root = output_dir
        self.written: dict[str, Path] = {}

    def draw(self, draw: Any, data: Any, stem: str, caption: str) -> Figure:
        name, n = f"{FIGURES_DIR}/{_slug(stem)}.png", 1
        while name in self.written:
            n += 1
            name = f"{FIGURES_DIR}/{_slug(stem)}-{n}.png"
        self.written[name] = draw(data, self.root / name)
        return Figure(name, caption)


def _split(results: Mapping[str, Any]) -> str:
    return str((results.get("protocol") or {}).get("report_split") or results.get("eval_split") or "?")


def _phase1_overview(group: Any, rows: Sequence[Mapping[str, Any]], suffix: str, total: int,
                     figs: _Figures) -> list[Block]:
    runs = group.runs()
    return [
        Heading(2, "Leaderboard" + suffix),
        Markdown(experiment_heading(group, total)),
        Markdown(leaderboard_markdown(rows)),
        figs.draw(_figures.method_comparison, [r for r in runs if r.complete], "method-comparison" + (f"-{_slug(suffix)}" if suffix else ""),
                  "Average accuracy against average maximum forgetting, one point per method with its 95% intervals "
                  "(up and left is better)."),
        Heading(2, "Runs" + suffix),
        Markdown(metrics_table([r.results for r in runs])),
    ]


def _run_blocks(results: Mapping[str, Any], figs: _Figures) -> list[Block]:
    """One run: its matrix as text, its heatmap, and (once complete) its forgetting per task."""
    name, seed = str(results.get("algorithm", "?")), results.get("seed", "?")
    matrix = results.get("accuracy_matrix") or []
    if not matrix:
        return [Heading(3, f"{name}, seed {seed}"), Markdown(f"No task finished yet (status {results.get('status')}).")]
    stem = f"{name}-seed-{seed}"
    blocks: list[Block] = [
        Heading(3, f"{name}, seed {seed}"),
        Markdown(f"Accuracy matrix on the {_split(results)} split ({results.get('status', '?')}):"),
        Pre(format_matrix(results.get("tasks") or [], matrix, results.get("initial_scores") or None)),
        figs.draw(_figures.accuracy_heatmap, results, f"heatmap-{stem}",
                  f"{name} (seed {seed}): accuracy matrix with 95% bootstrap intervals; boxed: right after learning."),
    ]
    if results.get("status") == "complete" and len(matrix) > 1:
        blocks.append(figs.draw(_figures.forgetting_per_task, results, f"forgetting-{stem}",
                                f"{name} (seed {seed}): CLiMB's forgetting of each past task after each later task."))
    return blocks


def _method_blocks(name: str, runs: Sequence[Mapping[str, Any]], suffix: str, figs: _Figures) -> list[Block]:
    blocks: list[Block] = [Heading(2, f"Method: {name}{suffix}")]
    started = [r for r in runs if r.get("accuracy_matrix")]
    if started:
        blocks.append(figs.draw(_figures.accuracy_over_sequence, started, f"sequence-{name}{suffix}",
                                f"{name}: each task's score after every task of the sequence, over {len(started)} "
                                "seed(s)."))
    for results in runs:
        blocks += _run_blocks(results, figs)
    return blocks


def _phase2_blocks(transfers: Sequence[Mapping[str, Any]]) -> list[Block]:
    blocks: list[Block] = []
    for k, transfer in enumerate(transfers, 1):
        title = "Phase II: low-shot transfer" + (f" ({k})" if len(transfers) > 1 else "")
        blocks += [Heading(2, title), Markdown(transfer_table(transfer))]
    return blocks


def _layout(results_list: Sequence[Any], transfers: Sequence[Mapping[str, Any]], figs: _Figures) -> list[Block]:
    blocks: list[Block] = []
    boards = leaderboards(results_list) if results_list else []
    for group, rows in boards:
        suffix = "" if len(boards) == 1 else f" ({group.name})"
        blocks += _phase1_overview(group, rows, suffix, len(boards), figs)
        for name, method in group.methods.items():
            blocks += _method_blocks(name, [r.results for r in [*method.runs, *method.incomplete]], suffix, figs)
    blocks += _phase2_blocks(transfers)
    if not blocks:
        raise ReportError("nothing to report: give Phase I results or Phase II transfer results.")
    return blocks


# --------------------------------------------------------------------------- Markdown
def _markdown_block(block: Block) -> str:
    """One block as Markdown; headings and captions carry names from results files, so they are escaped
    (:func:`climb_harness.report.tables.md_text`), and a fence is longer than any run of backticks it holds."""
    if isinstance(block, Heading):
        return f"{'#' * block.level} {md_text(block.text, 300)}"
    if isinstance(block, Pre):
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", block.text)), default=0))
        return f"{fence}text\n{block.text}\n{fence}"
    if isinstance(block, Figure):
        return f"![{md_text(block.caption, 400)}]({block.path})"
    return block.text


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown; figures are image links relative to the report folder."""
    return "\n\n".join([f"# {_TITLE}", *(_markdown_block(b) for b in blocks)]) + "\n"


# --------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .55rem; }
th { background: #f2f2f5; } tr:nth-child(even) td { background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f8; padding: .7rem; overflow-x: auto; font-size: .85rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { font-size: .85rem; color: #555; }
nav ul { columns: 2; font-size: .9rem; } ul.notes { font-size: .85rem; color: #444; }
""".strip()


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_html(lines: Sequence[str]) -> str:
    """A Markdown pipe table (header, alignment row, body) as an HTML table."""
    header, align, body = _cells(lines[0]), _cells(lines[1]), [_cells(line) for line in lines[2:]]
    right = [a.endswith(":") and not a.startswith(":") for a in align]

    def row(cells: Sequence[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}{_NUM if k < len(right) and right[k] else ''}>{html.escape(c)}</{tag}>"
                                for k, c in enumerate(cells)) + "</tr>"

    return "<table>\n<thead>" + row(header, "th") + "</thead>\n<tbody>\n" + "\n".join(
        row(cells, "td") for cells in body) + "\n</tbody>\n</table>"


def markdown_to_html(text: str) -> str:
    """The simple Markdown of :class:`Markdown` blocks as HTML: paragraphs, pipe tables and ``- `` lists."""
    parts: list[str] = []
    groups: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        kind = "" if not line.strip() else "table" if line.lstrip().startswith("|") else (
            "list" if line.startswith("- ") else "p")
        if groups and groups[-1][0] == kind and kind:
            groups[-1][1].append(line)
        else:
            groups.append((kind, [line]))
    for kind, lines in groups:
        if kind == "table":
            parts.append(_table_html(lines))
        elif kind == "list":
            parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(x[2:])}</li>" for x in lines) + "</ul>")
        elif kind == "p":
            parts.append("<p>" + html.escape(" ".join(lines)) + "</p>")
    return "\n".join(parts)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_block(block: Block, root: Path, anchors: Mapping[int, str]) -> str:
    if isinstance(block, Heading):
        return f'<h{block.level} id="{anchors[id(block)]}">{html.escape(block.text)}</h{block.level}>'
    if isinstance(block, Pre):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, Figure):
        caption = html.escape(block.caption)
        return (f'<figure><img src="{_data_uri(root / block.path)}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>")
    return markdown_to_html(block.text)


def _anchors(blocks: Sequence[Block]) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in blocks:
        if isinstance(block, Heading):
            base, n = _slug(block.text.lower()), 1
            anchor = base
            while anchor in out.values():
                n += 1
                anchor = f"{base}-{n}"
            out[id(block)] = anchor
    return out


def render_html(blocks: Sequence[Block], root: Path) -> str:
    """The blocks as one self-contained HTML page: inline CSS, figures read from ``root`` and embedded."""
    anchors = _anchors(blocks)
    contents = "".join(f'<li><a href="#{anchors[id(b)]}">{html.escape(b.text)}</a></li>'
                       for b in blocks if isinstance(b, Heading) and b.level == 2)
    body = "\n".join(_html_block(b, root, anchors) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_TITLE}</title>\n'
            f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n<h1>{_TITLE}</h1>\n<nav><ul>{contents}</ul></nav>\n"
            f"{body}\n</body>\n</html>\n")


# --------------------------------------------------------------------------- entry point
def write_report(results_list: Sequence[Mapping[str, Any]], transfers: Sequence[Mapping[str, Any]] | None,
                 output_dir: str | Path, formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write the report of ``results_list`` (Phase I runs) and ``transfers`` (Phase II) to ``output_dir``.

    Contents: the leaderboard (:func:`climb_harness.report.leaderboard.leaderboard_markdown`) with the
    methods' accuracy-against-forgetting figure, a table of every run's metrics, then per method its
    scores along the sequence and per run its accuracy matrix (as text, :func:`format_matrix`, and
    as a heatmap) and its forgetting per task; last, each Phase II table
    (:func:`climb_harness.report.tables.transfer_table`). The PNGs are written under ``figures/`` whatever
    the formats; ``report.md`` links them by relative path, ``report.html`` embeds them.

    Args:
        results_list: results.json dicts (any algorithms and seeds; running runs are shown as far as
            they got).
        transfers: transfer.json dicts, or ``None``/empty for no Phase II section.
        output_dir: the report folder (created).
        formats: any of ``"md"`` and ``"html"``.

    Returns:
        ``{"md": <report.md>, "html": <report.html>, "figures/<name>.png": <path>, ...}``: every file
        written.

    Raises:
        ReportError: an unknown format, nothing to report, or results that cannot be shown together.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ReportError(f"unknown report format(s) {unknown}; choose from {list(FORMATS)}.")
    root = Path(output_dir)
    figs = _Figures(root)
    blocks = _layout(list(results_list), list(transfers or []), figs)
    written: dict[str, Path] = {}
    if "md" in formats:
        written["md"] = root / MD_FILE
        atomic_write_bytes(written["md"], render_markdown(blocks).encode("utf-8"), fix=_FIX)
    if "html" in formats:
        written["html"] = root / HTML_FILE
        atomic_write_bytes(written["html"], render_html(blocks, root).encode("utf-8"), fix=_FIX)
    return {**written, **figs.written}
