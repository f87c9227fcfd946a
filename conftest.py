"""Settings for every test under this repository (core and plugins)."""

import os

# Tests train tiny models, where a second torch thread costs more than it gives (and several test
# processes sharing two cores slow each other down by 10x): one thread, set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download anything from a test
