"""``climb data check``: which files of each task's official layout are missing, and where to get them."""

from __future__ import annotations

import sys

import click

from climb_harness.cli._common import handles_errors, load_registry, plugin_option


@click.group("data")
def data_group() -> None:
    """Check that tasks' data is where they expect it."""

@data_group.command("check")
@click.argument("tasks", nargs=-1, required=True, metavar="TASK...")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Folder holding one data folder per task (DIR/<task>); default: each task's data_dir option, else $CLIMB_DATA_ROOT.")
@plugin_option
@handles_errors
def data_check_cmd(tasks: tuple[str, ...], data_root: str | None, plugins: tuple[str, ...]) -> None:
    """Say which of each task's expected files are missing, where to get them and the layout; exit 1 if any is."""
    from pathlib import Path

    from climb_harness.cli.data_check import check_data

    reports = check_data(load_registry(plugins), tasks, Path(data_root) if data_root else None)
    for report in reports:
        for line in report.lines():
            click.echo(line)
    bad = [r.task for r in reports if not r.ok]
    click.echo(f"{len(reports)} task(s) checked, {len(bad)} with missing data" + (f": {', '.join(bad)}" if bad else ""))
    sys.exit(1 if bad else 0)
