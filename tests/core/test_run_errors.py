"""Every way a run can fail ends in one bounded paragraph naming the thing at fault, and loses nothing.

Each test provokes one failure on tiny runs (two synthetic tasks, the TinyEncoder, about a second a
run) and checks the exception type or exit code, that the message names the file or component, is
one paragraph under 1,000 characters without a traceback, and that what was written before is intact.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from climb_harness.core import io as results_module
from climb_harness.api import Algorithm
from climb_harness.core.checkpoints import algorithm_path, checkpoint_path
from climb_harness.cli import main
from climb_harness.api.errors import ClimbError, ConfigError, PluginError, RunError
from climb_harness.core.results import RESULTS_FILE, read_results
from climb_harness.core.engine import Runner, RunSpec
from climb_harness.testing.components import TinyEncoder
from climb_harness.testing.runs import StopAfterTask, StopRun, run_spec, tiny_tasks

TEST_PLUGIN = "climb_harness.testing.plugin"
CONFIG = {
    "name": "tiny",
    "tasks": [{"name": "synthetic-colour", "options": {"size": 16, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 16, "seed": 2}}],
    "encoder": "tiny",
    "algorithms": ["finetune"],
    "seeds": [0],
    "training": {"epochs": 1, "progress": False},
    "references": {"direct": False},
}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- helpers
def spec(out: Path, algorithm: Algorithm | None = None, **options: Any) -> RunSpec:
    """A two-task run of 16 examples per split, one epoch; ``options`` replace RunSpec fields."""
    base = run_spec(algorithm or Algorithm(), out, tasks=tiny_tasks(2, size=16))
    return dataclasses.replace(base, **options)


def stopped_after_first_task(out: Path, algorithm: Algorithm | None = None) -> bytes:
    """A run killed right after task 0 (checkpointed, results.json written); its results.json bytes."""
    with pytest.raises(StopRun):
        Runner(spec(out, algorithm, hooks=StopAfterTask(0))).run()
    return (out / RESULTS_FILE).read_bytes()


def assert_one_paragraph(message: str, *names: str) -> None:
    assert len(message) < 1000, len(message)
    assert "\n" not in message and "Traceback" not in message
    for name in names:
        assert name in message, (name, message)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def config_file(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, **changes}))
    return path


def climb_run(tmp_path: Path, output: Path, *args: str, **config: Any) -> Any:
    """``climb run`` of :data:`CONFIG` (with ``config`` changes) on the test plugin into ``output``."""
    return invoke("run", "--config", str(config_file(tmp_path, **config)), "--plugin", TEST_PLUGIN,
                  "--output", str(output), *args)


def cli_error(result: Any) -> str:
    """The ``Error: ...`` paragraph the CLI printed."""
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


# --------------------------------------------------------------------------- 1. --output under a file
@pytest.mark.parametrize("below", ["sub", "sub/deeper"])
def test_output_under_a_regular_file_is_a_run_error(tmp_path: Path, below: str) -> None:
    blocker = tmp_path / "somefile"
    blocker.write_text("mine")
    result = climb_run(tmp_path, blocker / below)
    assert result.exit_code == 1, result.output
    assert_one_paragraph(cli_error(result), str(blocker), "is a file", "--output")
    assert blocker.read_text() == "mine"


# --------------------------------------------------------------------------- 2. invalid results.json
def _valid_results(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "valid"
    stopped_after_first_task(out)
    return json.loads((out / RESULTS_FILE).read_text())


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "empty list": (lambda r: [], "$: [] is not of type 'object'"),
    "null": (lambda r: None, "$: None is not of type 'object'"),
    "string scores": (lambda r: {**r, "accuracy_matrix": [["a", "b"]]}, "$.accuracy_matrix[0][0]"),
    "ragged rows": (lambda r: {**r, "accuracy_matrix": [[50.0]]}, "$.accuracy_matrix[0]"),
    "matrix not a list": (lambda r: {**r, "accuracy_matrix": {"x": 1}}, "$.accuracy_matrix"),
    "missing tasks": (lambda r: {k: v for k, v in r.items() if k != "tasks"}, "'tasks' is a required"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_invalid_results_json_is_a_run_error_on_read_report_and_resume(tmp_path: Path, case: str) -> None:
    breakage, where = BROKEN[case]
    out = tmp_path / "run"
    stopped_after_first_task(out)
    path = out / RESULTS_FILE
    path.write_text(json.dumps(breakage(json.loads(path.read_text()))))
    before = path.read_bytes()

    with pytest.raises(RunError) as info:
        read_results(path)
    assert_one_paragraph(str(info.value), str(path), where, "delete it")

    report = invoke("report", str(path))
    assert report.exit_code == 1, report.output
    assert_one_paragraph(cli_error(report), str(path), where)

    with pytest.raises(RunError) as info:
        Runner(spec(out)).run(resume=True)
    assert_one_paragraph(str(info.value), str(path), where)
    assert path.read_bytes() == before


def test_two_task_orders_are_reported_as_two_experiments_never_pooled(tmp_path: Path) -> None:
    a = _valid_results(tmp_path)
    b = {**a, "tasks": list(reversed(a["tasks"]))}
    for name, results in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        (tmp_path / name / RESULTS_FILE).write_text(json.dumps({**results, "status": "complete"}))
    result = invoke("report", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    headings = [line for line in result.output.splitlines() if line.startswith("## Experiment")]
    assert len(headings) == 2 and all("differs from the others in" in line for line in headings)


# --------------------------------------------------------------------------- 3. unavailable devices
def _unavailable_devices() -> list[str]:
    found = [] if torch.cuda.is_available() else ["cuda", "cuda:0"]
    found += [f"cuda:{max(7, torch.cuda.device_count())}"]
    mps = getattr(torch.backends, "mps", None)
    return found + ([] if mps is not None and mps.is_available() else ["mps"])


@pytest.mark.parametrize("device", _unavailable_devices())
def test_unavailable_device_is_a_config_error_before_anything_is_written(tmp_path: Path, device: str) -> None:
    out = tmp_path / "out"
    result = climb_run(tmp_path, out, "--set", f"training.device={device}")
    assert result.exit_code == 2, result.output
    assert_one_paragraph(cli_error(result), "training.device", repr(device), "Devices available here: cpu")
    assert not out.exists()
    with pytest.raises(ConfigError, match="training.device"):
        Runner(spec(tmp_path / "direct", training=dataclasses.replace(spec(out).training, device=device)))


def test_cuda_index_beyond_the_device_count_names_the_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    from climb_harness.core.engine import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda:7")
    assert_one_paragraph(str(info.value), "training.device is 'cuda:7'", "only 2 CUDA device(s)",
                         "Devices available here: cpu, cuda:0, cuda:1")


# --------------------------------------------------------------------------- 5. full disk
def _failing_write(target: str, nth: int, code: int, seen: dict[str, Any]) -> Callable[..., None]:
    """A ``results._write_temp`` that fails the ``nth`` write of the file named ``target`` with ``code``."""
    real = results_module._write_temp

    def write(tmp: str, fd: int, data: bytes) -> None:
        name = Path(tmp).name
        if name.startswith(f".{target}."):
            seen["count"] = seen.get("count", 0) + 1
            if seen["count"] == nth:
                final = Path(tmp).with_name(target)
                seen["before"] = final.read_bytes() if final.exists() else None
                seen["tmp"] = tmp
                os.write(fd, data[: len(data) // 2])  # half written, as a full disk leaves it
                os.close(fd)
                raise OSError(code, os.strerror(code))
        real(tmp, fd, data)

    return write


@pytest.mark.parametrize(
    ("target", "nth", "code"),
    [
        (RESULTS_FILE, 2, errno.ENOSPC),  # after task 0: the initial results.json is there
        (RESULTS_FILE, 3, errno.EACCES),  # after task 1: the final write
        (RESULTS_FILE, 2, errno.EROFS),
        ("task-01-yesno.safetensors", 1, errno.ENOSPC),
        ("task-00-colours.algorithm.safetensors", 1, errno.ENOSPC),
    ],
)
def test_failed_write_is_a_run_error_keeps_the_previous_file_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, nth: int, code: int
) -> None:
    out, seen = tmp_path / "run", {}
    monkeypatch.setattr(results_module, "_write_temp", _failing_write(target, nth, code, seen))
    with pytest.raises(RunError) as info:
        Runner(spec(out)).run()
    final = Path(seen["tmp"]).with_name(target)
    reason = f"[Errno {code} {errno.errorcode[code]}] {os.strerror(code)}"
    assert_one_paragraph(str(info.value), str(final), reason, "rerun with --resume")
    assert not list(out.rglob("*.tmp")), "the temporary file was left behind"
    assert (final.read_bytes() if final.exists() else None) == seen["before"]
    monkeypatch.undo()
    resumed = Runner(spec(out)).run(resume=True)
    assert resumed["status"] == "complete" and len(resumed["accuracy_matrix"]) == 2


def test_failed_summary_write_keeps_finished_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, seen = tmp_path / "out", {}
    monkeypatch.setattr(results_module, "_write_temp", _failing_write("summary.md", 1, errno.ENOSPC, seen))
    result = climb_run(tmp_path, out)
    assert result.exit_code == 1, result.output
    assert_one_paragraph(cli_error(result), str(out / "summary.md"), "No space left on device", "--resume")
    assert read_results(out / "finetune" / "seed-0" / RESULTS_FILE)["status"] == "complete"
    assert not list(out.rglob("*.tmp"))


# --------------------------------------------------------------------------- 6/7. checkpoints that do not fit
def _rewrite(path: Path, tensors: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
             metadata: dict[str, str] | None = None) -> None:
    """Rewrite a safetensors file (valid, but with other tensors or metadata)."""
    data = path.read_bytes()
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    state = st_load(data)
    metadata = metadata or header.get("__metadata__")
    path.write_bytes(st_save(tensors(state) if tensors else state, metadata=metadata))


def _model_meta(**changes: Any) -> dict[str, str]:
    meta = {"task_index": 0, "task": "colours", "tasks": ["colours", "yesno"], "algorithm": "Algorithm",
            "seed": 0, "global_step": 2, **changes}
    return {"climb": json.dumps(meta)}


def _grown(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: torch.zeros(3, *value.shape) for key, value in state.items()}


def _pickled(path: Path) -> None:
    path.write_bytes(pickle.dumps(_Hostile(path.parent / "pwned")))


CHECKPOINT_DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "wrong tensor shapes": ("model", lambda p: _rewrite(p, _grown), "does not match the model"),
    "metadata a list": ("model", lambda p: _rewrite(p, metadata={"climb": "[1, 2]"}), "not a JSON object"),
    "global_step a string": ("model", lambda p: _rewrite(p, metadata=_model_meta(global_step="abc")),
                             "does not match"),
    "another task order": ("model", lambda p: _rewrite(p, metadata=_model_meta(tasks=["yesno", "colours"])),
                           "belongs to another run"),
    "metadata not JSON": ("model", lambda p: _rewrite(p, metadata={"climb": "{nope"}), "corrupt"),
    "algorithm state a list": ("algorithm", lambda p: _rewrite(p, metadata={"state": "[1]"}),
                               "not a JSON object"),
    "algorithm file corrupt": ("algorithm", lambda p: p.write_bytes(b"\x00garbage"), "corrupt"),
    "algorithm file missing": ("algorithm", lambda p: p.unlink(), "missing"),
    "pickle instead of safetensors": ("model", _pickled, "corrupt"),
}


class _Hostile:
    """Unpickling this writes a marker file: a loader that unpickles runs code from the checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "code ran"))


