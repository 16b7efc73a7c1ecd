"""`previous_response_id` chains: a response's whole history, rebuilt from logged records.

`history(id)` is the items the server holds after response `id`: its parent's history, its own
input, its output. Histories of recent responses are remembered (an LRU bounded by the number of
items it holds, the newest history always kept), so a chain read in order costs one lookup per
turn. A parent that is not remembered (it is in another session file or day, or was pushed out)
is found through an index of response id -> (file, position) of every stored response, built
by one pass over the files the first time it is needed, and its ancestors are re-read from disk
up to the first remembered one. Memory stays bounded by the LRU and the index, never by the logs.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..jsonio import loads
from ..logs.records import iter_lines, line_at

# Items held by remembered histories (a chain's histories share their items; a client that
# resends its whole history with `store` on does not, so the bound is in items, not entries).
REMEMBERED = 20_000


def parent_parts(record: Any) -> tuple[str, list[Any], list[Any], Any] | None:
    """`(response id, input items, output items, previous_response_id)` of a record a later
    request may continue, or None: a `/responses` exchange that ended well with an output.

    The response's own status does not matter: the server keeps an incomplete response too.
    A response the request asked not to store (`store: false`) cannot be continued.
    """
    if type(record) is not dict:
        return None
    endpoint = record.get("endpoint")
    if type(endpoint) is not str or not endpoint.rstrip("/").endswith("/responses"):
        return None
    if record.get("status") not in (None, 200) or record.get("complete") is False:
        return None
    request, response = record.get("request"), record.get("response")
    if type(request) is not dict or type(response) is not dict:
        return None
    response_id, output, items = response.get("id"), response.get("output"), request.get("input")
    if type(items) is str:
        items = [{"role": "user", "content": items}]
    if type(response_id) is not str or type(output) is not list or type(items) is not list:
        return None
    if request.get("store") is False:
        return None
    return response_id, items, output, request.get("previous_response_id")


class ResponseChains:
    """Histories of logged responses, over the session files of one run (in reading order)."""

    def __init__(self, paths: list[str], remembered: int = REMEMBERED) -> None:
        self._paths = paths
        self._limit = remembered  # 0: remember nothing (every parent is re-read)
        self._items = 0
        self._memo: OrderedDict[str, list[Any]] = OrderedDict()
        self._index: dict[str, tuple[int, Any]] | None = None

    def remember(self, response_id: Any, history: list[Any]) -> None:
        """Keep the history after `response_id` (its input and output included) for its children."""
        if type(response_id) is not str:
            return
        memo = self._memo
        old = memo.pop(response_id, None)
        if old is not None:
            self._items -= len(old)
        memo[response_id] = history
        self._items += len(history)
        while memo and self._items > self._limit and (len(memo) > 1 or not self._limit):
            _, evicted = memo.popitem(last=False)
            self._items -= len(evicted)

    def history(self, response_id: str) -> list[Any] | None:
        """The items after response `response_id`, or None when it or an ancestor was not logged."""
        chain: list[tuple[str, list[Any], list[Any]]] = []
        seen: set[str] = set()
        current: Any = response_id
        base: list[Any] = []
        while current:
            if type(current) is not str or current in seen:
                return None  # not an id, or a cycle of ids
            known = self._memo.get(current)
            if known is not None:
                self._memo.move_to_end(current)
                base = known
                break
            seen.add(current)
            parts = self._read(current)
            if parts is None:
                return None
            chain.append((current, parts[1], parts[2]))
            current = parts[3]
        for rid, items, output in reversed(chain):
            base = [*base, *items, *output]
            self.remember(rid, base)
        return base

    def _read(self, response_id: str) -> tuple[str, list[Any], list[Any], Any] | None:
        if self._index is None:
            self._index = self._build_index()
        where = self._index.get(response_id)
        if where is None:
            return None
        number, position = where
        try:
            return _parts_of_line(line_at(self._paths[number], position))
        except OSError:
            return None  # gone since the index was built: the parent cannot be read

    def _build_index(self) -> dict[str, tuple[int, Any]]:
        """Response id -> (file number, position) of the first record that answered it."""
        index: dict[str, tuple[int, Any]] = {}
        for number, path in enumerate(self._paths):
            try:
                for position, line in iter_lines(path):
                    # Only a stored response can be continued. Codex sends `store: false`, and
                    # the proxy writes compact JSON, so its lines are passed over unparsed.
                    if b"/responses" in line and b'"store":false' not in line:
                        parts = _parts_of_line(line)
                        if parts is not None:
                            index.setdefault(parts[0], (number, position))
            except OSError:
                continue  # reported when the file itself is converted
        return index


def _parts_of_line(line: bytes) -> tuple[str, list[Any], list[Any], Any] | None:
    try:
        return parent_parts(loads(line))
    except (ValueError, RecursionError):  # damaged lines are reported by the main pass
        return None
