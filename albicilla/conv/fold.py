"""Folding one session's exchanges into conversations: a trie of message keys finds every prefix.

A record's conversation is its request messages plus one reply. A conversation whose messages are
a prefix of another record's request is folded into it; whatever nothing extends is written.

Each request walks down a trie with one node per distinct message prefix; conversations wait on
the node where they end, so a request meets every conversation it extends on its way down, with
one dict lookup per message: linear in the number of messages, never a comparison of pairs. The
prefix an agent resends unchanged is not even walked: one list comparison in C against a recent
request proves it equal, and that request's path is reused. Only conversations still open keep
their messages in memory.

Keys leave tool-call ids out (clients invent new ones when they resend a call), so a request can
fold into a conversation whose ids differ from its own: each node keeps the ids of the last
message that reached it, and `id_only_folds` counts the records that met other ids on their way
(Gemini CLI's own ids on calls the model sent without, a run repeated with new ids).
"""

from __future__ import annotations

from typing import Any

from .chatform import tool_name
from .keys import Key, canonical_json, canonical_key, message_key

# How many recent requests a new one is compared with to reuse their paths (side calls and
# sub-agents interleave with the main loop).
RECENT_PATHS = 8


class _Node:
    """A trie node: one distinct message prefix of the session."""

    __slots__ = ("children", "canonical", "convs", "ids")

    def __init__(self) -> None:
        self.children: dict[Key, _Node] = {}
        self.ids: tuple[Any, ...] | None = None  # tool-call ids of the last message here
        # children with tool calls by canonical key, built on the first miss that needs it
        self.canonical: dict[Key, _Node] | None = None
        self.convs: list[_Conversation] | None = None  # conversations that end here, not folded

    def child(self, key: Key) -> _Node:
        """The child for `key`, created when no child has the same (canonical) key."""
        children = self.children
        child = children.get(key)
        if child is not None:
            return child
        if len(key) == 4 and children:
            # A tool-calling message not sent the same way as before: compare parsed arguments.
            index = self.canonical
            if index is None:
                index = self.canonical = {
                    canonical_key(k): c for k, c in children.items() if len(k) == 4
                }
            canonical = canonical_key(key)
            child = index.get(canonical)
            if child is None:
                child = index[canonical] = _Node()
        else:
            child = _Node()
        children[key] = child
        return child


class _Record:
    __slots__ = ("index", "messages", "tools", "first", "open")

    def __init__(self, index: int, messages: list[dict[str, Any]]) -> None:
        self.index = index
        self.messages: list[dict[str, Any]] | None = messages
        self.tools: dict[str, Any] = {}  # union of the tools of every record folded into this
        self.first = index  # index of the earliest record folded into this one, transitively
        self.open = 0  # this record's conversations not folded yet


class _Conversation:
    __slots__ = ("record", "choice", "reply", "folded")

    def __init__(self, record: _Record, choice: int, reply: dict[str, Any]) -> None:
        self.record = record
        self.choice = choice
        self.reply: dict[str, Any] | None = reply
        self.folded = False


