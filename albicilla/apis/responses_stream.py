"""Output items of a streamed Responses API answer, rebuilt by `output_index` from their events."""

from __future__ import annotations

import copy
from typing import Any

# A content or summary index past this is not a real stream: padding a list up to it would let
# one event take any amount of memory.
MAX_PART_INDEX = 1024

# Delta event -> (the item type to assume when no `output_item.added` came, part index key,
# where the text goes inside the item, the part type to assume).
DELTAS: dict[str, tuple[str, str | None, str, str | None]] = {
    "response.output_text.delta": ("message", "content_index", "text", "output_text"),
    "response.refusal.delta": ("message", "content_index", "refusal", "refusal"),
    "response.reasoning_text.delta": ("reasoning", "content_index", "text", "reasoning_text"),
    "response.reasoning_summary_text.delta": ("reasoning", "summary_index", "text", "summary_text"),
    "response.function_call_arguments.delta": ("function_call", None, "arguments", None),
    "response.custom_tool_call_input.delta": ("custom_tool_call", None, "input", None),
}
# `*.done` events that carry the whole value: event type -> (its delta event, the value's key).
DONES: dict[str, tuple[str, str]] = {
    "response.output_text.done": ("response.output_text.delta", "text"),
    "response.refusal.done": ("response.refusal.delta", "refusal"),
    "response.reasoning_text.done": ("response.reasoning_text.delta", "text"),
    "response.reasoning_summary_text.done": ("response.reasoning_summary_text.delta", "text"),
    "response.function_call_arguments.done": (
        "response.function_call_arguments.delta",
        "arguments",
    ),
    "response.custom_tool_call_input.done": ("response.custom_tool_call_input.delta", "input"),
}
# Part events: event type -> (the list in the item, its index key).
PARTS: dict[str, tuple[str, str]] = {
    "response.content_part.added": ("content", "content_index"),
    "response.content_part.done": ("content", "content_index"),
    "response.reasoning_summary_part.added": ("summary", "summary_index"),
    "response.reasoning_summary_part.done": ("summary", "summary_index"),
}
_LIST_OF = {"content_index": "content", "summary_index": "summary"}

Path = tuple[str | int, ...]


class OutputItems:
    """Items by `output_index`: each item as last given whole, plus the text deltas since.

    Deltas are kept as lists of fragments and joined only when the items are asked for, so a
    long answer in many small deltas costs linear time.
    """

    def __init__(self) -> None:
        self._items: dict[int, dict[str, Any]] = {}
        self._texts: dict[int, dict[Path, list[str]]] = {}
        self.done: set[int] = set()  # indexes whose `output_item.done` arrived
        self._ids: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._items)

    def set_item(self, index: int, item: dict[str, Any], *, done: bool) -> None:
        """`output_item.added` or `.done`: the item as given (ours to change) replaces the last."""
        self._items[index] = item
        if isinstance(item.get("id"), str):
            self._ids[item["id"]] = index
        self._texts.pop(index, None)
        if done:
            self.done.add(index)

    def index_of(self, item_id: Any) -> int | None:
        """The `output_index` of the item with this id, for events that leave theirs out."""
        return self._ids.get(item_id) if isinstance(item_id, str) else None

    def apply(self, kind: str, index: int, data: dict[str, Any]) -> str | None:
        """A delta, a whole value or a part for item `index`; a note when it cannot be placed."""
        if kind in PARTS:
            key, index_key = PARTS[kind]
            part = data.get("part")
            position = _part_index(data, index_key)
            if not isinstance(part, dict) or not _is_index(position):
                return f"{kind} without a usable part or {index_key}"
            item = self._item(index, "reasoning" if key == "summary" else "message")
            _put_part(item, key, position, part)
            texts = self._texts.get(index)
            if texts:
                for path in [p for p in texts if p[:2] == (key, position)]:
                    del texts[path]  # the part as given replaces the deltas before it
            return None
        whole = DONES.get(kind)
        delta_kind, value_key = whole if whole else (kind, "delta")
        item_type, index_key, field, part_type = DELTAS[delta_kind]
        value = data.get(value_key)
        if not isinstance(value, str):
            return f"{kind} without a text {value_key}"
        if index_key is None:  # a call's text: on the item itself
            path: Path = (field,)
            holder: dict[str, Any] = self._item(index, item_type)
        else:  # a part's text (part_type is given for these)
            position = _part_index(data, index_key)
            if not _is_index(position):
                return f"{kind} without a usable {index_key}"
            key = _LIST_OF[index_key]
            path = (key, position, field)
            item = self._item(index, item_type)
            part = _part(item, key, position)
            holder = part if isinstance(part, dict) else {"type": part_type}
            if holder is not part:
                _put_part(item, key, position, holder)
        texts = self._texts.setdefault(index, {})
        fragments = texts.get(path)
        if whole or fragments is None:
            held = "" if whole else holder.get(field)
            fragments = texts[path] = [held if isinstance(held, str) else ""]
        fragments.append(value)
        return None

    def text_fragments(self, index: Any, position: Any) -> list[str] | None:
        """The fragments an `output_text.delta` for item `index`, content part `position`,
        appends to, if an earlier delta or done started them (the part then is in place);
        None otherwise."""
        if type(index) is not int or type(position) is not int or index < 0 or position < 0:
            return None
        texts = self._texts.get(index)
        return texts.get(("content", position, "text")) if texts is not None else None

    def output(self) -> list[dict[str, Any]]:
        """The items in `output_index` order, deltas applied; a copy the stream never changes."""
        out = []
        for index in sorted(self._items):
            item = copy.deepcopy(self._items[index])
            for path, fragments in self._texts.get(index, {}).items():
                _put(item, path, "".join(fragments))
            out.append(item)
        return out

    def _item(self, index: int, item_type: str) -> dict[str, Any]:
        item = self._items.get(index)
        if item is None:  # a delta before its item: keep the text under the type it implies
            item = self._items[index] = {"type": item_type}
        return item


def _part_index(data: dict[str, Any], key: str) -> Any:
    # Some imitation servers leave out the part index of items that have only one part.
    position = data.get(key)
    return 0 if position is None else position


def _is_index(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_PART_INDEX


def _part(item: dict[str, Any], key: str, position: int) -> Any:
    """`item[key][position]`, or None when there is no such part."""
    parts = item.get(key)
    return parts[position] if isinstance(parts, list) and position < len(parts) else None


def _put_part(item: dict[str, Any], key: str, position: int, part: Any) -> None:
    """Set `item[key][position]`, the list made or padded as `_put` makes it."""
    parts = item.get(key)
    if not isinstance(parts, list):
        parts = item[key] = []
    _set(parts, position, part)


def _get(item: dict[str, Any], path: Path) -> Any:
    node: Any = item
    for key in path:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            node = node.get(key) if isinstance(node, dict) else None
    return node


def _put(item: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path`, making the lists and dicts on the way (a part list is padded)."""
    node: Any = item
    for key, following in zip(path, path[1:], strict=False):
        child = _get(node, (key,))
        if not isinstance(child, list if isinstance(following, int) else dict):
            child = [] if isinstance(following, int) else {}
            _set(node, key, child)
        node = child
    _set(node, path[-1], value)


def _set(node: Any, key: str | int, value: Any) -> None:
    if isinstance(key, int):
        node.extend({} for _ in range(key + 1 - len(node)))
    node[key] = value