@pytest.mark.parametrize("case", sorted(CHECKPOINT_DAMAGE))
def test_checkpoint_that_does_not_fit_names_its_own_file(tmp_path: Path, case: str) -> None:
    which, damage, expected = CHECKPOINT_DAMAGE[case]
    out = tmp_path / "run"
    before = stopped_after_first_task(out)
    model = checkpoint_path(out, 0, "colours")
    damaged, other = (model, algorithm_path(model)) if which == "model" else (algorithm_path(model), model)
    damage(damaged)
    with pytest.raises(RunError) as info:
        Runner(spec(out)).run(resume=True)
    message = str(info.value)
    assert_one_paragraph(message, str(damaged), expected, "delete the run folder")
    assert str(other) not in message  # the right file, not its partner
    assert (out / RESULTS_FILE).read_bytes() == before
    assert not (model.parent / "pwned").exists()


def test_algorithm_that_cannot_load_its_state_names_the_algorithm_file(tmp_path: Path) -> None:
    class Picky(Algorithm):
        def load_state_dict(self, state: Any, ctx: Any) -> None:
            raise KeyError("memory")

    out = tmp_path / "run"
    before = stopped_after_first_task(out, Picky())
    with pytest.raises(RunError) as info:
        Runner(spec(out, Picky())).run(resume=True)
    path = algorithm_path(checkpoint_path(out, 0, "colours"))
    assert_one_paragraph(str(info.value), str(path), "'Picky'", "KeyError", "does not match the algorithm")
    assert (out / RESULTS_FILE).read_bytes() == before


