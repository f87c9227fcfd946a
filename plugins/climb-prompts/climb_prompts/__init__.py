"""climb-prompts: L2P, DualPrompt and CODA-Prompt on a frozen pretrained encoder.

The encoder side is the contract of ``climb_harness.api.prompting`` (capabilities ``prompt-tuning``
and ``prefix-tuning``).
"""

__version__ = "0.1.0"
