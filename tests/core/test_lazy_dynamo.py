"""``climb_harness.core.lazy_dynamo``: a training process never imports torch._dynamo unless something compiles,
and the stand-in changes no number and no compiled behaviour. Each check runs in a fresh interpreter
(the test process itself may already hold the real module)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # fresh interpreters and runs: CI runs it, the quick loop skips it

CONFIG = {
    "name": "tiny", "encoder": "tiny", "seeds": [0],
    "tasks": [{"name": "synthetic-colour", "options": {"size": 48, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 48, "seed": 2}}],
    "training": {"epochs": 2, "progress": False}, "references": {"direct": False},
}


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    import os

    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


RUN = """
import sys, types
from climb_harness.cli import main
try:
    main(["run", "--config", sys.argv[1], "--output", sys.argv[2], "--plugin", "climb_harness.testing.plugin"])
except SystemExit as exit:
    assert not exit.code, exit.code
module = sys.modules.get("torch._dynamo")
print(type(module).__name__ if module is not None else "absent")
"""


def _numbers(path: Path) -> tuple[list, list]:
    results = json.loads(path.read_text())
    return results["accuracy_matrix"], [e["train_loss"] for t in results["training_log"] for e in t["epochs"]]


@pytest.mark.parametrize("algorithms, lazy_module", [
    (["finetune"], "_StandIn"),  # nothing compiles: the real module is never imported
    (["finetune", "ewc"], "_StandIn"),  # EWC's default Fisher (layer hooks) needs no torch.func
    # torch.func (EWC's vmap Fisher) needs the real module: it is imported mid-run, and the numbers stay
    (["finetune", {"name": "ewc", "options": {"fisher_backend": "vmap"}}], "module"),
])
def test_climb_run_imports_dynamo_only_when_used_and_numbers_unchanged(tmp_path: Path, algorithms: list,
                                                                        lazy_module: str) -> None:
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "algorithms": algorithms}))
    assert _python(RUN, str(config), str(tmp_path / "lazy")) == lazy_module
    assert _python(RUN, str(config), str(tmp_path / "eager"), env={"CLIMB_EAGER_DYNAMO": "1"}) == "module"
    for algorithm in algorithms:
        name = algorithm if isinstance(algorithm, str) else algorithm["name"]
        assert _numbers(tmp_path / "lazy" / name / "seed-0" / "results.json") == \
               _numbers(tmp_path / "eager" / name / "seed-0" / "results.json")


def test_optimizer_steps_match_the_real_module_bit_for_bit() -> None:
    code = """
import sys, torch
from climb_harness.core import lazy_dynamo as _lazy_dynamo
print_state = sys.argv[1] == "lazy" and _lazy_dynamo.install()
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 2))
for make in (lambda p: torch.optim.AdamW(p, lr=1e-2), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)):
    opt = make(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    for step in range(5):
        opt.zero_grad()
        model(torch.randn(16, 4)).pow(2).mean().backward()
        opt.step(); sched.step()
    opt.load_state_dict(opt.state_dict())
assert (sys.argv[1] == "lazy") == _lazy_dynamo.active()
print(repr([round(float(v), 12) for p in model.parameters() for v in p.detach().reshape(-1)]))
"""
    assert _python(code, "lazy") == _python(code, "eager")


def test_anything_beyond_the_no_ops_imports_the_real_module() -> None:
    code = """
import sys, torch
from climb_harness.core import lazy_dynamo as _lazy_dynamo
assert _lazy_dynamo.install()
opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters())  # caches a no-op disable on add_param_group
how = sys.argv[1]
if how == "submodule":
    import torch._dynamo.config as config
    assert torch._dynamo.config is config
elif how == "from":
    from torch._dynamo import is_compiling
    assert is_compiling() is False
elif how == "compile":
    f = torch.compile(lambda x: x * 2 + 1, backend="eager")
    assert f(torch.ones(2)).tolist() == [3.0, 3.0]
assert not _lazy_dynamo.active() and type(sys.modules["torch._dynamo"]).__name__ == "module"
wrapped = torch.optim.Optimizer.add_param_group.__wrapped__
assert getattr(wrapped, "__dynamo_disable", None) is not wrapped  # the no-op cache was undone
print("real")
"""
    for how in ("submodule", "from", "compile"):
        assert _python(code, how) == "real", how
