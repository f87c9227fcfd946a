"""The plugin's ``config`` option -> an ``adapters`` configuration object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Option value -> the adapters library's name for it (1.x renamed CLiMB-era "houlsby"/"pfeiffer").
LIBRARY_NAMES = {"houlsby": "double_seq_bn", "pfeiffer": "seq_bn", "lora": "lora"}


def adapter_config(options: Mapping[str, Any]) -> Any:
    """An ``adapters`` config for ``options["config"]`` with the plugin's size options applied."""
    import adapters

    kind = options["config"]
    if kind == "houlsby":
        return adapters.DoubleSeqBnConfig(reduction_factor=int(options["reduction_factor"]))
    if kind == "pfeiffer":
        return adapters.SeqBnConfig(reduction_factor=int(options["reduction_factor"]))
    if kind == "lora":
        return adapters.LoRAConfig(r=int(options["lora_r"]), alpha=options["lora_alpha"])
    raise ValueError(f"adapters: unknown config {kind!r}; choose one of {', '.join(LIBRARY_NAMES)}.")