# --------------------------------------------------------------------------- 8. orphan temporary files
def test_resume_removes_only_its_own_orphan_temporary_files_and_says_how_many_bytes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    stopped_after_first_task(out)
    checkpoints = out / "checkpoints"
    owned = [out / ".results.json.ab12cd34.tmp", checkpoints / ".task-01-yesno.safetensors.zz_9yy8x.tmp"]
    foreign = [out / ".notes.txt.ab12cd34.tmp", out / "mine.tmp", out / ".results.json.tmp",
               checkpoints / "nested" / ".results.json.ab12cd34.tmp", tmp_path / ".results.json.ab12cd34.tmp"]
    for i, path in enumerate(owned + foreign):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (1000 + i))
    lines: list[str] = []
    results = Runner(spec(out, echo=lines.append)).run(resume=True)
    assert results["status"] == "complete"
    assert not any(p.exists() for p in owned)
    assert all(p.exists() for p in foreign)
    removed = [line for line in lines if "orphan" in line]
    assert len(removed) == 1 and "2 orphan temporary file(s) (2001 bytes" in removed[0], lines


# --------------------------------------------------------------------------- 10. faulty plugins
class Faulty(Algorithm):
    """Sequential fine-tuning that raises a long RuntimeError in ``hook`` on task ``at``."""

    manifest = {"name": "faulty"}

    def __init__(self, hook: str, at: int = 1) -> None:
        super().__init__({})
        self.hook, self.at = hook, at

    def _maybe_fail(self, hook: str, ctx: Any) -> None:
        if hook == self.hook and (ctx is None or ctx.task_index == self.at):
            raise RuntimeError("boom " * 400)

    def setup(self, ctx: Any) -> None:
        self._maybe_fail("setup", None)

    def on_task_start(self, ctx: Any) -> None:
        self._maybe_fail("on_task_start", ctx)

    def configure_optimizer(self, ctx: Any, param_groups: Any, lr: float) -> Any:
        self._maybe_fail("configure_optimizer", ctx)

    def training_loss(self, ctx: Any, task: str, batch: Any) -> Any:
        self._maybe_fail("training_loss", ctx)
        return super().training_loss(ctx, task, batch)

    def on_task_end(self, ctx: Any) -> None:
        self._maybe_fail("on_task_end", ctx)

    def before_evaluate(self, ctx: Any, task: str) -> None:
        self._maybe_fail("before_evaluate", ctx)


