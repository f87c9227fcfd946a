"""``climb report``: leaderboards and tables per experiment, and a report folder with figures."""

from __future__ import annotations

from typing import Any

import click

from climb_harness.api.errors import UsageError
from climb_harness.cli._common import _csv, handles_errors


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--matrices/--no-matrices", default=False, help="Also print each run's accuracy matrix.")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Also write a report folder: report.md, report.html (self-contained) and figures/*.png.")
@click.option("--format", "formats", default="md,html", show_default=True, help="With --output: md, html or both (comma-separated).")
@handles_errors
def report_cmd(paths: tuple[str, ...], matrices: bool, output: str | None, formats: str) -> None:
    """Summarise results.json files (Phase I) and transfer.json files (Phase II), or folders holding them: a
    leaderboard and tables on the terminal, and with --output a Markdown and HTML report with figures."""
    from pathlib import Path

    from climb_harness.core.results import RESULTS_FILE, read_results
    from climb_harness.report.grouping import Run
    from climb_harness.report.tables import aggregate_table, format_matrix, summarise_methods, transfer_table
    from climb_harness.transfer.cells import CELLS_DIR, TRANSFER_FILE, read_transfer

    files, transfers = [], []
    for path in map(Path, paths):
        if path.is_dir():
            files += [f for f in sorted(path.rglob(RESULTS_FILE)) if CELLS_DIR not in f.relative_to(path).parts[:-1]]
            transfers += sorted(path.rglob(TRANSFER_FILE))
        elif path.name == TRANSFER_FILE or _declares_transfer(path):
            transfers.append(path)
        else:
            files.append(path)
    if not files and not transfers:
        raise UsageError(f"No {RESULTS_FILE} or {TRANSFER_FILE} under {', '.join(paths)}. Point climb report at the "
                         "output folder of climb run or climb transfer.")
    runs = [Run(r, f) for f, r in zip(files, map(read_results, files))
            if "transfer" not in (r.get("config") or {})]  # not a Phase II cell's work
    if matrices:
        for run in runs:
            result = run.results
            click.echo(f"{result['algorithm']} (seed {result['seed']})")
            click.echo(format_matrix(result["tasks"], result["accuracy_matrix"], result.get("initial_scores")) + "\n")
    transfer_results = [read_transfer(path) for path in transfers]
    if runs:
        from climb_harness.report.leaderboard import experiment_heading, leaderboard_markdown, leaderboards

        boards = leaderboards(runs)
        for group, rows in boards:
            click.echo(f"## {experiment_heading(group, len(boards))}\n")
            click.echo(leaderboard_markdown(rows) + "\n")
            click.echo(aggregate_table(summarise_methods(group)) + "\n")
    for path, transfer in zip(transfers, transfer_results):
        click.echo(("\n" if runs else "") + f"{path}:\n" + transfer_table(transfer))
    if output:
        _write_report_folder(runs, transfer_results, Path(output), _csv(formats))

def _write_report_folder(results: list[Any], transfers: list[Any], output: Any, formats: list[str]) -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("climb report --output draws its figures with matplotlib, which is not installed: "
                         "pip install climb-harness[report] (or pip install matplotlib), then rerun.")
    from climb_harness.report.html import write_report

    written = write_report(results, transfers, output, formats)
    figures = sum(1 for key in written if key.startswith("figures/"))
    pages = ", ".join(str(written[f]) for f in formats if f in written)
    click.echo(f"\nreport: {pages} ({figures} figure(s) in {output / 'figures'})", err=False)

def _declares_transfer(path: Any) -> bool:
    """Whether a JSON file says it is Phase II results (``"kind": "transfer"``)."""
    from climb_harness.api.bounded_json import load

    try:
        return load(path).get("kind") == "transfer"
    except (OSError, ValueError, AttributeError):
        return False
