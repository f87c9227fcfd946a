"""The conformance kit: the same checks for every task, encoder and algorithm a plugin offers.

As timm tests every registered model and lm-eval every registered task, ``climb check PLUGIN``
and a plugin's tests (one pytest item per check, :func:`conformance_test`) run one battery per
kind, so a plugin's author gets them without writing them:

* every plugin (:mod:`.plugins`): it loads, its entry point resolves, its hook module imports no
  heavy framework, it registers at least one component;
* every component (:mod:`.common`): the manifest is valid, the options' defaults validate, the
  factory imports, the component builds and is an instance of its base class;
* task (:mod:`.task`): each split loads (missing data is *skipped*), every example matches the
  manifest, images open;
* encoder (:mod:`.encoder`): tiny synthetic tasks of each declared modality are collated and
  encoded to finite ``(N, views, hidden_size)`` vectors that gradients flow through;
* algorithm (:mod:`.algorithm`): a real two-task run through the Runner completes, writes a valid
  results.json and a checkpointable ``state_dict()``, and a run crashed after its first task and
  resumed ends identical. It runs on TinyEncoder, or on an installed encoder that ``provides``
  what the algorithm ``requires`` (:mod:`.capabilities`).

Checks report :class:`CheckResult` objects; nothing here raises for a broken component. The
package's parts: :mod:`._report` (results), :mod:`._subject` (running checks once, sharing their
work), :mod:`.selection` (names to components), :mod:`.formatting`, :mod:`.command` (``climb
check``, :func:`assert_conforms`) and :mod:`.items` (pytest items).
"""

from __future__ import annotations

from climb_harness.testing.conformance._report import CheckResult, Failed, Skipped, Status, _Failed
from climb_harness.testing.conformance.algorithm import RunSettings, tiny_tasks
from climb_harness.testing.conformance.capabilities import choose_encoder, providers
from climb_harness.testing.conformance.command import assert_conforms, check_command
from climb_harness.testing.conformance.encoder import (
    _check_norm_decay,
    encoder_probes,
    probe_task,
)
from climb_harness.testing.conformance.formatting import format_results, summary_line
from climb_harness.testing.conformance.items import (
    ConformanceCase,
    conformance_cases,
    conformance_params,
    conformance_test,
    installed_registry,
)
from climb_harness.testing.conformance.plugins import HEAVY_MODULES
from climb_harness.testing.conformance.selection import (
    check_algorithm,
    check_encoder,
    check_task,
    check_component,
    check_plugin,
    check_selected,
    plugin_infos,
)
from climb_harness.testing.conformance.task import IMAGES_OPENED, MAX_EXAMPLES_CHECKED
from climb_harness.testing.runs import single_thread

__all__ = [
    "HEAVY_MODULES",
    "IMAGES_OPENED",
    "MAX_EXAMPLES_CHECKED",
    "CheckResult",
    "ConformanceCase",
    "Failed",
    "RunSettings",
    "Skipped",
    "Status",
    "_Failed",
    "_check_norm_decay",
    "assert_conforms",
    "check_algorithm",
    "check_command",
    "check_component",
    "check_encoder",
    "check_plugin",
    "check_selected",
    "check_task",
    "choose_encoder",
    "conformance_cases",
    "conformance_params",
    "conformance_test",
    "encoder_probes",
    "format_results",
    "installed_registry",
    "plugin_infos",
    "probe_task",
    "providers",
    "single_thread",
    "summary_line",
    "tiny_tasks",
]
