"""The conversion run: session files in, conversation lines out, counts and warnings on the side.

Files are handled one at a time, so memory is bounded by the largest session file; each file is
its own session (a session that runs past midnight has a file per day, folded separately).
Responses chained by `previous_response_id` are the exception: their history is rebuilt across
files and days (`chains`), with memory bounded by an index of response ids.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from .apis import to_exchange
from .apis.common import BAD_MESSAGES, Context
from .chains import ResponseChains
from .fold import SessionFolder
from .formats import count_invalid_arguments, encode_json, json_tool_call_line, native_line
from .reader import SessionFile, find_session_files, iter_records

SINGLE_FILE_NAME = "conversations.jsonl"


@dataclass
class Stats:
    files: int = 0
    records: int = 0
    used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    damaged: int = 0
    conversations: int = 0
    invalid_arguments: int = 0
    # items and blocks with no chat form (hosted tool calls, redacted thinking), by kind
    dropped_items: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        dropped = sum(self.dropped_items.values())
        return (
            f"{self.files} files, {self.records} records read, {self.used} used, "
            f"{skipped} skipped{_by_kind(self.skipped)}, "
            f"{self.damaged} damaged lines, {self.conversations} conversations written, "
            f"{self.invalid_arguments} invalid tool arguments"
            + (f", {dropped} items dropped{_by_kind(self.dropped_items)}" if dropped else "")
        )


def _by_kind(counts: Counter[str]) -> str:
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
    return f" ({kinds})" if kinds else ""


@dataclass(frozen=True)
class Options:
    logs: str
    output: str
    single_file: bool = False
    json_tool_calls: bool = True
    verbose: bool = False


class ConvertError(Exception):
    """A failure that ends the run: the logs cannot be listed or the output cannot be written."""


def convert(options: Options, err: IO[str]) -> Stats:
    """Convert every session file under `options.logs`; warnings and progress go to `err`.

    An unreadable session file is a warning; raises ConvertError when the logs directory cannot
    be listed or an output file cannot be written.
    """
    try:
        files = find_session_files(options.logs)
    except OSError as exc:
        raise ConvertError(f"cannot read logs: {_describe(exc)}") from exc
    if not files:
        print(
            f"warning: no session files under {options.logs} (expected <day>/<session>.jsonl)",
            file=err,
        )
    stats = Stats()
    context = Context(stats.dropped_items, ResponseChains([f.path for f in files]))
    single = None
    try:
        os.makedirs(options.output, exist_ok=True)
        if options.single_file:
            single = _AtomicFile(os.path.join(options.output, SINGLE_FILE_NAME))
        for number, session in enumerate(files, 1):
            lines = _convert_session(session, options, stats, context, err)
            if single is not None:
                single.write_lines(lines)
            elif lines:
                _write_file(os.path.join(options.output, session.day, session.name), lines)
            if options.verbose:
                print(
                    f"[{number}/{len(files)}] {session.label}: {len(lines)} conversations "
                    f"({stats.records} records, {stats.conversations} conversations so far)",
                    file=err,
                    flush=True,
                )
        if single is not None:
            single.commit()
    except OSError as exc:
        raise ConvertError(f"cannot write output: {_describe(exc)}") from exc
    finally:
        if single is not None:
            single.discard()
    return stats


def _describe(exc: OSError) -> str:
    return f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)


def _write_file(path: str, lines: list[str]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out = _AtomicFile(path)
    try:
        out.write_lines(lines)
        out.commit()
    finally:
        out.discard()


def _convert_session(
    session: SessionFile, options: Options, stats: Stats, context: Context, err: IO[str]
) -> list[str]:
    """The output lines of one session file."""
    stats.files += 1

    def damaged(line: int, reason: str) -> None:
        stats.damaged += 1
        print(f"warning: {session.path}:{line}: {reason}", file=err)

    folder = SessionFolder()
    try:
        for _, record in iter_records(session.path, damaged):
            stats.records += 1
            exchange = to_exchange(record, context)
            if type(exchange) is str:
                stats.skipped[exchange] += 1
            elif folder.add(exchange.messages, exchange.replies, exchange.tools):
                stats.used += 1
            else:
                stats.skipped[BAD_MESSAGES] += 1
    except OSError as exc:
        print(f"warning: {session.path}: cannot read: {exc.strerror or exc}", file=err)

    lines = []
    for messages, tools in folder.conversations():
        line: dict[str, Any]
        if options.json_tool_calls:
            line, invalid = json_tool_call_line(messages, tools)
        else:
            line, invalid = native_line(messages, tools), count_invalid_arguments(messages)
        stats.invalid_arguments += invalid
        lines.append(encode_json(line) + "\n")
    stats.conversations += len(lines)
    return lines


class _AtomicFile:
    """Written under a temporary name and renamed into place, so a failed run leaves no half file.

    Lone surrogates (escaped in the logs, unpaired) cannot be UTF-8: `backslashreplace` writes
    them back as the JSON escape they came from, so every line stays valid JSON.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp = path + ".tmp"
        # Closed by commit or discard.
        self._handle: IO[str] | None = open(
            self._tmp, "w", encoding="utf-8", errors="backslashreplace", newline="\n"
        )

    def write_lines(self, lines: list[str]) -> None:
        assert self._handle is not None
        self._handle.writelines(lines)

    def commit(self) -> None:
        handle, self._handle = self._handle, None
        assert handle is not None
        try:
            handle.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise

    def discard(self) -> None:
        """Drop the temporary file unless it was committed."""
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            finally:
                os.unlink(self._tmp)
