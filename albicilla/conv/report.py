"""The `--report` integrity report: what was read, skipped, dropped and written, and what is wrong.

An observer: the stages hand it what they saw and it calls none of them. A session's reader hands
it every record it reads (`add_record`), its writer every conversation with the checks' findings
and what the format noted (`add_line`), and the run adds the sessions' reports up (`add`) in file
order; `build` turns that and the run's counts into one JSON object, its keys in a fixed order and
names sorted, so the same logs give the same report. Records are read defensively: any API's
record (chat completions, Responses, Anthropic Messages, Gemini) has its model and usage counted;
the viewer reads models and usage through the same two functions.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checks import Findings, Problem
    from .stats import Stats

REPORT_VERSION = 1
UNKNOWN = "(unknown)"
USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "output_tokens",
    "reasoning_tokens",
)


class Report:
    """Counts gathered during one run."""

    def __init__(self, format_name: str) -> None:
        self.format = format_name
        self.models: Counter[str] = Counter()
        self.endpoints: Counter[str] = Counter()
        self.usage: Counter[str] = Counter({name: 0 for name in USAGE_FIELDS})
        self.with_usage = 0
        self.problem_counts: Counter[str] = Counter()
        self.entries: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def add_record(self, record: dict[str, Any]) -> None:
        """Count a record's model, endpoint and token usage, whether it is used or not."""
        self.models[record_model(record)] += 1
        endpoint = record.get("endpoint")
        self.endpoints[endpoint if type(endpoint) is str else UNKNOWN] += 1
        usage = record_usage(record)
        if usage is not None:
            self.with_usage += 1
            self.usage.update(usage)

    def add_line(
        self,
        source: str,
        where: tuple[str, int] | None,
        findings: Findings,
        notes: tuple[Problem, ...] = (),
        dropped: str | None = None,
    ) -> None:
        """Count one conversation's findings and the format's notes; `where` is its output file
        and line, None when it was dropped (for the reason `dropped`)."""
        problems = [*findings.problems, *notes]
        if where is not None:  # tool usage counts what the dataset holds
            self.calls.update(findings.calls)
            self.errors.update(findings.errors)
        if not problems and where is not None:
            return
        self.problem_counts.update(p.kind for p in problems)
        self.entries.append(
            {
                "file": where[0] if where else None,
                "line": where[1] if where else None,
                "source": source,
                "dropped": dropped if where is None else None,
                "problems": [
                    {"kind": p.kind, "path": p.path, "detail": p.detail} for p in problems
                ],
            }
        )

    def add(self, other: Report, line_offset: int = 0) -> None:
        """Add a later part of the run (one session's), whose lines in a file shared with earlier
        parts (`--single-file`) count from `line_offset` lines already written there."""
        self.models.update(other.models)
        self.endpoints.update(other.endpoints)
        self.usage.update(other.usage)
        self.with_usage += other.with_usage
        self.problem_counts.update(other.problem_counts)
        self.calls.update(other.calls)
        self.errors.update(other.errors)
        for entry in other.entries:
            if entry["line"] is not None:
                entry = {**entry, "line": entry["line"] + line_offset}
            self.entries.append(entry)

    def build(self, stats: Stats) -> dict[str, Any]:
        """The report as a JSON-ready object."""
        return {
            "report_version": REPORT_VERSION,
            "format": self.format,
            "files": stats.files,
            "records": {
                "read": stats.records,
                "used": stats.used,
                "skipped": _sorted(stats.skipped),
                "damaged_lines": stats.damaged,
                "folded": stats.folded,
                "folded_share": round(stats.folded / stats.used, 4) if stats.used else 0.0,
                # records that met equal messages with other tool-call ids (clients that
                # invent ids when they resend a call, a run repeated with new ids)
                "id_only_folds": stats.id_only_folds,
                "by_endpoint": _sorted(self.endpoints),
                # items and blocks with no chat form (hosted tool calls, redacted thinking)
                "dropped_items": _sorted(stats.dropped_items),
            },
            "lines": {
                "written": stats.conversations,
                "dropped": _sorted(stats.dropped_lines),
                "with_problems": sum(1 for e in self.entries if e["file"] is not None),
            },
            "problems": {"counts": _sorted(self.problem_counts), "lines": self.entries},
            "tools": {
                name: {"calls": self.calls[name], "error_results": self.errors[name]}
                for name in sorted(self.calls.keys() | self.errors.keys())
            },
            # tool names the native format made valid: lines each was renamed in
            "renamed_tools": _sorted(stats.renamed_tools),
            "models": _sorted(self.models),
            # secrets and e-mail addresses replaced, by kind (empty without --redact)
            "redactions": _sorted(stats.redactions),
            "usage": {"records_with_usage": self.with_usage, **self.usage},
        }

    def to_json(self, stats: Stats) -> str:
        """The report as indented JSON text, for people and diffs as much as for programs."""
        return json.dumps(self.build(stats), ensure_ascii=False, indent=2) + "\n"


