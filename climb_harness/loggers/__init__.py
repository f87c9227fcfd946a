"""The loggers climb-harness ships: TensorBoard and Weights & Biases (offline), each an optional extra.

Enable one in an experiment config with ``loggers: [tensorboard]`` (or ``[{name: wandb, options:
{project: my-project}}]``); ``climb list loggers`` shows them. Every run also keeps its JSON-lines
event log (:mod:`climb_harness.core.events`) whatever the loggers.
"""