class SessionFolder:
    """Feed a session's exchanges in file order with `add`, then read `conversations()`."""

    def __init__(self) -> None:
        self._root = _Node()
        self._convs: list[_Conversation] = []
        self._records = 0
        self.id_only_folds = 0  # records that met another message's tool-call ids on their path
        # (messages, trie path) of the latest requests, newest first
        self._recent: list[tuple[list[dict[str, Any]], list[_Node]]] = []

    def add(
        self, messages: list[dict[str, Any]], replies: list[dict[str, Any]], tools: list[Any]
    ) -> bool:
        """Take one exchange; False (and nothing recorded) when a message is not an object."""
        nodes, reused, extended = self._reuse(messages)
        fresh = messages[reused:]
        if not all(type(m) is dict for m in fresh):
            return False

        # No conversation is open on a borrowed path: that request folded those it found, and
        # none is attached later where a request went on (see the `children` check below).
        parents: list[_Conversation] = []
        node = nodes[-1] if nodes else self._root
        other_ids = False
        for message in fresh:
            key = message_key(message)
            node = node.child(key)
            if len(key) == 4 or key[0] == "tool":
                other_ids = _other_ids(node, message) or other_ids
            if node.convs is not None:
                # Earlier conversations that end here are a prefix of this request: fold them.
                parents.extend(node.convs)
                node.convs = None
            nodes.append(node)

        record = _Record(self._records, messages)
        self._records += 1
        targets: list[tuple[_Node, int, dict[str, Any]]] = []
        for choice, reply in enumerate(replies):
            key = message_key(reply)
            child = node.child(key)
            if len(key) == 4:
                other_ids = _other_ids(child, reply) or other_ids
            if child.children:
                continue  # an earlier request already went on from here (records out of order)
            if any(target is child for target, _, _ in targets):
                continue  # an n > 1 choice identical to an earlier one: the same conversation
            if child.convs is not None:
                # The same conversation happened before (a repeated call): keep it once.
                parents.extend(child.convs)
                child.convs = None
            targets.append((child, choice, reply))

        self.id_only_folds += other_ids
        self._fold(record, parents, tools)
        for child, choice, reply in targets:
            conv = _Conversation(record, choice, reply)
            child.convs = [conv]
            self._convs.append(conv)
        record.open = len(targets)
        if extended is not None:
            del self._recent[extended]  # this request starts with all of it: keep one of the two
        self._recent.insert(0, (messages, nodes))
        del self._recent[RECENT_PATHS:]
        return True

    def _reuse(self, messages: list[dict[str, Any]]) -> tuple[list[_Node], int, int | None]:
        """The trie path of the longest prefix shared with a recent request, and its length.

        Agents resend the previous request's messages as they were, so one comparison in C
        usually proves the whole prefix equal; equal messages have equal keys, so that request's
        path is this one's too. Returns a copy of the path, its length, and the position in
        `_recent` of a request this one wholly extends (which it then replaces there).
        """
        best: list[_Node] = []
        for position, (previous, nodes) in enumerate(self._recent):
            size = len(previous)
            if messages[:size] == previous:
                return nodes[:], size, position
            shared = 0
            for i in range(min(size, len(messages))):
                if messages[i] != previous[i]:
                    break
                shared = i + 1
            if shared > len(best):
                best = nodes[:shared]
        return best, len(best), None

    def _fold(self, record: _Record, parents: list[_Conversation], tools: list[Any]) -> None:
        """Fold `parents` into `record`, and make its tools the union over all of them."""
        if not parents:
            _add_tools(record.tools, tools)
            return
        parents.sort(key=lambda c: (c.record.index, c.choice))
        first = parents[0].record
        if len(parents) == 1 and first.open == 1:
            record.tools = first.tools  # the only heir: take the union over without copying
        else:
            record.tools = dict(first.tools)
        record.first = first.first
        for conv in parents:
            conv.folded = True
            conv.reply = None
            source = conv.record
            record.first = min(record.first, source.first)
            if source.tools is not record.tools:
                for name, tool in source.tools.items():
                    record.tools.setdefault(name, tool)
            source.open -= 1
            if source.open == 0:  # its messages live on in this record's request
                source.messages = None
        _add_tools(record.tools, tools)

    def folded_records(self) -> int:
        """How many records end no conversation: each of their replies was folded into another."""
        return self._records - len({c.record.index for c in self._convs if not c.folded})

    def conversations(self) -> list[tuple[list[dict[str, Any]], list[Any]]]:
        """`(messages, tools)` of every conversation nothing extends.

        Ordered by the earliest record folded into each, then by its own record and choice.
        """
        final = [c for c in self._convs if not c.folded]
        final.sort(key=lambda c: (c.record.first, c.record.index, c.choice))
        result = []
        for conv in final:
            messages, reply = conv.record.messages, conv.reply
            assert messages is not None and reply is not None  # kept while not folded
            result.append(([*messages, reply], list(conv.record.tools.values())))
        return result


def _other_ids(node: _Node, message: dict[str, Any]) -> bool:
    """Whether the message reached a node last reached with other tool-call ids; it leaves its
    own there (so a request that resends those, walked or reused, counts no more)."""
    calls = message.get("tool_calls")
    if type(calls) is list:
        ids = tuple(c.get("id") if type(c) is dict else None for c in calls)
    else:
        ids = (message.get("tool_call_id"),)
    last, node.ids = node.ids, ids
    return last is not None and last != ids


def _add_tools(union: dict[str, Any], tools: list[Any]) -> None:
    """Add the tools whose names are new; agents resend the same ones, so this is mostly lookups."""
    for tool in tools:
        name = tool_name(tool)
        if name is None:  # nameless: known by its whole definition
            name = "\0" + canonical_json(tool)
        if name not in union:
            union[name] = tool
