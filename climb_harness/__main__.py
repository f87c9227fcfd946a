"""``python -m climb_harness ...`` is ``climb ...`` (e.g. under ``accelerate launch -m climb_harness run``)."""

from climb_harness.cli import main

if __name__ == "__main__":
    main(prog_name="climb")
