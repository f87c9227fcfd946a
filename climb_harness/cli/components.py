"""``climb list``, ``climb show``, ``climb validate``, ``climb check`` and ``climb new``: what is installed, and a plugin author's checks."""

from __future__ import annotations

import json
import sys

import click

from climb_harness.api.errors import UsageError, shorten
from climb_harness.cli._common import KIND_CHOICES, handles_errors, load_registry, plugin_option
from climb_harness.scaffold.files import KINDS as SCAFFOLD_KINDS


@click.command("list")
@click.argument("what", required=False, type=click.Choice(sorted(KIND_CHOICES)))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@plugin_option
@handles_errors
def list_cmd(what: str | None, as_json: bool, plugins: tuple[str, ...]) -> None:
    """List installed tasks, encoders and algorithms with their status."""
    registry = load_registry(plugins)
    rows = [e.describe() for e in registry.all_entries(KIND_CHOICES[what] if what else None)]
    broken = [{"plugin": p.name, "distribution": p.distribution, "version": p.version, "errors": p.errors} for p in registry.plugins if p.errors]
    if as_json:
        click.echo(json.dumps({"components": rows, "plugin_errors": broken}, indent=2))
        return
    if not rows:
        click.echo("No components installed. Install a plugin (e.g. pip install -e plugins/climb-easyvqa) or use --plugin.")
    columns = ["name", "kind", "distribution", "version", "status", "summary"]
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns[:-1]}
    if rows:
        click.echo("  ".join(c.upper().ljust(widths.get(c, 0)) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row[c]).ljust(widths.get(c, 0)) for c in columns).rstrip())
        for problem in row["problems"]:
            click.echo(f"    invalid: {problem}")
    for plugin in broken:
        for error in plugin["errors"]:
            click.echo(f"plugin error: {error}", err=True)
    for info in registry.plugins:
        for warning in info.warnings:
            click.echo(f"plugin warning: {warning}", err=True)

@click.command("validate")
@click.argument("selected", nargs=-1, metavar="[PLUGIN...]")
@plugin_option
@handles_errors
def validate_cmd(selected: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """Check plugins' hooks and manifests; exit 1 on any error.

    PLUGIN is a plugin (entry-point) name or a distribution name; default: the plugins given with
    --plugin, else every installed plugin.
    """
    registry = load_registry(plugins)
    known = {p.name for p in registry.plugins} | {p.distribution for p in registry.plugins}
    unknown = [s for s in selected if s not in known]
    if unknown:
        raise UsageError(
            f"No plugin or distribution named {', '.join(map(repr, unknown))}. Installed plugins: "
            f"{', '.join(sorted(p.name + ' (' + p.distribution + ')' for p in registry.plugins)) or '(none)'}."
        )
    if selected:
        chosen = [p for p in registry.plugins if p.name in selected or p.distribution in selected]
    elif plugins:  # `climb validate --plugin X` validates X, as `climb check --plugin X` checks X
        chosen = [p for p in registry.plugins if p.source == "--plugin"]
    else:
        chosen = list(registry.plugins)
    registry.check_factories()
    errors = 0
    for plugin in chosen:
        for error in plugin.errors:
            click.echo(f"ERROR {error}")
            errors += 1
        entries = [e for e in registry.all_entries() if e.plugin is plugin]
        for entry in entries:
            for problem in entry.problems:
                click.echo(f"ERROR {plugin.label} > {entry.kind} {shorten(repr(entry.name), 80)} > {problem.path}: {problem.message} (rule: {problem.rule})")
                errors += 1
        for warning in plugin.warnings:
            click.echo(f"WARN  {warning}")
        if plugin.ok and not plugin.warnings and all(e.status == "ok" for e in entries):
            click.echo(f"ok    {plugin.label}: {len(entries)} component(s)")
    click.echo(f"{len(chosen)} plugin(s) checked, {errors} error(s)")
    sys.exit(1 if errors else 0)

@click.command("show")
@click.argument("name", metavar="NAME|KIND:NAME")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of matching components: registry record plus the full manifest.")
@plugin_option
@handles_errors
def show_cmd(name: str, as_json: bool, plugins: tuple[str, ...]) -> None:
    """Show a component's manifest, its options (type, default, constraints, description) and its paper."""
    from climb_harness.cli.show import describe
    from climb_harness.core.registry import KINDS

    registry = load_registry(plugins)
    kind, sep, bare = name.partition(":")
    kinds = [kind] if sep and kind in KINDS else list(KINDS)
    bare = bare if sep and kind in KINDS else name
    entries = [e for k in kinds for e in registry.entries[k].get(bare, [])]
    if not entries and len(kinds) == 1:
        registry.get(kinds[0], bare)  # raises, naming the installed ones and the closest
    if not entries:
        import difflib

        known = sorted({e.name for e in registry.all_entries()})
        close = difflib.get_close_matches(bare, known, n=1)
        raise UsageError(
            f"No component named {shorten(repr(bare), 80)}.{f' Did you mean {close[0]!r}?' if close else ''} Installed: "
            f"{shorten(', '.join(known) or '(none)', 600)}. Run `climb list` to see them by kind."
        )
    if as_json:
        click.echo(json.dumps([e.describe() | {"manifest": dict(e.manifest)} for e in entries], indent=2, default=str))
        return
    click.echo("\n\n".join(describe(e) for e in entries))

@click.command("check")
@click.argument("selected", nargs=-1, metavar="[PLUGIN|KIND:NAME...]")
@plugin_option
@click.option("--workdir", type=click.Path(file_okay=False), default=None, help="Keep run outputs here (default: a temporary folder).")
@click.option("--quiet", "-q", is_flag=True, help="Show only failed and skipped checks.")
@handles_errors
def check_cmd(selected: tuple[str, ...], plugins: tuple[str, ...], workdir: str | None, quiet: bool) -> None:
    """Run the conformance suite on plugins (every plugin if none given); exit 1 on any failure."""
    from climb_harness.testing.conformance import check_command

    sys.exit(check_command(selected, plugins, workdir=workdir, verbose=not quiet, echo=click.echo))

@click.command("new")
@click.argument("kind", type=click.Choice(SCAFFOLD_KINDS))
@click.argument("name")
@click.option("--dest", "--dir", "dest", default=".", type=click.Path(file_okay=False), help="Folder to write climb-NAME/ into (default: the current folder).")
@handles_errors
def new_cmd(kind: str, name: str, dest: str) -> None:
    """Write a ready-to-install plugin distribution climb-NAME/ (manifest, component, tests, CI workflow)."""
    from pathlib import Path

    from climb_harness.scaffold.files import new_plugin, next_steps

    click.echo(next_steps(new_plugin(kind, name, Path(dest)), name))