HOOKS = ["setup", "on_task_start", "configure_optimizer", "training_loss", "on_task_end", "before_evaluate"]


@pytest.mark.parametrize("hook", HOOKS)
def test_failing_algorithm_hook_is_a_plugin_error_and_tasks_done_resume(tmp_path: Path, hook: str) -> None:
    out = tmp_path / "run"
    with pytest.raises(PluginError) as info:
        Runner(spec(out, Faulty(hook))).run()
    assert_one_paragraph(str(info.value), "algorithm 'faulty'", f"{hook}()", "RuntimeError: boom",
                         "distribution unknown", "--resume")
    if hook == "setup":
        assert not (out / RESULTS_FILE).exists()
        return
    assert len(read_results(out / RESULTS_FILE)["accuracy_matrix"]) == 1  # task 0 kept
    resumed = Runner(spec(out, Faulty("none"))).run(resume=True)
    assert resumed["status"] == "complete"


def test_loss_that_is_not_a_tensor_blames_the_algorithm(tmp_path: Path) -> None:
    class Scalar(Algorithm):
        def training_loss(self, ctx: Any, task: str, batch: Any) -> Any:
            return 0.5

    with pytest.raises(PluginError) as info:
        Runner(spec(tmp_path, Scalar())).run()
    assert_one_paragraph(str(info.value), "algorithm 'Scalar'", "backward", "float")