def record_model(record: dict[str, Any]) -> str:
    """The model that answered (`response.model`), else the one asked for: the record's `model`
    (a Gemini call's, from its path; its body names none), else `request.model`."""
    response, request = record.get("response"), record.get("request")
    for value in (
        response.get("model") if type(response) is dict else None,
        record.get("model"),
        request.get("model") if type(request) is dict else None,
    ):
        if type(value) is str and value:
            return value
    return UNKNOWN


def record_usage(record: dict[str, Any]) -> dict[str, int] | None:
    """The record's `response.usage` in one shape for every API, or None when it has none.

    `input_tokens` counts every prompt token, cached or not: chat `prompt_tokens`, Responses
    `input_tokens`, and for Anthropic, whose `input_tokens` leaves out the cache, the sum of
    `input_tokens`, `cache_read_input_tokens` and `cache_creation_input_tokens`; Gemini's
    `usageMetadata`: `promptTokenCount` plus `toolUsePromptTokenCount` in, `candidatesTokenCount`
    plus `thoughtsTokenCount` out (its `totalTokenCount` is the sum of the four).
    `cached_input_tokens` (read from a cache) and `cache_write_input_tokens` (Anthropic's cache
    creation) are parts of it; `reasoning_tokens` is part of `output_tokens`.
    """
    response = record.get("response")
    if type(response) is not dict:
        return None
    usage = response.get("usage")
    if type(usage) is not dict:
        metadata = response.get("usageMetadata")
        return _gemini_usage(metadata) if type(metadata) is dict else None
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return _counts(
            input_tokens=_int(usage, "prompt_tokens"),
            cached_input_tokens=_int(usage, "prompt_tokens_details", "cached_tokens"),
            output_tokens=_int(usage, "completion_tokens"),
            reasoning_tokens=_int(usage, "completion_tokens_details", "reasoning_tokens"),
        )
    if not ("input_tokens" in usage or "output_tokens" in usage):
        return None
    if _is_anthropic(record, usage):
        read = _int(usage, "cache_read_input_tokens")
        write = _int(usage, "cache_creation_input_tokens")
        return _counts(
            input_tokens=_int(usage, "input_tokens") + read + write,
            cached_input_tokens=read,
            cache_write_input_tokens=write,
            output_tokens=_int(usage, "output_tokens"),
        )
    return _counts(
        input_tokens=_int(usage, "input_tokens"),
        cached_input_tokens=_int(usage, "input_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "output_tokens"),
        reasoning_tokens=_int(usage, "output_tokens_details", "reasoning_tokens"),
    )


def _gemini_usage(usage: dict[str, Any]) -> dict[str, int]:
    thoughts = _int(usage, "thoughtsTokenCount")
    return _counts(
        input_tokens=_int(usage, "promptTokenCount") + _int(usage, "toolUsePromptTokenCount"),
        cached_input_tokens=_int(usage, "cachedContentTokenCount"),
        output_tokens=_int(usage, "candidatesTokenCount") + thoughts,
        reasoning_tokens=thoughts,
    )


def _is_anthropic(record: dict[str, Any], usage: dict[str, Any]) -> bool:
    endpoint = record.get("endpoint")
    if type(endpoint) is str:
        path = endpoint.split("?", 1)[0].rstrip("/")
        if path.endswith("/messages"):
            return True
        if path.endswith("/responses"):
            return False
    response = record.get("response")
    return (type(response) is dict and response.get("type") == "message") or any(
        key.startswith("cache_") for key in usage
    )


def _counts(
    input_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_write_input_tokens: int = 0,
    output_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> dict[str, int]:
    """The counts in USAGE_FIELDS order (a literal: the viewer calls this for every record)."""
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached_input_tokens,
        "cache_write_input_tokens": cache_write_input_tokens,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning_tokens,
    }


def _int(usage: dict[str, Any], key: str, inner: str | None = None) -> int:
    """A non-negative integer count at `usage[key]` (or `usage[key][inner]`), else 0."""
    value = usage.get(key)
    if inner is not None:
        value = value.get(inner) if type(value) is dict else None
    return value if type(value) is int and value >= 0 else 0


def _sorted(counts: Counter[str]) -> dict[str, int]:
    return {name: counts[name] for name in sorted(counts) if counts[name]}
