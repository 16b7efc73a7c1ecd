"""One session in depth: its records, the converter's conversations, each exchange's news.

Conversations are the converter's own fold (`SessionConverter.conversations`), never a second
one; "what is new" maps each record to chat form with the converter's mapping and shows what it
adds to the exchange it continues.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..conv.apis import to_exchange
from ..conv.apis.common import Context
from ..conv.chains import ResponseChains
from ..conv.keys import message_key
from ..conv.session import Options, SessionConverter
from ..logs.tree import session_records
from .index import SessionEntry

RECENT = 8  # earlier exchanges a record is compared with (side calls interleave)


def records_of(entry: SessionEntry) -> Iterator[dict[str, Any]]:
    """The session's records in order: its days, each merged across roots by the log tree."""
    for state in entry.files:
        yield from session_records(state.file, _ignore_damage, _ignore_unreadable)


def record_at(entry: SessionEntry, number: int) -> dict[str, Any] | None:
    """The session's `number`th record (1-based), or None."""
    if number < 1:
        return None
    for index, record in enumerate(records_of(entry), 1):
        if index == number:
            return record
    return None


@dataclass
class Turn:
    """One record's place in its conversation."""

    number: int
    extends: int | None  # the earlier record this one continues, if any
    new: list[dict[str, Any]] = field(default_factory=list)  # messages not in `extends`
    replies: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None  # why the converter does not use the record


def _paths(entry: SessionEntry) -> list[str]:
    return [path for state in entry.files for path in state.file.paths]


def turns(entry: SessionEntry) -> list[Turn]:
    """For every record, the messages it adds to the exchange before it in its conversation."""
    context = Context(chains=ResponseChains(_paths(entry)))
    recent: list[tuple[int, list[Any]]] = []  # (record number, keys of messages + first reply)
    result: list[Turn] = []
    for number, record in enumerate(records_of(entry), 1):
        exchange = to_exchange(record, context)
        if type(exchange) is str:
            result.append(Turn(number, None, skipped=exchange))
            continue
        keys = [message_key(m) for m in exchange.messages]
        best, best_len = None, 0
        for earlier, earlier_keys in recent:
            length = _common(keys, earlier_keys)
            if length > best_len:
                best, best_len = earlier, length
        result.append(Turn(number, best, exchange.messages[best_len:], exchange.replies))
        full = keys + [message_key(r) for r in exchange.replies[:1]]
        recent.append((number, full))
        del recent[:-RECENT]
    return result


def _common(a: list[Any], b: list[Any]) -> int:
    if a[: len(b)] == b:
        return len(b)
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class Conversation:
    day: str
    messages: list[dict[str, Any]]
    tools: list[Any]
    main: bool


def conversations(entry: SessionEntry) -> list[Conversation]:
    """The converter's folded conversations, per day; each day's longest is its main loop."""
    converter = SessionConverter(Options(logs=(), output=""), _paths(entry))
    result: list[Conversation] = []
    for state in entry.files:
        day = [
            Conversation(state.file.day, messages, tools, False)
            for messages, tools in converter.conversations(state.file)
        ]
        if day:
            max(day, key=lambda c: len(c.messages)).main = True
        result.extend(day)
    return result


def dataset(entry: SessionEntry, fmt: str, redact: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """The converter's lines for the session in `fmt`, and the report's problem entries."""
    options = Options(logs=(), output="", format=fmt, report="", redact=redact)
    converter = SessionConverter(options, _paths(entry))
    lines: list[str] = []
    problems: list[dict[str, Any]] = []
    for state in entry.files:
        part = converter.convert(state.file)
        if part.report is not None:
            for problem in part.report.entries:
                line = problem["line"]
                problems.append({**problem, "line": None if line is None else line + len(lines)})
        lines.extend(part.lines)
    return lines, problems


def _ignore_damage(path: str, line: int, reason: str) -> None:
    """Damaged lines are counted by the index; a page just shows the records that parse."""


def _ignore_unreadable(path: str, reason: str) -> None:
    """An unreadable file shows as missing records; the index keeps its warning."""
