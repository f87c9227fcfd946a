"""The ``climb`` command: one module per verb group, each imported only when its verb runs.

Exit codes: 0 success, 1 a check or run failed, 2 a usage error. ``climb list`` and ``climb validate`` import
neither torch nor the runner; the verbs of the optional features (reports, Phase II, tuning) are looked up
lazily, so a missing optional dependency only affects its own verb.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from climb_harness._version import __version__

__all__ = ["main"]

#: verb -> "module:attribute" of its click command.
VERBS: dict[str, str] = {
    "list": "climb_harness.cli.components:list_cmd",
    "show": "climb_harness.cli.components:show_cmd",
    "validate": "climb_harness.cli.components:validate_cmd",
    "check": "climb_harness.cli.components:check_cmd",
    "new": "climb_harness.cli.components:new_cmd",
    "run": "climb_harness.cli.run:run_cmd",
    "transfer": "climb_harness.cli.transfer:transfer_cmd",
    "tune": "climb_harness.cli.transfer:tune_cmd",
    "report": "climb_harness.cli.report:report_cmd",
    "data": "climb_harness.cli.data:data_group",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported when they are used (click's documented lazy-loading pattern)."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        module, _, attribute = self.lazy[name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring bug of the harness
            raise TypeError(f"{self.lazy[name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy=VERBS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="climb")
def main() -> None:
    """climb-harness: continual learning in multimodality, as a plugin registry."""
