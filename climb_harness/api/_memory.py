"""Seeded episodic memories for method authors (re-exported by :mod:`climb_harness.api`).

A memory holds **entries** ``(task, index)``: an index into the task's training split, read back with
``ctx.batch(task, indices)``, so an entry costs a few bytes whatever the encoder's inputs are. An
entry may also carry per-example tensors, declared as ``fields`` (DER's logits at insertion time).

Three policies, one job each:

* :class:`TaskMemory`: one list per task. ``set`` replaces a task's list (e.g. a random sample when
  the task ends); ``push`` appends the indices not yet held and drops the oldest beyond the capacity,
  so the list is a FIFO ring of the task's most recent distinct examples.
* :class:`ReservoirMemory`: Vitter's Algorithm R over the stream of offered examples: the n-th
  offered (1-based) is stored while there is room, afterwards it replaces a uniformly drawn slot
  with probability ``capacity / n``, so after n offers every one of them is held with probability
  ``capacity / n``.
* :class:`ClassBalancedMemory`: the greedy class-balanced sampler of GDumb (Prabhu et al. 2020,
  Algorithm 1): stored while there is room; afterwards an example of class y enters only when y holds
  fewer than ``capacity / |classes seen|`` entries, evicting a random entry of the largest class.

**Randomness** comes from the memory's own ``numpy.random.Generator``, seeded from explicit
entropy (``seed=`` or :meth:`reseed`, e.g. ``(ctx.seed, ctx.task_index, STREAM)`` at every task
start) and saved in the state, so a resumed run draws what an uninterrupted one does. A call may
pass its own generator instead (``rng=``).

**State**: ``state_dict(prefix)`` is a flat dict of JSON values and tensors under ``prefix.``
(what :meth:`Algorithm.state_dict` may return); ``load_state_dict(state, prefix)`` validates every
key it reads and raises ``KeyError`` (missing) or ``ValueError`` (malformed) naming the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, Union

import numpy as np
import torch

# A private module: climb_harness.api re-exports its public names (api._MEMORY_NAMES).

#: A memory entry: (task name, index into the task's training split).
Entry = tuple[str, int]
#: A class key of :class:`ClassBalancedMemory` within a task: a class index or a string.
Label = Union[int, str]
T = TypeVar("T")

_FIX = ("resume with the options and plugin versions the run started with, or start it again in a new "
        "--output folder.")


def seeded_generator(*entropy: int) -> np.random.Generator:
    """A numpy generator seeded from whole numbers, e.g. ``(ctx.seed, ctx.task_index, STREAM)``.

    Args:
        *entropy: Whole numbers (their absolute values are used).

    Returns:
        ``np.random.default_rng([|e| for e in entropy])``: the same numbers give the same draws.

    Example:
        >>> int(seeded_generator(0, 1, 7).integers(1000)) == int(seeded_generator(0, 1, 7).integers(1000))
        True
    """
    return np.random.default_rng([abs(int(e)) for e in entropy])


def budget_share(total: int, tasks: int, index: int) -> int:
    """Task ``index``'s share of a memory budget of ``total`` examples over a sequence of ``tasks``.

    The budget is split evenly and the first ``total % tasks`` tasks get one example more, so the
    shares add up to ``total`` exactly: what ``memory_size`` (the option every replay method offers)
    means for a memory kept per task.

    Args:
        total: The budget, examples over the whole sequence.
        tasks: The number of tasks of the run.
        index: The task's position in the sequence.

    Returns:
        ``total // tasks``, plus one for the first ``total % tasks`` tasks.

    Raises:
        ValueError: For an index outside the sequence.

    Example:
        >>> [budget_share(7, 3, i) for i in range(3)]
        [3, 2, 2]
    """
    if tasks < 1 or not 0 <= index < tasks:
        raise ValueError(f"budget_share: task index {index} is outside a sequence of {tasks} tasks")
    return total // tasks + (1 if index < total % tasks else 0)


def sample_without_replacement(items: Sequence[T], size: int, rng: np.random.Generator) -> list[T]:
    """``min(size, len(items))`` items drawn uniformly without replacement, in the order drawn.

    Args:
        items: What to draw from (entries, slots).
        size: How many.
        rng: The generator (one ``rng.choice`` call; nothing is drawn for an empty draw).

    Returns:
        The drawn items.

    Example:
        >>> sorted(sample_without_replacement([3, 1, 2], 5, seeded_generator(0)))
        [1, 2, 3]
    """
    if not items or size < 1:
        return []
    picks = rng.choice(len(items), size=min(size, len(items)), replace=False)
    return [items[int(i)] for i in picks]


# --------------------------------------------------------------------------- state helpers
def _missing(key: str, what: str) -> KeyError:
    return KeyError(f"the memory state lacks {key!r} ({what}): the checkpoint is incomplete; {_FIX}")


def _bad(key: str, problem: str) -> ValueError:
    return ValueError(f"the memory state's {key!r} {problem}; {_FIX}")


def _get(state: Mapping[str, Any], key: str, what: str, default: Any = ...) -> Any:
    if key in state:
        return state[key]
    if default is ...:
        raise _missing(key, what)
    return default


def _int_list(state: Mapping[str, Any], key: str, what: str, default: Any = ...) -> list[int]:
    """A 1-D tensor (or list) of non-negative whole numbers."""
    value = _get(state, key, what, default)
    if isinstance(value, torch.Tensor):
        if value.dim() != 1 or value.is_floating_point() or value.is_complex():
            raise _bad(key, f"is a {value.dtype} tensor of shape {tuple(value.shape)}, not 1-D integers")
        numbers = [int(v) for v in value.tolist()]
    elif isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        numbers = list(value)
    else:
        raise _bad(key, f"is {type(value).__name__}, not a 1-D integer tensor")
    if any(n < 0 for n in numbers):
        raise _bad(key, "holds a negative index")
    return numbers


def _str_list(state: Mapping[str, Any], key: str, what: str, default: Any = ...) -> list[str]:
    value = _get(state, key, what, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(key, f"is {type(value).__name__}, not a list of task names")
    return list(value)


def _whole(state: Mapping[str, Any], key: str, what: str, default: Any = ...) -> int:
    value = _get(state, key, what, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(key, f"is {value!r}, not a whole number >= 0")
    return value


def _check_fields(fields: Iterable[str]) -> tuple[str, ...]:
    names = tuple(fields)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a memory field name must be a Python identifier (it becomes part of state "
                             f"keys), not {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"memory fields {names} name one field twice")
    return names


class _Seeded:
    """The generator and the declared per-example fields every memory has."""

    def __init__(self, seed: int | Sequence[int] = 0, fields: Iterable[str] = ()) -> None:
        self.fields = _check_fields(fields)
        self.rng = seeded_generator(*([seed] if isinstance(seed, int) else seed))

    def reseed(self, *entropy: int) -> None:
        """Replace the generator by one seeded from ``entropy``, e.g. ``(ctx.seed, ctx.task_index, STREAM)``.

        Args:
            *entropy: Whole numbers (see :func:`seeded_generator`).
        """
        self.rng = seeded_generator(*entropy)

    def _row_values(self, values: Mapping[str, Any], rows: int | None) -> dict[str, list[torch.Tensor]]:
        """Check that ``values`` gives every declared field (and nothing else); split them into rows."""
        if set(values) != set(self.fields):
            raise ValueError(f"this memory holds the fields {list(self.fields)}; got {sorted(values)}")
        out: dict[str, list[torch.Tensor]] = {}
        for name in self.fields:
            value = values[name]
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"memory field {name!r} must be a tensor, not {type(value).__name__}")
            if rows is None:
                out[name] = [value.detach().clone()]
            elif value.dim() == 0 or len(value) != rows:
                raise ValueError(f"memory field {name!r} has {len(value) if value.dim() else 0} rows "
                                 f"for {rows} indices")
            else:
                out[name] = [row.detach().clone() for row in value]
        return out

    def _rng_state(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}.rng": dict(self.rng.bit_generator.state)}

    def _load_rng(self, state: Mapping[str, Any], prefix: str) -> None:
        key = f"{prefix}.rng"
        if key not in state:  # written before the memory saved its generator: keep the current one
            return
        value = state[key]
        expected = type(self.rng.bit_generator).__name__
        if not isinstance(value, Mapping) or value.get("bit_generator") != expected:
            raise _bad(key, f"is not the state of a {expected} generator")
        rng = np.random.Generator(type(self.rng.bit_generator)())
        try:
            rng.bit_generator.state = dict(value)
        except (TypeError, ValueError, KeyError) as exc:
            raise _bad(key, f"is not a valid {expected} state ({exc})") from None
        self.rng = rng

    def _values_state(self, prefix: str, task: str, rows: Mapping[str, list[torch.Tensor]]) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name in self.fields:
            key = f"{prefix}.values.{name}.{task}"
            try:
                state[key] = torch.stack(rows[name]) if rows[name] else torch.zeros(0)
            except RuntimeError as exc:
                raise ValueError(f"memory field {name!r} of task {task!r} holds tensors of different "
                                 f"shapes; they cannot be saved as {key!r} ({exc})") from None
        return state

    def _load_values(self, state: Mapping[str, Any], prefix: str, task: str, count: int,
                     device: Any) -> dict[str, list[torch.Tensor]]:
        out: dict[str, list[torch.Tensor]] = {}
        for name in self.fields:
            key = f"{prefix}.values.{name}.{task}"
            value = _get(state, key, f"the {name!r} tensors of task {task!r}")
            if not isinstance(value, torch.Tensor):
                raise _bad(key, f"is {type(value).__name__}, not a tensor")
            if count and (value.dim() == 0 or len(value) != count):
                rows = len(value) if value.dim() else 0
                raise _bad(key, f"has {rows} rows for {count} entries of task {task!r}")
            value = value if device is None else value.to(device)
            out[name] = [row for row in value] if count else []
        return out


class TaskMemory(_Seeded):
    """Indices per task; ``capacity`` bounds each task's list, and :meth:`push` makes it a FIFO ring.

    Args:
        capacity: Entries per task (None: unbounded); a call may give its own.
        fields: Names of the per-example tensors each entry carries (none by default).
        seed: Seeds :attr:`rng` (see :func:`seeded_generator`).

    Example:
        >>> ring = TaskMemory(capacity=3)
        >>> ring.push("a", [5, 1, 5, 7]); ring.push("a", [9])
        >>> ring.indices("a"), ring.entries(["a"])[0]
        ([1, 7, 9], ('a', 1))
    """

    def __init__(self, capacity: int | None = None, *, fields: Iterable[str] = (),
                 seed: int | Sequence[int] = 0) -> None:
        super().__init__(seed, fields)
        if capacity is not None and capacity < 1:
            raise ValueError(f"a memory's capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._slots: dict[str, list[int]] = {}
        self._values: dict[str, dict[str, list[torch.Tensor]]] = {}

    def set(self, task: str, indices: Iterable[int], capacity: int | None = None,
            **values: torch.Tensor) -> None:
        """Replace ``task``'s list by the first ``capacity`` of ``indices`` (default: the memory's own).

        Args:
            task: The task.
            indices: Training-split indices, in order.
            capacity: Keep at most this many (None: the memory's capacity).
            **values: One tensor per declared field, a row per index.
        """
        limit = self.capacity if capacity is None else capacity
        chosen = [int(i) for i in indices]
        rows = self._row_values(values, len(chosen))
        keep = len(chosen) if limit is None else limit
        self._slots[task] = chosen[:keep]
        self._values[task] = {name: column[:keep] for name, column in rows.items()}

    def push(self, task: str, indices: Iterable[int], capacity: int | None = None,
             **values: torch.Tensor) -> None:
        """Append the indices ``task`` does not hold yet; beyond ``capacity`` drop the oldest (FIFO ring).

        Args:
            task: The task.
            indices: Training-split indices, oldest first.
            capacity: The ring's size (None: the memory's own; 0 keeps nothing).
            **values: One tensor per declared field, a row per index.
        """
        limit = self.capacity if capacity is None else capacity
        chosen = [int(i) for i in indices]
        rows = self._row_values(values, len(chosen))
        slot = self._slots.setdefault(task, [])
        columns = self._values.setdefault(task, {name: [] for name in self.fields})
        held = set(slot)
        for position, index in enumerate(chosen):
            if index in held:
                continue
            slot.append(index)
            held.add(index)
            for name in self.fields:
                columns[name].append(rows[name][position])
            if limit is not None and len(slot) > limit:
                held.discard(slot.pop(0))
                for name in self.fields:
                    columns[name].pop(0)

    def tasks(self) -> list[str]:
        """The tasks with a list, in the order they were first given one."""
        return list(self._slots)

    def indices(self, task: str) -> list[int]:
        """``task``'s indices, oldest first (empty for a task without a list)."""
        return list(self._slots.get(task, []))

    def values(self, field: str, task: str) -> list[torch.Tensor]:
        """``task``'s tensors of ``field``, one per index, in the order of :meth:`indices`."""
        if field not in self.fields:
            raise KeyError(f"this memory holds the fields {list(self.fields)}, not {field!r}")
        return list(self._values.get(task, {}).get(field, []))

    def entries(self, tasks: Iterable[str]) -> list[Entry]:
        """Every ``(task, index)`` held for ``tasks``, task by task in the order given."""
        return [(task, index) for task in tasks for index in self._slots.get(task, [])]

    def __len__(self) -> int:
        return sum(len(slot) for slot in self._slots.values())

    def state_dict(self, prefix: str) -> dict[str, Any]:
        """``prefix.tasks`` (names), ``.indices.<task>`` (int64), ``.values.<field>.<task>``, ``.rng``."""
        state: dict[str, Any] = {f"{prefix}.tasks": list(self._slots), **self._rng_state(prefix)}
        for task, slot in self._slots.items():
            state[f"{prefix}.indices.{task}"] = torch.tensor(slot, dtype=torch.int64)
            state.update(self._values_state(prefix, task, self._values.get(task, {})))
        return state

    def load_state_dict(self, state: Mapping[str, Any], prefix: str, device: Any = None) -> None:
        """Restore what :meth:`state_dict` saved (field tensors moved to ``device`` when given).

        Raises:
            KeyError: A key is missing (named).
            ValueError: A value is malformed (named).
        """
        slots: dict[str, list[int]] = {}
        values: dict[str, dict[str, list[torch.Tensor]]] = {}
        for task in _str_list(state, f"{prefix}.tasks", "the names of the tasks held", []):
            key = f"{prefix}.indices.{task}"
            slots[task] = _int_list(state, key, f"the indices of task {task!r}")
            values[task] = self._load_values(state, prefix, task, len(slots[task]), device)
        self._load_rng(state, prefix)
        self._slots, self._values = slots, values


