"""The conformance kit plugin authors run locally and in their CI (``climb check`` and pytest)."""
