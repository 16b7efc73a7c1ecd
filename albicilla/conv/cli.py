"""`albicilla-conv`: the command line over `convert`; a failure is one line, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys

from .convert import ConvertError, convert
from .parallel import default_jobs
from .session import WRITERS, Options

PROG = "albicilla-conv"
# The e-mail key from the environment: unlike --redaction-key, not visible in the process list.
REDACTION_KEY_ENV = "ALBICILLA_REDACTION_KEY"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn Albicilla proxy logs into training conversations, one JSON per line.",
    )
    parser.add_argument(
        "--logs",
        required=True,
        action="append",
        metavar="DIR",
        help="a proxy's log root (<day>/<session>.jsonl), or a directory of roots, one per host "
        "(HOST/<day>/...); repeat for several hosts: a session's files are merged by timestamp",
    )
    parser.add_argument(
        "--output", required=True, metavar="DIR", help="where to write (created when missing)"
    )
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="write OUTPUT/conversations.jsonl instead of OUTPUT/<day>/<session>.jsonl",
    )
    parser.add_argument(
        "--format",
        choices=list(WRITERS),
        default="json_tool_call",
        help="json_tool_call: tool calls and results as text (default); native: as captured, "
        "the OpenAI fine-tuning format; hf: for Hugging Face chat templates, TRL, Axolotl, Unsloth",
    )
    parser.add_argument(
        "--no-json-tool-calls",
        dest="format",
        action="store_const",
        const="native",
        help="the same as --format native",
    )
    parser.add_argument(
        "--hf-tools-as-string",
        action="store_true",
        help="with --format hf: write tools as one JSON string (datasets < 4.7, LLaMA-Factory)",
    )
    parser.add_argument(
        "--report", metavar="FILE", help="write a JSON integrity report of the run to FILE"
    )
    parser.add_argument(
        "--redact",
        action="store_true",
        help="replace secrets (API keys, tokens, private keys, passwords) with [REDACTED:<kind>]",
    )
    parser.add_argument(
        "--anonymize-emails",
        action="store_true",
        help="replace e-mail addresses with stable pseudonyms (user-<hash>@example.com)",
    )
    parser.add_argument(
        "--redaction-key",
        metavar="KEY",
        help="key of the e-mail pseudonyms, for the same pseudonyms across runs (default: "
        f"${REDACTION_KEY_ENV}, which no process list shows, else a random key per run)",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="convert in N worker processes (default: the number of CPUs; 1: in this process); "
        "the output is the same bytes",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="report progress per file on stderr"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for logs in args.logs:
        if not os.path.isdir(logs):
            return _fail(f"logs directory not found: {logs}")
    if len({os.path.realpath(logs) for logs in args.logs}) < len(args.logs):
        return _fail("the same logs directory is given twice")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        return _fail(f"output is not a directory: {args.output}")
    if os.path.isdir(args.output) and any(os.path.samefile(d, args.output) for d in args.logs):
        return _fail("output directory must not be the logs directory")
    if args.hf_tools_as_string and args.format != "hf":
        return _fail("--hf-tools-as-string needs --format hf")
    if args.report is not None:
        problem = _report_problem(args.report)
        if problem:
            return _fail(problem)
    if args.redaction_key is not None and not args.anonymize_emails:
        return _fail("--redaction-key only keys --anonymize-emails")
    if args.redaction_key == "":
        return _fail("--redaction-key must not be empty")
    options = Options(
        logs=tuple(args.logs),
        output=args.output,
        single_file=args.single_file,
        format=args.format,
        verbose=args.verbose,
        report=args.report,
        tools_as_string=args.hf_tools_as_string,
        redact=args.redact,
        anonymize_emails=args.anonymize_emails,
        redaction_key=_redaction_key(args),
        jobs=args.jobs if args.jobs is not None else default_jobs(),
    )
    try:
        stats = convert(options, sys.stderr)
    except ConvertError as exc:
        return _fail(str(exc), status=1)
    except KeyboardInterrupt:
        # Files being written are discarded; those already renamed into place are complete.
        return _fail("interrupted", status=130)
    print(f"{PROG}: {stats.summary()}", file=sys.stderr)
    return 0


def _redaction_key(args: argparse.Namespace) -> bytes | None:
    """--redaction-key, else $ALBICILLA_REDACTION_KEY when it is set and not empty, for
    --anonymize-emails only; None draws a random key for the run."""
    if not args.anonymize_emails:
        return None
    key = (
        args.redaction_key if args.redaction_key is not None else os.environ.get(REDACTION_KEY_ENV)
    )
    return key.encode() if key else None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def _report_problem(path: str) -> str | None:
    """Why the report cannot go to `path`, found before a long run rather than after it."""
    if os.path.isdir(path):
        return f"report is a directory: {path}"
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        return f"report directory not found: {parent}"
    return None


def _fail(message: str, status: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status