class _Stream(_Seeded):
    """Bounded slots of entries over all tasks (the reservoir and the class-balanced memory)."""

    def __init__(self, capacity: int, fields: Iterable[str], seed: int | Sequence[int], what: str) -> None:
        super().__init__(seed, fields)
        if capacity < 1:
            raise ValueError(f"{what}'s memory_size must be at least 1, not {capacity}")
        self.capacity = capacity
        self.entries: list[Entry] = []
        self.seen = 0  # examples offered so far
        self._values: dict[str, list[torch.Tensor]] = {name: [] for name in self.fields}

    def _write(self, slot: int, task: str, index: int, values: Mapping[str, Any]) -> None:
        rows = self._row_values(values, None)
        if slot == len(self.entries):
            self.entries.append((task, int(index)))
            for name in self.fields:
                self._values[name].append(rows[name][0])
        else:
            self.entries[slot] = (task, int(index))
            for name in self.fields:
                self._values[name][slot] = rows[name][0]

    def slots(self, tasks: Iterable[str] | None = None) -> list[int]:
        """The slots holding an entry of ``tasks`` (every slot for None), in slot order."""
        if tasks is None:
            return list(range(len(self.entries)))
        wanted = set(tasks)
        return [slot for slot, (task, _) in enumerate(self.entries) if task in wanted]

    def select(self, tasks: Iterable[str]) -> list[Entry]:
        """The entries of ``tasks``, in slot order."""
        return [self.entries[slot] for slot in self.slots(tasks)]

    def value(self, field: str, slot: int) -> torch.Tensor:
        """The tensor of ``field`` stored with the entry in ``slot``."""
        if field not in self.fields:
            raise KeyError(f"this memory holds the fields {list(self.fields)}, not {field!r}")
        return self._values[field][slot]

    def __len__(self) -> int:
        return len(self.entries)

    def _entries_state(self, prefix: str) -> dict[str, Any]:
        names = sorted({task for task, _ in self.entries})
        state: dict[str, Any] = {
            f"{prefix}.seen": self.seen,
            f"{prefix}.task_names": names,
            f"{prefix}.task_ids": torch.tensor([names.index(t) for t, _ in self.entries], dtype=torch.int64),
            f"{prefix}.indices": torch.tensor([i for _, i in self.entries], dtype=torch.int64),
            **self._rng_state(prefix),
        }
        for task in names:
            rows = {name: [self._values[name][s] for s in self.slots([task])] for name in self.fields}
            state.update(self._values_state(prefix, task, rows))
        return state

    def _load_entries(self, state: Mapping[str, Any], prefix: str, device: Any) -> tuple[list[Entry], int]:
        names = _str_list(state, f"{prefix}.task_names", "the names of the tasks held", [])
        ids = _int_list(state, f"{prefix}.task_ids", "each entry's task", [])
        indices = _int_list(state, f"{prefix}.indices", "each entry's index", [])
        if len(ids) != len(indices) or len(ids) > self.capacity:
            raise _bad(f"{prefix}.indices", f"holds {len(indices)} indices for {len(ids)} task ids "
                       f"and a capacity of {self.capacity} (memory_size {self.capacity})")
        if any(t >= len(names) for t in ids):
            raise _bad(f"{prefix}.task_ids", f"names a task beyond the {len(names)} of {prefix}.task_names")
        entries = [(names[t], i) for t, i in zip(ids, indices)]
        seen = _whole(state, f"{prefix}.seen", "how many examples were offered", len(entries))
        if seen < len(entries):
            raise _bad(f"{prefix}.seen", f"is {seen}, fewer than the {len(entries)} entries held")
        columns: dict[str, list[Any]] = {name: [None] * len(entries) for name in self.fields}
        for task in names:
            slots = [s for s, (t, _) in enumerate(entries) if t == task]
            rows = self._load_values(state, prefix, task, len(slots), device)
            for name in self.fields:
                for slot, row in zip(slots, rows[name]):
                    columns[name][slot] = row
        self._values = columns
        self._load_rng(state, prefix)
        return entries, seen


