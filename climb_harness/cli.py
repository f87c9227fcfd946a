"""The ``climb`` command: thin click wrappers over the registry, runner, transfer and report modules.

Exit codes: 0 success, 1 a check or run failed, 2 a usage error. Heavy modules (torch, the runner)
are imported inside the commands that need them, so ``climb list`` and ``climb validate`` stay fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from climb_harness._version import __version__
from climb_harness.errors import ClimbError, UsageError, shorten

#: The longest error message printed: a value echoed from a 1 MB file must not flood the terminal.
MAX_MESSAGE = 2_000

KIND_CHOICES = {"tasks": "task", "encoders": "encoder", "algorithms": "algorithm", "loggers": "logger"}

plugin_option = click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE_OR_PATH",
    help="Load a plugin that is not installed: a module name, or the path of its hook .py file, package folder or distribution folder (repeatable).",
)


def _fail(message: str, exit_code: int) -> None:
    click.echo(f"Error: {shorten(' '.join(message.split()), MAX_MESSAGE)}", err=True)
    sys.exit(exit_code)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ClimbError into its one-paragraph message and exit code instead of a traceback.

    Anything else that escapes is a bug of the harness: it is reported in one paragraph too (exit 1),
    with the traceback only when ``CLIMB_DEBUG=1``.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClimbError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("CLIMB_DEBUG"):
                raise
            _fail(
                f"climb-harness hit an unexpected {type(exc).__name__}: {shorten(exc, 500)}. This is a bug in the harness "
                f"(or in a plugin it called), not in your input: please report it with the command you ran; rerun with "
                f"CLIMB_DEBUG=1 to see the traceback. Anything already written is kept (use --resume for a run).",
                1,
            )

    return wrapper


def load_registry(plugins: tuple[str, ...]) -> Any:
    from climb_harness.registry import Registry

    return Registry(plugins)


def _training_process() -> None:
    """What a process that trains gets: no downloads, no torch._dynamo import unless something compiles, and,
    under a data-parallel launcher, an end when the ``climb`` process that launched it ends."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the harness never downloads; plugins load local files
    from climb_harness.parallel import launched_processes, watch_launcher

    if launched_processes() > 1:
        watch_launcher()
    from climb_harness import _lazy_dynamo

    _lazy_dynamo.install()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="climb")
def main() -> None:
    """climb-harness: continual learning in multimodality, as a plugin registry."""


# --------------------------------------------------------------------------- list / validate
@main.command("list")
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


@main.command("validate")
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


@main.command("show")
@click.argument("name", metavar="NAME|KIND:NAME")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of matching components: registry record plus the full manifest.")
@plugin_option
@handles_errors
def show_cmd(name: str, as_json: bool, plugins: tuple[str, ...]) -> None:
    """Show a component's manifest, its options (type, default, constraints, description) and its paper."""
    from climb_harness.registry import KINDS
    from climb_harness.show import describe

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


# --------------------------------------------------------------------------- run / report
@main.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Experiment config (YAML or JSON); default: the embedded easy-VQA benchmark.")
@plugin_option
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. --set training.epochs=2 (repeatable).")
@click.option("--output", type=click.Path(file_okay=False), help="Output folder (default: the config's output, else runs/<name>).")
@click.option("--resume", is_flag=True, help="Continue each unfinished run after its last completed task.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: the cells one after another in this process; ray: each (algorithm, seed) cell as a Ray task.")
@click.option("--address", default=None, help="With --backend ray: the cluster to join (default: a local cluster of this machine's cores).")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=None, help="With --backend ray: cells running at once (default: all).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True, help="With --backend ray: retries of a cell whose worker dies.")
@click.option("--cpus-per-cell", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, help="With --backend ray.")
@click.option("--gpus-per-cell", type=click.FloatRange(min=0), default=0.0, show_default=True, help="With --backend ray.")
@click.option("--launcher", type=click.Choice(["none", "accelerate"]), default="none", show_default=True,
              help="accelerate: train each run data-parallel over --num-processes processes (`accelerate launch -m climb_harness run ...`).")
