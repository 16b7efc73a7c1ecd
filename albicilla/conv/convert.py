"""The conversion run: session files in, conversation lines out, counts and warnings on the side.

Files are handled one at a time, so memory is bounded by the largest session file; each file is
its own session (a session that runs past midnight has a file per day, folded separately).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from ..redact import Redactor
from .fold import SessionFolder
from .formats import count_invalid_arguments, encode_json, json_tool_call_line, native_line
from .reader import BAD_MESSAGES, SessionFile, find_session_files, iter_records, usable_exchange

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
    # Secrets replaced (and e-mail pseudonyms written) by kind; `redacting` when either was asked.
    redactions: Counter[str] = field(default_factory=Counter)
    redacting: bool = False

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items()))
        return (
            f"{self.files} files, {self.records} records read, {self.used} used, "
            f"{skipped} skipped" + (f" ({reasons})" if reasons else "") + ", "
            f"{self.damaged} damaged lines, {self.conversations} conversations written, "
            f"{self.invalid_arguments} invalid tool arguments" + self._redaction_summary()
        )

    def _redaction_summary(self) -> str:
        if not self.redacting:
            return ""
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.redactions.items()))
        return f", {sum(self.redactions.values())} redactions" + (f" ({kinds})" if kinds else "")


@dataclass(frozen=True)
class Options:
    logs: str
    output: str
    single_file: bool = False
    json_tool_calls: bool = True
    verbose: bool = False
    redact: bool = False
    anonymize_emails: bool = False
    # Keys the e-mail pseudonyms; None: a random key for this run, kept nowhere.
    redaction_key: bytes | None = None


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
    redactor = _redactor(options)
    if redactor is not None:
        stats.redacting, stats.redactions = True, redactor.counts
    single = None
    try:
        os.makedirs(options.output, exist_ok=True)
        if options.single_file:
            single = _AtomicFile(os.path.join(options.output, SINGLE_FILE_NAME))
        for number, session in enumerate(files, 1):
            lines = _convert_session(session, options, stats, err, redactor)
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


def _redactor(options: Options) -> Redactor | None:
    if not (options.redact or options.anonymize_emails):
        return None
    key = None
    if options.anonymize_emails:
        key = options.redaction_key or secrets.token_bytes(32)
    return Redactor(secrets=options.redact, email_key=key)


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
    session: SessionFile,
    options: Options,
    stats: Stats,
    err: IO[str],
    redactor: Redactor | None = None,
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
            exchange = usable_exchange(record)
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
        if redactor is not None:
            # After the fold, so redaction never changes what folds together.
            messages, tools = redactor.redact_value(messages), redactor.redact_value(tools)
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