class ReservoirMemory(_Stream):
    """At most ``capacity`` entries, a uniform sample of every example offered (Vitter's Algorithm R).

    Args:
        capacity: Entries held at most (``memory_size``), over all tasks.
        fields: Names of the per-example tensors each entry carries.
        seed: Seeds :attr:`rng`.

    Example:
        >>> memory = ReservoirMemory(2, fields=("logits",))
        >>> for i in range(5):
        ...     _ = memory.offer("t", i, logits=torch.tensor([float(i)]))
        >>> len(memory), memory.seen
        (2, 5)
        >>> all(float(memory.value("logits", s)) == i for s, (_, i) in enumerate(memory.entries))
        True
    """

    def __init__(self, capacity: int, *, fields: Iterable[str] = (), seed: int | Sequence[int] = 0) -> None:
        super().__init__(capacity, fields, seed, "a reservoir")

    def offer(self, task: str, index: int, rng: np.random.Generator | None = None,
              **values: torch.Tensor) -> int | None:
        """Offer one example: stored while there is room, else into a uniform slot of ``[0, n)`` if it exists.

        Args:
            task: Its task.
            index: Its training-split index.
            rng: The generator (default :attr:`rng`): one ``integers(n)`` draw once the memory is full.
            **values: One tensor per declared field (the example's row), copied if stored.

        Returns:
            The slot written, or None when the example was not stored.
        """
        self.seen += 1
        if len(self.entries) < self.capacity:
            slot = len(self.entries)
        else:
            slot = int((rng or self.rng).integers(self.seen))  # uniform in [0, seen)
            if slot >= self.capacity:
                return None
        self._write(slot, task, index, values)
        return slot

    def offer_batch(self, task: str, indices: Sequence[int], rng: np.random.Generator | None = None,
                    **values: torch.Tensor) -> list[int | None]:
        """:meth:`offer` each of ``indices`` in order; ``values`` hold a row per index."""
        rows = {name: value for name, value in values.items()}
        for name, value in rows.items():
            if not isinstance(value, torch.Tensor) or value.dim() == 0 or len(value) != len(indices):
                raise ValueError(f"memory field {name!r} needs one row per index ({len(indices)})")
        return [self.offer(task, index, rng, **{name: value[row] for name, value in rows.items()})
                for row, index in enumerate(indices)]

    def state_dict(self, prefix: str) -> dict[str, Any]:
        """``prefix.seen``, ``.task_names``, ``.task_ids``, ``.indices`` (int64), ``.values.<field>.<task>``,
        ``.rng``."""
        return self._entries_state(prefix)

    def load_state_dict(self, state: Mapping[str, Any], prefix: str, device: Any = None) -> None:
        """Restore what :meth:`state_dict` saved (a bad or missing key is named: ValueError, KeyError)."""
        self.entries, self.seen = self._load_entries(state, prefix, device)


