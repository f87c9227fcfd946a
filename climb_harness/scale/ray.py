"""``climb run --backend ray``: each (algorithm, seed) cell of the grid as a Ray task.

The driver (the ``climb run`` process) builds each seed's tasks and direct fine-tuning references
once (they are cached on disk, so every cell of a seed shares them), then submits one Ray task per
unfinished cell with its declared resources (``--cpus-per-cell``, ``--gpus-per-cell``), at most
``--max-concurrent`` at a time. A cell runs exactly what the local backend runs (the same runner, into
the same folder, writing its own results.json and checkpoints atomically) with ``resume=True``, so a
cell whose worker is killed is retried by Ray (``--retries`` times) and continues after its last
completed task. A cell that fails (a ClimbError: bad data, a plugin's bug) is reported and not
retried, since it would fail again; the other cells go on, and the run ends with one paragraph naming
the failed cells (exit 1), finished cells kept.

Ray starts a local cluster with this machine's cores by default (``ray.init(num_cpus=...)``), or
joins one with ``--address``. Workers of a local cluster run in this Python environment; on a real
cluster every node needs climb-harness and the plugins installed (and the data where the tasks read
it). Ray enables token authentication by default on recent versions; a local cluster needs nothing
more, and ``RAY_AUTH_MODE=disabled`` opts out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from climb_harness.core.config import run_label
from climb_harness.api.errors import ClimbError, RunError, UsageError
from climb_harness.core.messages import clip


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("climb run --backend ray needs Ray, which is not installed: pip install climb-harness[ray] "
                         "(or pip install \"ray[default]\"), then rerun; or use the default --backend local.") from None
    return ray


def _cell(config: Mapping[str, Any], plugins: Sequence[str], index: int, seed: int, refs: Mapping[str, Any]) -> dict[str, Any]:
    """One cell, in a Ray worker: the same code path as the local backend, resuming what is there."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from climb_harness.core import lazy_dynamo as _lazy_dynamo

    _lazy_dynamo.install()
    from climb_harness.core.experiment import Experiment
    from climb_harness.core.registry import Registry

    experiment = Experiment(config, Registry(list(plugins)), echo=lambda line: print(line, flush=True))
    algorithm = config["algorithms"][index]
    return experiment.run_cell(index, algorithm, seed, experiment.build_tasks(), dict(refs), resume=True)


def run_on_ray(experiment: Any, plugins: Sequence[str], *, resume: bool = False, address: str | None = None,
               max_concurrent: int | None = None, retries: int = 2, cpus_per_cell: float = 1.0,
               gpus_per_cell: float = 0.0, echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run ``experiment``'s grid on Ray; returns every cell's results (finished ones included)."""
    ray = _ray()
    experiment.start(resume)
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": os.cpu_count() or 1}
        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kwargs)
    try:
        return _run(ray, experiment, plugins, max_concurrent, retries, cpus_per_cell, gpus_per_cell, echo)
    finally:
        experiment.close()
        if started_here:
            ray.shutdown()


def _run(ray: Any, experiment: Any, plugins: Sequence[str], max_concurrent: int | None, retries: int,
         cpus_per_cell: float, gpus_per_cell: float, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    remote = ray.remote(_cell).options(num_cpus=cpus_per_cell, num_gpus=gpus_per_cell, max_retries=retries,
                                       retry_exceptions=False)
    results: list[dict[str, Any]] = []
    queue: list[tuple[str, Any]] = []
    refs_of_seed: dict[int, Any] = {}
    for index, algorithm, seed in experiment.cells():
        label = f"{run_label(algorithm)} seed {seed}"
        existing = experiment.finished(algorithm, seed)
        if existing is not None:
            echo(f"{label}: already complete in {experiment.run_dir(algorithm, seed)}, skipped")
            results.append(existing)
            continue
        if seed not in refs_of_seed:  # references once per seed, in the driver, cached for every cell
            refs_of_seed[seed] = experiment.references(experiment.build_tasks(), seed)
        queue.append((label, (experiment.config, list(plugins), index, seed, refs_of_seed[seed])))
    total, done, failed = len(queue), 0, []
    limit = max_concurrent or total or 1
    pending: dict[Any, str] = {}
    started = time.perf_counter()
    while queue or pending:
        while queue and len(pending) < limit:
            label, args = queue.pop(0)
            pending[remote.remote(*args)] = label
            echo(f"{label}: submitted to Ray")
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            label = pending.pop(ref)
            done += 1
            try:
                result = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a cell's failure is reported, the others go on
                failed.append(f"{label}: {_reason(exc)}")
                echo(f"[{done}/{total}] {label}: FAILED ({_reason(exc)})")
                continue
            results.append(result)
            average = (result.get("metrics") or {}).get("average_accuracy")
            echo(f"[{done}/{total}] {label}: complete in {time.perf_counter() - started:.0f} s"
                 + (f" (average accuracy {average:.2f})" if isinstance(average, (int, float)) else ""))
        complete = [r for r in results if r.get("status") == "complete"]
        if complete:
            experiment.write_summary(complete)
    if failed:
        raise RunError(f"{len(failed)} of {total} cell(s) failed on Ray ({'; '.join(clip(f, 300) for f in failed[:3])}"
                       f"{'; ...' if len(failed) > 3 else ''}). The finished cells are kept; fix the cause and rerun with "
                       "--resume to run only the failed ones.")
    return results


def _reason(exc: BaseException) -> str:
    """The cell's own error (a ClimbError's paragraph), or what Ray says happened to its worker."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, ClimbError):
        return clip(str(cause), 400)
    return clip(f"{type(exc).__name__}: {exc}", 400)
