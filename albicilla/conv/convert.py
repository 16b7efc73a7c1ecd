"""The conversion run: session files in, conversation lines out, counts and warnings on the side.

Files are handled one at a time, so memory is bounded by the largest session file; each file is
its own session (a session that runs past midnight has a file per day, folded separately).
Responses chained by `previous_response_id` are the exception: their history is rebuilt across
files and days (`chains`), with memory bounded by an index of response ids.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import IO

from ..redact import Redactor
from .apis import to_exchange
from .apis.common import BAD_MESSAGES, Context
from .chains import ResponseChains
from .fold import SessionFolder
from .formats import Writer, encode_line, json_tool_call_writer, native_writer
from .hf import hf_writer
from .reader import SessionFile, find_session_files, iter_records
from .report import Report

SINGLE_FILE_NAME = "conversations.jsonl"
NOT_FINITE = "NaN or Infinity in a number"
WRITERS: dict[str, Writer] = {
    "json_tool_call": json_tool_call_writer,
    "native": native_writer,
    "hf": hf_writer,
}


@dataclass
class Stats:
    files: int = 0
    records: int = 0
    used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    damaged: int = 0
    conversations: int = 0
    invalid_arguments: int = 0
    dropped_lines: Counter[str] = field(default_factory=Counter)  # not written in the format
    folded: int = 0  # used records whose every reply lives on inside a longer conversation
    # items and blocks with no chat form (hosted tool calls, redacted thinking), by kind
    dropped_items: Counter[str] = field(default_factory=Counter)
    # Secrets replaced (and e-mail pseudonyms written) by kind; `redacting` when either was asked.
    redactions: Counter[str] = field(default_factory=Counter)
    redacting: bool = False

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        dropped = sum(self.dropped_items.values())
        return (
            f"{self.files} files, {self.records} records read, {self.used} used, "
            f"{skipped} skipped{_by_kind(self.skipped)}, "
            f"{self.damaged} damaged lines, {self.conversations} conversations written, "
            f"{self.invalid_arguments} invalid tool arguments"
            + (f", {dropped} items dropped{_by_kind(self.dropped_items)}" if dropped else "")
            + self._dropped() + self._redaction_summary()
        )

    def _dropped(self) -> str:
        if not self.dropped_lines:
            return ""
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.dropped_lines.items()))
        return f", {sum(self.dropped_lines.values())} lines dropped ({reasons})"

    def _redaction_summary(self) -> str:
        if not self.redacting:
            return ""
        total = sum(self.redactions.values())
        return f", {total} redactions{_by_kind(self.redactions)}"


def _by_kind(counts: Counter[str]) -> str:
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
    return f" ({kinds})" if kinds else ""


@dataclass(frozen=True)
class Options:
    logs: str
    output: str
    single_file: bool = False
    format: str = "json_tool_call"
    verbose: bool = False
    report: str | None = None  # where to write the JSON integrity report
    tools_as_string: bool = False  # hf: `tools` as one JSON string
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
    report = Report(options.format) if options.report is not None else None
    context = Context(stats.dropped_items, ResponseChains([f.path for f in files]))
    redactor = _redactor(options)
    if redactor is not None:
        stats.redacting, stats.redactions = True, redactor.counts
    single = None
    try:
        os.makedirs(options.output, exist_ok=True)
        if options.single_file:
            single = _AtomicFile(os.path.join(options.output, SINGLE_FILE_NAME))
        for number, session in enumerate(files, 1):
            target = (SINGLE_FILE_NAME, stats.conversations) if single else (session.label, 0)
            lines = _convert_session(
                session, options, stats, context, err, report, target, redactor
            )
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
    if report is not None and options.report is not None:  # both or neither
        try:
            _write_file(options.report, [report.to_json(stats)])
        except OSError as exc:
            raise ConvertError(f"cannot write report: {_describe(exc)}") from exc
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
    directory = os.path.dirname(path)
    if directory:  # a report named without a directory goes to the working directory
        os.makedirs(directory, exist_ok=True)
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
    context: Context,
    err: IO[str],
    report: Report | None = None,
    target: tuple[str, int] = ("", 0),
    redactor: Redactor | None = None,
) -> list[str]:
    """The output lines of one session file; `target` is their output file and its lines so far."""
    stats.files += 1

    def damaged(line: int, reason: str) -> None:
        stats.damaged += 1
        print(f"warning: {session.path}:{line}: {reason}", file=err)

    folder = SessionFolder()
    try:
        for _, record in iter_records(session.path, damaged):
            stats.records += 1
            if report is not None:
                report.add_record(record)
            exchange = to_exchange(record, context)
            if type(exchange) is str:
                stats.skipped[exchange] += 1
            elif folder.add(exchange.messages, exchange.replies, exchange.tools):
                stats.used += 1
            else:
                stats.skipped[BAD_MESSAGES] += 1
    except OSError as exc:
        print(f"warning: {session.path}: cannot read: {exc.strerror or exc}", file=err)

    stats.folded += folder.folded_records()
    write = WRITERS[options.format]
    lines: list[str] = []
    for messages, tools in folder.conversations():
        if redactor is not None:
            # After the fold, so redaction never changes what folds together.
            messages, tools = redactor.redact_value(messages), redactor.redact_value(tools)
        formatted = write(messages, tools)
        stats.invalid_arguments += formatted.invalid_arguments
        if formatted.line is not None:
            try:
                line = formatted.line
                if options.tools_as_string:  # for datasets < 4.7 and mixed tool schemas
                    line = {**line, "tools": encode_line(line["tools"])}
                lines.append(encode_line(line) + "\n")
            except ValueError:  # NaN or Infinity, which the logs' JSON parser let through
                formatted = replace(formatted, line=None, dropped=NOT_FINITE)
        if formatted.line is None:
            stats.dropped_lines[formatted.dropped or "unknown"] += 1
        if report is not None:
            file, before = target
            where = (file, before + len(lines)) if formatted.line is not None else None
            report.add_line(session.label, where, messages, tools, formatted)
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