class ClassBalancedMemory(_Stream):
    """GDumb's greedy class-balanced sampler over classes ``(task, label)`` (Prabhu et al. 2020, Alg. 1).

    While there is room every offered example is stored. Once full, an example of class y is stored
    only when y holds fewer than ``capacity / |classes seen so far|`` entries; it then replaces an
    entry drawn uniformly from the class holding the most entries (ties between such classes are
    drawn uniformly too). The memory therefore stays balanced over the classes seen, whatever their
    frequencies in the stream.

    Args:
        capacity: Entries held at most (``memory_size``), over all tasks.
        fields: Names of the per-example tensors each entry carries.
        seed: Seeds :attr:`rng`.

    Example:
        >>> memory = ClassBalancedMemory(4)
        >>> for i in range(8):
        ...     _ = memory.offer("t", i, label=0 if i < 6 else 1)
        >>> sorted(memory.class_counts().values())
        [2, 2]
    """

    def __init__(self, capacity: int, *, fields: Iterable[str] = (), seed: int | Sequence[int] = 0) -> None:
        super().__init__(capacity, fields, seed, "a class-balanced memory")
        self.labels: list[Label] = []  # the class label of each slot's entry
        self.classes: list[tuple[str, Label]] = []  # every class seen, in order of first sight

    def class_counts(self) -> dict[tuple[str, Label], int]:
        """Entries held per class ``(task, label)``, for every class seen (0 when evicted)."""
        counts = {key: 0 for key in self.classes}
        for (task, _), label in zip(self.entries, self.labels):
            counts[(task, label)] += 1
        return counts

    def offer(self, task: str, index: int, label: Label, rng: np.random.Generator | None = None,
              **values: torch.Tensor) -> int | None:
        """Offer one example of class ``(task, label)``.

        Args:
            task: Its task.
            index: Its training-split index.
            label: Its class within the task (an int, or a string for a composite class).
            rng: The generator (default :attr:`rng`), used only to pick what is evicted.
            **values: One tensor per declared field (the example's row), copied if stored.

        Returns:
            The slot written, or None when the example was not stored.
        """
        if not isinstance(label, (int, str)) or isinstance(label, bool):
            raise TypeError(f"a class label must be an int or a str, not {type(label).__name__}")
        self.seen += 1
        key = (task, label)
        if key not in self.classes:
            self.classes.append(key)
        if len(self.entries) < self.capacity:
            slot = len(self.entries)
            self.labels.append(label)
        else:
            counts = self.class_counts()
            if counts[key] >= self.capacity / len(self.classes):
                return None
            largest = max(counts.values())
            crowded = [c for c in self.classes if counts[c] == largest]
            generator = rng or self.rng
            victim = crowded[int(generator.integers(len(crowded)))] if len(crowded) > 1 else crowded[0]
            candidates = [s for s, ((t, _), lab) in enumerate(zip(self.entries, self.labels))
                          if (t, lab) == victim]
            slot = candidates[int(generator.integers(len(candidates)))]
            self.labels[slot] = label
        self._write(slot, task, index, values)
        return slot

    def state_dict(self, prefix: str) -> dict[str, Any]:
        """The reservoir's keys, ``prefix.labels`` (one per entry) and ``prefix.classes`` (seen)."""
        return {**self._entries_state(prefix), f"{prefix}.labels": list(self.labels),
                f"{prefix}.classes": [[task, label] for task, label in self.classes]}

    def load_state_dict(self, state: Mapping[str, Any], prefix: str, device: Any = None) -> None:
        """Restore what :meth:`state_dict` saved (a bad or missing key is named: ValueError, KeyError)."""
        entries, seen = self._load_entries(state, prefix, device)
        labels = _get(state, f"{prefix}.labels", "each entry's class label")
        classes = _get(state, f"{prefix}.classes", "the classes seen")
        if not isinstance(labels, list) or len(labels) != len(entries) or not all(
                isinstance(x, (int, str)) and not isinstance(x, bool) for x in labels):
            raise _bad(f"{prefix}.labels", f"is not a list of {len(entries)} int or str labels")
        if not isinstance(classes, list) or not all(
                isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], (int, str))
                for c in classes):
            raise _bad(f"{prefix}.classes", "is not a list of [task, label] pairs")
        seen_classes = [(str(t), lab) for t, lab in classes]
        if any((task, label) not in seen_classes for (task, _), label in zip(entries, labels)):
            raise _bad(f"{prefix}.labels", f"names a class missing from {prefix}.classes")
        self.entries, self.seen, self.labels, self.classes = entries, seen, labels, seen_classes
