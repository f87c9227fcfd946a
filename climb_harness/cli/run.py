"""``climb run``: an experiment's grid of (algorithm, seed) runs, locally, on Ray, or data-parallel under accelerate."""

from __future__ import annotations

import os

import click

from climb_harness.api.errors import UsageError
from climb_harness.cli._common import handles_errors, load_registry, plugin_option
from climb_harness.cli._common import training_process as _training_process


@click.command("run")
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
    from climb_harness.scale.parallel import is_main_process, launched_processes

    if launcher == "accelerate" and launched_processes() == 1:
        if backend == "ray":
            raise UsageError("--launcher accelerate trains one run over several processes; --backend ray runs cells in parallel. "
                             "Choose one of the two.")
        args = [*(["--config", config_path] if config_path else []), *[a for p in plugins for a in ("--plugin", p)],
                *[a for o in overrides for a in ("--set", o)], *(["--output", output] if output else []),
                *(["--resume"] if resume else [])]
        from climb_harness.core.config import load_config
        from climb_harness.scale.launch import check_data_parallel, launch_accelerate

        config = load_config(config_path, overrides, output)  # bad input fails here, before any process starts
        check_data_parallel(config, load_registry(tuple(plugins) + tuple(config["plugins"])))
        raise SystemExit(launch_accelerate(args, num_processes))
    _training_process()
    from climb_harness.core.config import load_config
    from climb_harness.core.experiment import Experiment
    from climb_harness.report.tables import format_matrix, summary_markdown

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

        from climb_harness.scale.ray import run_on_ray

        config["output"] = str(Path(config["output"]).resolve())  # workers may start elsewhere
        paths = [str(Path(p).resolve()) if Path(p).exists() else p for p in tuple(plugins) + tuple(config["plugins"])]
        experiment = Experiment(config, registry, echo=echo, summarise=summary_markdown)
        results = run_on_ray(experiment, paths, resume=resume, address=address, max_concurrent=max_concurrent,
                             retries=retries, cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell, echo=echo)
    else:
        experiment = Experiment(config, registry, echo=echo, summarise=summary_markdown)
        results = experiment.run(resume=resume)
    if not is_main_process():  # data parallel: the main process prints
        return
    for result in results:
        protocol = result.get("protocol") or {"report_split": result.get("eval_split", "val"), "selection_split": result.get("eval_split", "val")}
        click.echo(f"\n{result['algorithm']} (seed {result['seed']}): accuracy matrix on the {protocol['report_split']} split "
                   f"(epochs chosen on {protocol['selection_split']}), row = after learning task")
        click.echo(format_matrix(result["tasks"], result["accuracy_matrix"], result.get("initial_scores")))
    complete = experiment.completed(results)
    if complete:
        click.echo("\n" + summary_markdown(complete))
    click.echo(f"\nresults: {config['output']}/<algorithm>/seed-<seed>/results.json; summary: {config['output']}/summary.md")
