"""climb-harness tasks: CLiMB's language-only downstream tasks, read from their official releases.

One module per task: :mod:`.imdb`, :mod:`.sst2`, :mod:`.piqa`, :mod:`.hellaswag`,
:mod:`.commonsenseqa` and :mod:`.wordnet_supersense`; :mod:`.plugin` registers them.
"""

__version__ = "0.1.0"