@click.option("--num-processes", type=click.IntRange(min=1), default=None,
              help="With --launcher accelerate: processes (default: the GPUs, else 2 CPU processes).")
@handles_errors
def run_cmd(config_path: str | None, plugins: tuple[str, ...], overrides: tuple[str, ...], output: str | None, resume: bool,
            backend: str, address: str | None, max_concurrent: int | None, retries: int, cpus_per_cell: float,
            gpus_per_cell: float, launcher: str, num_processes: int | None) -> None:
    """Phase I: learn the tasks in order with each algorithm and seed; print the accuracy matrices and metrics."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the harness never downloads; plugins load local files
    from climb_harness.parallel import is_main_process, launched_processes

    if launcher == "accelerate" and launched_processes() == 1:
        if backend == "ray":
            raise UsageError("--launcher accelerate trains one run over several processes; --backend ray runs cells in parallel. "
                             "Choose one of the two.")
        args = [*(["--config", config_path] if config_path else []), *[a for p in plugins for a in ("--plugin", p)],
                *[a for o in overrides for a in ("--set", o)], *(["--output", output] if output else []),
                *(["--resume"] if resume else [])]
        from climb_harness.config import load_config
        from climb_harness.launch import check_data_parallel, launch_accelerate

        config = load_config(config_path, overrides, output)  # bad input fails here, before any process starts
        check_data_parallel(config, load_registry(tuple(plugins) + tuple(config["plugins"])))
        raise SystemExit(launch_accelerate(args, num_processes))
    _training_process()
    from climb_harness.config import load_config
    from climb_harness.experiment import Experiment
    from climb_harness.report import aggregate_table, format_matrix

    config = load_config(config_path, overrides, output)
    registry = load_registry(tuple(plugins) + tuple(config["plugins"]))
    for plugin in registry.plugins:
        for problem in plugin.errors + plugin.warnings:
            if is_main_process():
                click.echo(f"warning: {problem}", err=True)
    echo = (lambda line: click.echo(line, err=True)) if is_main_process() else (lambda line: None)  # noqa: E731
    if backend == "ray" and launched_processes() > 1:
        raise UsageError("--backend ray cannot run under a data-parallel launcher (accelerate launch); choose one of the two.")
    if backend == "ray":
        from pathlib import Path

        from climb_harness.ray_backend import run_on_ray

        config["output"] = str(Path(config["output"]).resolve())  # workers may start elsewhere
        paths = [str(Path(p).resolve()) if Path(p).exists() else p for p in tuple(plugins) + tuple(config["plugins"])]
        experiment = Experiment(config, registry, echo=echo)
        results = run_on_ray(experiment, paths, resume=resume, address=address, max_concurrent=max_concurrent,
                             retries=retries, cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell, echo=echo)
    else:
        experiment = Experiment(config, registry, echo=echo)
        results = experiment.run(resume=resume)
    if not is_main_process():  # data parallel: the main process prints
        return
    for result in results:
        protocol = result.get("protocol") or {"report_split": result.get("eval_split", "val"), "selection_split": result.get("eval_split", "val")}
        click.echo(f"\n{result['algorithm']} (seed {result['seed']}): accuracy matrix on the {protocol['report_split']} split "
                   f"(epochs chosen on {protocol['selection_split']}), row = after learning task")
        click.echo(format_matrix(result["tasks"], result["accuracy_matrix"], result.get("initial_scores")))
    complete = experiment.as_runs(results)
    if complete:
        click.echo("\n" + aggregate_table(complete))
    click.echo(f"\nresults: {config['output']}/<algorithm>/seed-<seed>/results.json; summary: {config['output']}/summary.md")


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@main.command("transfer")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False), metavar="RUN_DIR...")
@click.option("--tasks", default="", help="Comma-separated tasks the runs have not seen (e.g. fashion-mnist,digits), transferred to from each run's final checkpoint.")
@click.option("--option", "task_options", multiple=True, metavar="TASK.KEY=VALUE", help="An option of a --tasks task, e.g. fashion-mnist.max_eval_examples=1000 (repeatable).")
@click.option("--shots", default=None, help="Comma-separated low-shot sizes: N/class, P% of train, or N examples (default: each task's, CLiMB's).")
@click.option("--seeds", default="10,50,100", show_default=True, help="Comma-separated sampling seeds (CLiMB's).")
@click.option("--checkpoints", type=click.Choice(["last", "all"]), default="last", show_default=True, help="Which checkpoints of each run go to the --tasks tasks.")
@click.option("--later/--no-later", default=True, show_default=True, help="Also transfer each checkpoint to the run's later tasks, as CLiMB does.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs per cell (default: CLiMB's 10).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Learning rate (default: CLiMB's 4e-5).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size (default: the run's).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Output folder (default: RUN_DIR/transfer).")
@click.option("--resume", is_flag=True, help="Keep the finished cells and run the rest.")
@plugin_option
@handles_errors
def transfer_cmd(run_dirs: tuple[str, ...], tasks: str, task_options: tuple[str, ...], shots: str | None, seeds: str,
                 checkpoints: str, later: bool, epochs: int | None, lr: float | None, batch_size: int | None,
                 output: str | None, resume: bool, plugins: tuple[str, ...]) -> None:
    """Phase II: fine-tune each upstream checkpoint low-shot on unseen tasks, against the pretrained encoder."""
    from pathlib import Path

    _training_process()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from climb_harness.report import transfer_table
    from climb_harness.config import override_value
    from climb_harness.transfer import TRANSFER_FILE, Transfer, find_runs

    try:
        seed_list = [int(s) for s in _csv(seeds)]
    except ValueError:
        raise UsageError(f"--seeds {seeds!r}: give comma-separated integers, e.g. 10,50,100.") from None
    options: dict[str, dict[str, object]] = {}
    for item in task_options:
        key, sep, value = item.partition("=")
        task, dot, name = key.partition(".")
        if not sep or not dot or not task or not name:
            raise UsageError(f"--option {item!r}: write TASK.KEY=VALUE, e.g. fashion-mnist.max_eval_examples=1000.")
        options.setdefault(task.strip(), {})[name.strip()] = override_value(key, value)
    names = _csv(tasks)
    stray = sorted(set(options) - set(names))
    if stray:
        raise UsageError(f"--option names task(s) {', '.join(stray)} that --tasks does not list.")
    registry = load_registry(tuple(plugins))
    runs = find_runs([Path(d) for d in run_dirs])
    out = Path(output) if output else Path(run_dirs[0]) / "transfer"
    transfer = Transfer(runs, registry, out, tasks=[{"name": n, "options": options.get(n, {})} for n in names],
                        shots=_csv(shots) or None, seeds=seed_list, checkpoints=checkpoints, later=later,
                        training={"epochs": epochs, "lr": lr, "batch_size": batch_size},
                        echo=lambda line: click.echo(line, err=True))
    click.echo(f"climb transfer: {len(transfer.cells)} cells from {len(runs)} run(s) into {out}", err=True)
    results = transfer.run(resume=resume)
    click.echo(transfer_table(results))
    click.echo(f"\nresults: {out / TRANSFER_FILE}")


@main.command("tune")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Experiment config (default: the embedded easy-VQA benchmark).")
@click.option("--algorithm", required=True, help="The config's algorithm (name or label) whose options are searched.")
@click.option("--param", "params", multiple=True, required=True, metavar="NAME[=LOW:HIGH[:log]|=a,b,c]",
              help="An option to search (repeatable); a bare NAME takes the range or choices its schema declares.")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True, help="Finished trials wanted in the study.")
@click.option("--tasks", "prefix", type=click.IntRange(min=1), default=2, show_default=True, help="Tune on the config's first N tasks.")
@click.option("--seed", type=int, default=None, help="The trials' seed (default: the config's first).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value (repeatable).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Study folder (default: runs/<name>-tune).")
@click.option("--resume", is_flag=True, help="Continue the study in --output.")
@plugin_option
@handles_errors
def tune_cmd(config_path: str | None, algorithm: str, params: tuple[str, ...], trials: int, prefix: int, seed: int | None,
             overrides: tuple[str, ...], output: str | None, resume: bool, plugins: tuple[str, ...]) -> None:
    """Search an algorithm's options with Optuna on the first tasks' selection split; write the best as a config."""
    from pathlib import Path

    _training_process()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from climb_harness.config import load_config
    from climb_harness.tune import OBJECTIVE, Tuner

    config = load_config(config_path, overrides, None)
    registry = load_registry(tuple(plugins) + tuple(config["plugins"]))
    out = Path(output) if output else Path("runs") / f"{config['name']}-tune"
    summary = Tuner(config, registry, algorithm, params, out, trials=trials, prefix=prefix, seed=seed,
                    echo=lambda line: click.echo(line, err=True)).run(resume=resume)
    click.echo(f"{len(summary['trials'])} trial(s); objective: {OBJECTIVE}")
    for number, values, value in summary["trials"]:
        click.echo(f"  trial {number}: {value:.2f}  {values}")
    click.echo(f"best: trial {summary['best_trial']} ({summary['best_value']:.2f}) {summary['best_params']}")
    click.echo(f"config: {summary['best_config']}  (climb run --config {summary['best_config']})")


@main.command("report")
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

    from climb_harness.grouping import Run
    from climb_harness.report import aggregate_table, format_matrix, summarise_methods, transfer_table
    from climb_harness.results import RESULTS_FILE, read_results
    from climb_harness.transfer import CELLS_DIR, TRANSFER_FILE, read_transfer

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
        from climb_harness.leaderboard import experiment_heading, leaderboard_markdown, leaderboards

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
    from climb_harness.html_report import write_report

    written = write_report(results, transfers, output, formats)
    figures = sum(1 for key in written if key.startswith("figures/"))
    pages = ", ".join(str(written[f]) for f in formats if f in written)
    click.echo(f"\nreport: {pages} ({figures} figure(s) in {output / 'figures'})", err=False)


def _declares_transfer(path: Any) -> bool:
    """Whether a JSON file says it is Phase II results (``"kind": "transfer"``)."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == "transfer"
    except (OSError, ValueError, AttributeError):
        return False


