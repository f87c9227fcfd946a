"""``climb transfer`` (Phase II low-shot transfer) and ``climb tune`` (hyper-parameters on the selection split)."""

from __future__ import annotations

import os

import click

from climb_harness.api.errors import UsageError
from climb_harness.cli._common import _csv, handles_errors, load_registry, plugin_option
from climb_harness.cli._common import training_process as _training_process


@click.command("transfer")
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
    from climb_harness.core.config import override_value
    from climb_harness.report.tables import transfer_table
    from climb_harness.transfer.cells import TRANSFER_FILE, Transfer, find_runs

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

@click.command("tune")
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
    from climb_harness.core.config import load_config
    from climb_harness.tune.study import OBJECTIVE, Tuner

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
