"""The conversion run: session files in, conversation lines out, counts and warnings on the side.

Each session is converted on its own (`session`), in this process or in worker processes
(`parallel`), and its part is merged here in file order, so the output, the report, the warnings
and the progress lines are the same bytes with any number of workers. Memory is bounded by the
largest sessions in flight; a session that runs past midnight has a file per day, folded
separately. Responses chained by `previous_response_id` are the exception: their history is
rebuilt across files and days (`chains`), with memory bounded by an index of response ids.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import replace
from typing import IO

from ..logs.tree import find_sessions, log_roots
from .parallel import WorkerError, session_parts
from .report import Report
from .session import SINGLE_FILE_NAME, Options, SessionPart
from .stats import Stats


class ConvertError(Exception):
    """A failure that ends the run: the logs cannot be listed or the output cannot be written."""


def convert(options: Options, err: IO[str]) -> Stats:
    """Convert every session file under `options.logs`; warnings and progress go to `err`.

    An unreadable session file is a warning; raises ConvertError when the logs directory cannot
    be listed, an output file cannot be written or a worker process dies.
    """
    try:
        files = find_sessions(log_roots(list(options.logs)))
    except OSError as exc:
        raise ConvertError(f"cannot read logs: {_describe(exc)}") from exc
    if not files:
        where = ", ".join(options.logs)
        print(
            f"warning: no session files under {where} (expected <day>/<session>.jsonl)",
            file=err,
        )
    if options.anonymize_emails and options.redaction_key is None:
        # One random key for the whole run (every worker gets it), written nowhere.
        options = replace(options, redaction_key=secrets.token_bytes(32))
    stats = Stats()
    stats.redacting = options.redact or options.anonymize_emails
    report = Report(options.format) if options.report is not None else None
    chain_paths = [path for session in files for path in session.paths]
    single = None
    try:
        os.makedirs(options.output, exist_ok=True)
        if options.single_file:
            single = _AtomicFile(os.path.join(options.output, SINGLE_FILE_NAME))
        with contextlib.closing(session_parts(files, options, chain_paths)) as parts:
            for number, (session, part) in enumerate(zip(files, parts, strict=True), 1):
                _merge(part, stats, report, single is not None, err)
                if single is not None:
                    single.write_lines(part.lines)
                elif part.lines:
                    _write_file(os.path.join(options.output, session.day, session.name), part.lines)
                if options.verbose:
                    err.write(
                        f"[{number}/{len(files)}] {session.label}: {len(part.lines)} "
                        f"conversations from {part.stats.records} records (so far: "
                        f"{stats.records} records, {stats.conversations} conversations)\n"
                    )
                    err.flush()
        if single is not None:
            single.commit()
    except OSError as exc:
        raise ConvertError(f"cannot write output: {_describe(exc)}") from exc
    except WorkerError as exc:
        raise ConvertError(str(exc)) from exc
    finally:
        if single is not None:
            single.discard()
    if report is not None and options.report is not None:  # both or neither
        try:
            _write_file(options.report, [report.to_json(stats)])
        except OSError as exc:
            raise ConvertError(f"cannot write report: {_describe(exc)}") from exc
    return stats


def _merge(
    part: SessionPart, stats: Stats, report: Report | None, single: bool, err: IO[str]
) -> None:
    """Add one session's part to the run, its warnings printed where the serial run prints them."""
    for warning in part.warnings:
        err.write(f"{warning}\n")  # one write: Ctrl-C never leaves half a line before its own
    if report is not None and part.report is not None:
        report.add(part.report, stats.conversations if single else 0)
    stats.add(part.stats)


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
