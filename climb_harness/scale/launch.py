"""``climb run --launcher accelerate``: start the same command under ``accelerate launch``.

The launched processes run ``python -m climb_harness run ...`` with ``WORLD_SIZE`` set, which is what
turns on data-parallel training (:mod:`climb_harness.scale.parallel`); this process only waits for them.
They end when it ends, however it ends: the launcher gets a parent-death signal (Linux) and stops its
processes, and each training process watches this one (:func:`climb_harness.scale.parallel.watch_launcher`)
and exits within a second of its death, so a ``kill -9`` of ``climb`` leaves nothing writing the folder.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from climb_harness.api.errors import RunError, UsageError


def free_port() -> int:
    """A TCP port free on this machine now (for the processes' rendezvous)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_processes() -> int:
    """One process per GPU, else 2 CPU processes."""
    import torch

    return torch.cuda.device_count() if torch.cuda.device_count() > 1 else 2


def launch_command(args: Sequence[str], processes: int, port: int) -> list[str]:
    """The ``accelerate launch`` command line running ``climb run <args>`` on ``processes`` processes.

    >>> launch_command(["--config", "exp.yaml"], 2, 29500)[4:9]
    ['--multi_gpu', '--num_processes', '2', '--num_machines', '1']
    """
    return [sys.executable, "-m", "accelerate.commands.launch", "--quiet", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
            "-m", "climb_harness", "run", *args]


def launch_accelerate(args: Sequence[str], processes: int | None) -> int:
    """Run ``climb run <args>`` data-parallel and return its exit status.

    ``--multi_gpu`` is accelerate's multi-process mode; on a machine without GPUs its processes train on
    the CPU over gloo. ``training.precision`` stays the harness's own (accelerate's ``--mixed_precision``
    is off), as does compiling.
    """
    if importlib.util.find_spec("accelerate") is None:
        raise UsageError("climb run --launcher accelerate needs Hugging Face accelerate, which is not installed: "
                         "pip install 'climb-harness[accelerate]' (or pip install accelerate).")
    processes = processes or default_processes()
    if processes < 2:
        raise UsageError("--launcher accelerate needs at least 2 processes (--num-processes); one process is plain `climb run`.")
    env = {**os.environ, LAUNCHER_PID_ENV: str(os.getpid())}  # the training processes watch this process
    return subprocess.call(launch_command(args, processes, free_port()), env=env,
                           preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


#: The variable that tells the training processes which ``climb`` process launched them.
LAUNCHER_PID_ENV = "CLIMB_LAUNCHER_PID"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the launcher, before it runs: a SIGTERM when the ``climb`` process dies (Linux's parent-death
    signal), which accelerate's launcher passes on to the training processes it started."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not glibc: the training processes' own watchdog still ends them
        pass


def check_data_parallel(config: Mapping[str, Any], registry: Any) -> None:
    """Refuse, before launching, a config whose algorithms do not all declare ``data_parallel: true``."""
    refused = []
    for algorithm in config["algorithms"]:
        entry = registry.get("algorithm", algorithm["name"])
        if not entry.component.manifest.get("data_parallel", False):
            distribution = entry.plugin.distribution.strip("()")
            refused.append(f"{algorithm['name']!r} ({distribution} {entry.plugin.version})")
    if refused:
        raise RunError(
            f"The algorithm(s) {', '.join(refused)} do not declare data-parallel support (data_parallel: true in the "
            "manifest): their state (memories, gradients they edit, extra steps) may differ between processes. Run "
            "them in one process (plain `climb run`), or list only algorithms that declare it; their authors can "
            "make them correct under data parallelism and declare it.")
    if config.get("training", {}).get("skip_unreadable_images"):
        raise RunError("training.skip_unreadable_images is not supported under data parallelism (a batch one process "
                       "skips would leave the others waiting); run in one process, or fix the unreadable images.")
