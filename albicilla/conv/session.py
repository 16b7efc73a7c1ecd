"""One session converted on its own: output lines, counts, report part and warnings, to be merged
in file order by whoever runs the conversion (this process or a worker)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..logs.tree import SessionFile, session_records
from ..redact import Redactor
from .apis import to_exchange
from .apis.common import BAD_MESSAGES, Context
from .apis.memo import PrefixMemo
from .chains import ResponseChains
from .chatform import encode_line
from .checks import check_conversation
from .fold import SessionFolder
from .formats import Writer, json_tool_call_writer, native_writer
from .hf import hf_writer
from .report import Report
from .stats import Stats

SINGLE_FILE_NAME = "conversations.jsonl"
NOT_FINITE = "NaN or Infinity in a number"
WRITERS: dict[str, Writer] = {
    "json_tool_call": json_tool_call_writer,
    "native": native_writer,
    "hf": hf_writer,
}


@dataclass(frozen=True)
class Options:
    logs: tuple[str, ...]  # log roots, or directories of roots (see `roots`)
    output: str
    single_file: bool = False
    format: str = "json_tool_call"
    verbose: bool = False
    report: str | None = None  # where to write the JSON integrity report
    tools_as_string: bool = False  # hf: `tools` as one JSON string
    jobs: int = 1  # worker processes; 1 converts in this process
    redact: bool = False
    anonymize_emails: bool = False
    # Keys the e-mail pseudonyms; `convert` draws a random one per run when none is given, the
    # same for every worker, and keeps it nowhere.
    redaction_key: bytes | None = None


@dataclass
class SessionPart:
    """What one session gave. Report lines of a single-file run count from this part's start."""

    lines: list[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    report: Report | None = None
    warnings: list[str] = field(default_factory=list)


class SessionConverter:
    """Converts sessions in reading order; holds what is shared between them (response chains,
    prefix memos), so one instance per process."""

    def __init__(self, options: Options, chain_paths: list[str]) -> None:
        self.options = options
        self.chains = ResponseChains(chain_paths)
        self.memos: dict[str, PrefixMemo] = {}
        self.redactor: Redactor | None = None
        if options.redact or options.anonymize_emails:
            key = options.redaction_key if options.anonymize_emails else None
            self.redactor = Redactor(secrets=options.redact, email_key=key)

    def convert(self, session: SessionFile) -> SessionPart:
        """The output lines of one session, with its counts and warnings."""
        options = self.options
        part = SessionPart(report=Report(options.format) if options.report is not None else None)
        stats, report = part.stats, part.report
        stats.files = 1
        folder = self._fold(session, part)
        stats.folded += folder.folded_records()
        stats.id_only_folds += folder.id_only_folds
        redactor = self.redactor
        if redactor is not None:
            stats.redacting = True
            redactor.counts = stats.redactions  # this session's redactions count into its part
        write = WRITERS[options.format]
        target = SINGLE_FILE_NAME if options.single_file else session.label
        lines = part.lines
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
                    stats.renamed_tools.update(formatted.renamed_tools)
                except ValueError:  # NaN or Infinity, which the logs' JSON parser let through
                    formatted = replace(formatted, line=None, dropped=NOT_FINITE)
            if formatted.line is None:
                stats.dropped_lines[formatted.dropped or "unknown"] += 1
            if report is not None:
                where = (target, len(lines)) if formatted.line is not None else None
                findings = check_conversation(messages, tools)
                report.add_line(session.label, where, findings, formatted.notes, formatted.dropped)
        stats.conversations += len(lines)
        return part

    def conversations(self, session: SessionFile) -> list[tuple[list[dict[str, Any]], list[Any]]]:
        """The session's folded conversations in chat form (messages, tools), before any
        formatting or redaction: what `convert` formats into lines, in the same order."""
        return self._fold(session, SessionPart()).conversations()

    def _fold(self, session: SessionFile, part: SessionPart) -> SessionFolder:
        """Read the session's records, map each to chat form and fold them; counts go to `part`."""
        stats, report, warnings = part.stats, part.report, part.warnings

        def damaged(path: str, line: int, reason: str) -> None:
            stats.damaged += 1
            warnings.append(f"warning: {path}:{line}: {reason}")

        def unreadable(path: str, reason: str) -> None:
            warnings.append(f"warning: {path}: cannot read: {reason}")

        context = Context(stats.dropped_items, self.chains, self.memos)
        folder = SessionFolder()
        for record in session_records(session, damaged, unreadable):
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
        return folder