@main.group("data")
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

    from climb_harness.data_check import check_data

    reports = check_data(load_registry(plugins), tasks, Path(data_root) if data_root else None)
    for report in reports:
        for line in report.lines():
            click.echo(line)
    bad = [r.task for r in reports if not r.ok]
    click.echo(f"{len(reports)} task(s) checked, {len(bad)} with missing data" + (f": {', '.join(bad)}" if bad else ""))
    sys.exit(1 if bad else 0)


# --------------------------------------------------------------------------- check / new
@main.command("check")
@click.argument("selected", nargs=-1, metavar="[PLUGIN|KIND:NAME...]")
@plugin_option
@click.option("--workdir", type=click.Path(file_okay=False), default=None, help="Keep run outputs here (default: a temporary folder).")
@click.option("--quiet", "-q", is_flag=True, help="Show only failed and skipped checks.")
@handles_errors
def check_cmd(selected: tuple[str, ...], plugins: tuple[str, ...], workdir: str | None, quiet: bool) -> None:
    """Run the conformance suite on plugins (every plugin if none given); exit 1 on any failure."""
    from climb_harness.testing.conformance import check_command

    sys.exit(check_command(selected, plugins, workdir=workdir, verbose=not quiet, echo=click.echo))


@main.command("new")
@click.argument("kind", type=click.Choice(["task", "encoder", "algorithm"]))
@click.argument("name")
@click.option("--dest", "--dir", "dest", default=".", type=click.Path(file_okay=False), help="Folder to write climb-NAME/ into (default: the current folder).")
@handles_errors
def new_cmd(kind: str, name: str, dest: str) -> None:
    """Write a ready-to-install plugin distribution climb-NAME/ (manifest, component, tests, CI workflow)."""
    from pathlib import Path

    from climb_harness.scaffold import new_plugin, next_steps

    click.echo(next_steps(new_plugin(kind, name, Path(dest)), name))


if __name__ == "__main__":  # pragma: no cover
    main()
