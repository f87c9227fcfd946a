"""Hook module of climb-language-tasks: the manifests of CLiMB's language-only tasks and wordnet-supersense.

Cheap to import (standard library and climb_harness.api only; no torch, no data access): ``climb
list`` imports it. Each task lives in its own module; its data is read only when the task's
``examples(split)`` is called.
"""

from __future__ import annotations

from climb_harness.api import Component, hookimpl, task
from climb_language_tasks import commonsenseqa, hellaswag, imdb, piqa, sst2, wordnet_supersense

#: Registry name -> (its module's manifest, factory).
TASKS = {
    imdb.NAME: (imdb.MANIFEST, "climb_language_tasks.imdb:ImdbTask"),
    sst2.NAME: (sst2.MANIFEST, "climb_language_tasks.sst2:Sst2Task"),
    piqa.NAME: (piqa.MANIFEST, "climb_language_tasks.piqa:PiqaTask"),
    hellaswag.NAME: (hellaswag.MANIFEST, "climb_language_tasks.hellaswag:HellaswagTask"),
    commonsenseqa.NAME: (commonsenseqa.MANIFEST, "climb_language_tasks.commonsenseqa:CommonsenseqaTask"),
    wordnet_supersense.NAME: (wordnet_supersense.MANIFEST, "climb_language_tasks.wordnet_supersense:WordnetSupersenseTask"),
}


@hookimpl
def climb_tasks() -> list[Component]:
    """CLiMB's five language tasks (imdb, sst2, piqa, hellaswag, commonsenseqa) and wordnet-supersense."""
    return [task(manifest, factory) for manifest, factory in TASKS.values()]
