"""The kernel: discovery and validation, configuration, the engine, results, metrics and intervals.

It imports the contract (:mod:`climb_harness.api`) and nothing outside it; the optional features import it.
"""
