"""Hook module of climb-vision-tasks: the manifests of its six vision tasks.

Cheap to import (no torch, numpy, PIL or scikit-learn; no data access): ``climb list`` imports it. Each
task lives in its own module (manifest, reading of the official files, Task class); the data is read
only when a task's ``examples(split)`` is called.
"""

from __future__ import annotations

from climb_harness.api import Component, hookimpl, task
from climb_vision_tasks import coco_cls, digits, fashion_mnist, imagenet, inaturalist, places365

#: (module, Task class name) of every task, in the order ``climb list`` shows them.
TASKS = (
    (imagenet, "ImageNetTask"),
    (inaturalist, "INaturalist2019Task"),
    (places365, "Places365Task"),
    (coco_cls, "CocoClsTask"),
    (fashion_mnist, "FashionMnistTask"),
    (digits, "DigitsTask"),
)


@hookimpl
def climb_tasks() -> list[Component]:
    """imagenet, inaturalist2019, places365, coco-cls, fashion-mnist and digits."""
    return [task(module.MANIFEST, f"{module.__name__}:{cls}") for module, cls in TASKS]
