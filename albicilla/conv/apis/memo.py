"""Resent history is mapped once: recent requests' chat messages, reused for a shared prefix."""

from __future__ import annotations

from typing import Any

RECENT = 4  # side calls interleave with the main loop
TRIES = 3  # cuts tried per recent request, from its end (a client may change its last entry)

Cut = tuple[int, int]


class PrefixMemo:
    """The chat messages of a few recent sources (input items, Anthropic turns) and their cuts.

    A cut `(entries, count)` says the first `entries` entries of a source map to its first `count`
    chat messages whatever follows them (no assistant message is still open there). Agents resend
    the previous request as it was, so one list comparison in C usually proves a new source
    starts with the entries of a recent one up to a cut: it takes those messages as they are (the
    same objects, which the fold then compares by identity) and only the rest is mapped.
    """

    def __init__(self, size: int = RECENT) -> None:
        self._size = size
        self._recent: list[tuple[list[Any], list[dict[str, Any]], list[Cut]]] = []

    def prefix(self, source: list[Any]) -> tuple[int, list[dict[str, Any]]]:
        """How many entries of `source` are mapped already, and a new list of their messages."""
        best_entries, best_count, best_messages = 0, 0, None
        for old, messages, cuts in self._recent:
            for entries, count in reversed(cuts[-TRIES:]):
                if entries <= best_entries:
                    break
                if (
                    entries <= len(source)
                    # The last entry first: a client that changed one (a moved cache marker)
                    # changed the last, and this spares comparing the whole prefix twice.
                    and source[entries - 1] == old[entries - 1]
                    and source[:entries] == old[:entries]
                ):
                    best_entries, best_count, best_messages = entries, count, messages
                    break
        if best_messages is None:
            return 0, []
        return best_entries, best_messages[:best_count]

    def keep(self, source: list[Any], messages: list[dict[str, Any]], cuts: list[Cut]) -> None:
        """Remember a mapped source; `messages` must not change afterwards."""
        if cuts:
            self._recent.insert(0, (source, messages, cuts))
            del self._recent[self._size :]
