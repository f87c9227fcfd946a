"""YAML for untrusted config text: plain data only, with bounded aliases, size and nesting.

``yaml.safe_load`` refuses ``!!python/...`` tags but not a 1 KB "billion laughs" file (nested anchors
whose expansion has ``9 ** 9`` nodes): it loads in no time as shared objects, and then every walk over
it (validation, an error message echoing it) takes minutes and gigabytes. :class:`LimitedLoader`
counts what the document would be once its aliases are expanded and refuses it beyond fixed bounds,
as well as recursive aliases, nesting beyond ``MAX_DEPTH`` (which would otherwise end in a
``RecursionError``) and duplicate keys (which would otherwise silently keep the last one).
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: What PyYAML's scanner and constructors raise, besides YAMLError, on a bad scalar (``!!int x``,
#: ``2020-13-45``, an integer of 5,000 digits, ``!!timestamp x``, ``"\\UFFFFFFFF"``).
_BAD_SCALAR = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError)


class LimitError(yaml.MarkedYAMLError):
    """The document is valid YAML but bigger, deeper or more aliased than a config can be."""


class LimitedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses alias bombs, recursive aliases, deep nesting and duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._open: set[str] = set()
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._compose_alias(parent, index, event)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise LimitError(None, None, f"the document nests deeper than {MAX_DEPTH} levels",
                             event.start_mark)
        if event.anchor is not None:
            self._open.add(event.anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(event.anchor)
        self._count(node, event)  # type: ignore[arg-type]  # the library's stubs are narrower than its behaviour
        return node  # type: ignore[return-value]  # the library's stubs are narrower than its behaviour

    def _compose_alias(self, parent: yaml.Node | None, index: Any, event: yaml.AliasEvent) -> yaml.Node:
        if event.anchor in self._open:
            raise LimitError(None, None, f"alias *{event.anchor} refers to a node that contains it (a "
                             "recursive structure, which a config cannot be)", event.start_mark)  # type: ignore[arg-type]  # the library's stubs are narrower than its behaviour
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise LimitError(None, None, f"the document uses more than {MAX_ALIASES} aliases",
                             event.start_mark)  # type: ignore[arg-type]  # the library's stubs are narrower than its behaviour
        return super().compose_node(parent, index)  # type: ignore[return-value]  # the library's stubs are narrower than its behaviour

    def _count(self, node: yaml.Node, event: yaml.Event) -> None:
        """Record the node's size once aliases are expanded; refuse a document above ``MAX_NODES``."""
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes.get(id(child), 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        else:
            size = 1
        if size > MAX_NODES:
            raise LimitError(None, None, "the document expands (through its aliases) to more than "
                             f"{MAX_NODES:,} values", event.start_mark)  # type: ignore[arg-type]  # the library's stubs are narrower than its behaviour
        self._sizes[id(node)] = size

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except _BAD_SCALAR as exc:
            value = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            kind = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {_short(value)} as {kind} ({exc})", node.start_mark
            ) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark, f"found duplicate key {_short(key)}",
                            key_node.start_mark)
                    seen.add(key)
        return super().construct_mapping(node, deep)


def load(text: str) -> Any:
    """The single YAML document in ``text``, within the limits above (raises ``yaml.YAMLError``)."""
    loader = LimitedLoader(text)
    try:
        return loader.get_single_data()
    except _BAD_SCALAR as exc:
        raise yaml.YAMLError(f"unreadable YAML ({type(exc).__name__}: {_short(str(exc))})") from exc
    finally:
        loader.dispose()


def describe(exc: Exception) -> str:
    """A one-line account of a YAML error: what is wrong and where (PyYAML's own spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        what = "; ".join(str(part) for part in (exc.context, exc.problem) if part) or type(exc).__name__
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return what + where
    if isinstance(exc, yaml.reader.ReaderError):
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return f"unacceptable character {character}: {exc.reason} (position {exc.position})"
    return " ".join(str(exc).split()) or type(exc).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