def test_failing_algorithm_names_its_distribution_from_the_registry(tmp_path: Path) -> None:
    plugin = tmp_path / "badalgo.py"
    plugin.write_text(
        "from climb_harness.api import API_VERSION, Algorithm, algorithm, hookimpl\n"
        "class Bad(Algorithm):\n"
        "    def on_task_start(self, ctx):\n"
        "        if ctx.task_index == 1:\n"
        "            raise ZeroDivisionError('bad step ' * 300)\n"
        "@hookimpl\n"
        "def climb_algorithms():\n"
        "    options = {'type': 'object', 'properties': {}, 'additionalProperties': False}\n"
        "    manifest = {'name': 'bad', 'api_version': API_VERSION, 'summary': 'fails',\n"
        "                'family': 'baseline', 'options': options}\n"
        "    return [algorithm(manifest, Bad)]\n"
    )
    out = tmp_path / "out"
    result = climb_run(tmp_path, out, "--plugin", str(plugin), algorithms=["bad"])
    assert result.exit_code == 1, result.output
    assert_one_paragraph(cli_error(result), "algorithm 'bad'", "(--plugin)", str(plugin), "on_task_start()",
                         "ZeroDivisionError")
    assert len(read_results(out / "bad" / "seed-0" / RESULTS_FILE)["accuracy_matrix"]) == 1


class BrokenEncoder(TinyEncoder):
    manifest = {"name": "broken-tiny"}

    def forward(self, batch: Any) -> Any:
        raise IndexError("index 99 is out of bounds " * 50)


class _BrokenTask:
    """A task whose data loading fails with ``error`` (wraps a real tiny task)."""

    def __init__(self, task: Any, error: Exception) -> None:
        self._task, self._error = task, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def examples(self, split: str) -> Any:
        raise self._error


def _no_weights() -> Any:
    raise ImportError("no weights")


def _broken_tasks(error: Exception) -> list[Any]:
    return [_BrokenTask(task, error) for task in tiny_tasks(1, size=16)]


@pytest.mark.parametrize(
    ("options", "kind", "expected"),
    [
        ({"encoder_factory": lambda: BrokenEncoder({})}, PluginError,
         ["encoder 'broken-tiny'", "forward()", "IndexError"]),
        ({"encoder_factory": _no_weights}, PluginError, ["encoder", "being built", "ImportError: no weight"]),
        ({"tasks": _broken_tasks(ValueError("bad row " * 200))}, PluginError,
         ["task 'colours'", "examples('train')", "ValueError"]),
        ({"tasks": _broken_tasks(FileNotFoundError("/data/q.json"))}, RunError,
         ["Data for task 'colours'", "missing", "/data/q.json"]),
    ],
    ids=["encoder forward", "encoder build", "task data", "missing data"],
)
def test_encoder_and_task_failures_name_the_component(tmp_path: Path, options: dict[str, Any], kind: type,
                                                       expected: list[str]) -> None:
    with pytest.raises(ClimbError) as info:
        Runner(spec(tmp_path, **options)).run()
    assert type(info.value) is kind
    assert_one_paragraph(str(info.value), *expected)
