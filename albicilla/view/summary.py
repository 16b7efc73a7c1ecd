"""What the viewer keeps of each record: a small summary read from the parsed record once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..conv.apis import api_name
from ..conv.report import record_model, record_usage

CLAUDE_CODE = "Claude Code"
CODEX = "Codex"
AGENTS_SDK = "Agents SDK"
GEMINI_CLI = "Gemini CLI"
OTHER = "other"


@dataclass(slots=True)
class RecordSummary:
    timestamp: str
    endpoint: str
    api: str
    model: str
    stream: bool
    status: Any
    complete: bool
    error: str | None
    duration_ms: Any
    tokens_in: int
    tokens_out: int
    tools: tuple[str, ...]


def summarize(record: dict[str, Any]) -> RecordSummary:
    """The record's summary; defensive, since any field may be missing or of any type."""
    usage = record_usage(record)
    endpoint = record.get("endpoint")
    error = record.get("error")
    timestamp = record.get("timestamp")
    return RecordSummary(
        timestamp=timestamp if type(timestamp) is str else "",
        endpoint=endpoint if type(endpoint) is str else "(unknown)",
        api=_API_OF.get(endpoint) or _api_of(endpoint),
        model=record_model(record),
        stream=record.get("stream") is True,
        status=record.get("status"),
        complete=record.get("complete") is not False,
        error=None if error is None else str(error),
        duration_ms=record.get("duration_ms"),
        tokens_in=usage["input_tokens"] if usage else 0,
        tokens_out=usage["output_tokens"] if usage else 0,
        tools=reply_tool_names(record.get("response")),
    )


_API_OF: dict[Any, str] = {}  # endpoint -> API name; a root has a handful of endpoints


def _api_of(endpoint: Any) -> str:
    name = api_name(endpoint)
    if type(endpoint) is str and len(_API_OF) < 10_000:
        _API_OF[endpoint] = name
    return name


def reply_tool_names(response: Any) -> tuple[str, ...]:
    """Names of the tools the reply calls, for any of the logged APIs."""
    if type(response) is not dict:
        return ()
    names: list[str] = []
    for choice in response.get("choices") or ():  # chat completions
        message = choice.get("message") if type(choice) is dict else None
        for call in (message.get("tool_calls") or ()) if type(message) is dict else ():
            function = call.get("function") if type(call) is dict else None
            if type(function) is dict and type(function.get("name")) is str:
                names.append(function["name"])
    for item in response.get("output") or ():  # Responses
        if type(item) is dict and str(item.get("type", "")).endswith("call"):
            if type(item.get("name")) is str:
                names.append(item["name"])
    content = response.get("content")  # Anthropic Messages
    if type(content) is list:
        for block in content:
            if type(block) is dict and block.get("type") == "tool_use":
                if type(block.get("name")) is str:
                    names.append(block["name"])
    for candidate in response.get("candidates") or ():  # Gemini
        content = candidate.get("content") if type(candidate) is dict else None
        for part in (content.get("parts") or ()) if type(content) is dict else ():
            call = part.get("functionCall") if type(part) is dict else None
            if type(call) is dict and type(call.get("name")) is str:
                names.append(call["name"])
    return tuple(names)


def client_kind(record: dict[str, Any]) -> str | None:
    """Which agent sent the record, guessed from its body (headers are not recorded)."""
    request = record.get("request")
    if type(request) is not dict:
        return None
    endpoint = str(record.get("endpoint") or "")
    if "/messages" in endpoint:
        metadata = request.get("metadata")
        system = _text_head(request.get("system"))
        if (
            (type(metadata) is dict and "session_id" in str(metadata.get("user_id", "")))
            or "x-anthropic-billing-header" in system
            or "Claude Code" in system
            or "Claude Agent SDK" in system
        ):
            return CLAUDE_CODE
        return OTHER
    if "/responses" in endpoint:
        items = request.get("input")
        first = items[0] if type(items) is list and items else None
        head = _text_head(first.get("content")) if type(first) is dict else ""
        if "client_metadata" in request or "Codex" in head:
            return CODEX
        if type(request.get("instructions")) is str:
            return AGENTS_SDK
        return OTHER
    if endpoint.endswith("enerateContent"):  # Gemini's generateContent, streamGenerateContent
        return GEMINI_CLI if _gemini_cli(request) else OTHER
    return OTHER


def _gemini_cli(request: dict[str, Any]) -> bool:
    """Gemini CLI's main loop (its system instruction, or the `<session_context>` that opens its
    first user turn) or its router side call (docs/gemini.md)."""
    system = request.get("systemInstruction")
    head = _text_head(system.get("parts")) if type(system) is dict else _text_head(system)
    if "Gemini CLI" in head or "Task Routing AI" in head:
        return True
    contents = request.get("contents")
    first = contents[0] if type(contents) is list and contents else None
    opening = _text_head(first.get("parts"), 2) if type(first) is dict else ""
    return "This is the Gemini CLI" in opening or opening.startswith("<session_context>")


def _text_head(value: Any, blocks: int = 4) -> str:
    """The first characters of a system prompt or content, string or block list."""
    if type(value) is str:
        return value[:4000]
    if type(value) is list:
        return " ".join(str(b.get("text", ""))[:4000] for b in value[:blocks] if type(b) is dict)
    return ""


class Tally(dict[str, int]):
    """Counts by name: a `Counter` with only what the index needs, and cheap to make (the index
    makes eight per session file)."""

    __slots__ = ()

    def __missing__(self, key: str) -> int:
        return 0

    def add(self, other: dict[str, int]) -> None:
        for key, value in other.items():
            self[key] += value

    def most_common(self, n: int | None = None) -> list[tuple[str, int]]:
        ranked = sorted(self.items(), key=lambda item: item[1], reverse=True)
        return ranked if n is None else ranked[:n]


@dataclass
class Totals:
    """Counts over some records (a file, a session, a day)."""

    records: int = 0
    errors: int = 0
    incomplete: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    first: str = ""
    last: str = ""
    damaged: int = 0
    models: Tally = field(default_factory=Tally)
    endpoints: Tally = field(default_factory=Tally)
    apis: Tally = field(default_factory=Tally)
    clients: Tally = field(default_factory=Tally)
    statuses: Tally = field(default_factory=Tally)
    tools: Tally = field(default_factory=Tally)
    model_tokens: Tally = field(default_factory=Tally)

    def add_summary(self, s: RecordSummary) -> None:
        self.records += 1
        failed = s.status is not None and s.status != 200
        if failed or s.error is not None:
            self.errors += 1
        if failed:
            self.statuses[str(s.status)] += 1
        if not s.complete:
            self.incomplete += 1
        self.tokens_in += s.tokens_in
        self.tokens_out += s.tokens_out
        self.models[s.model] += 1
        self.endpoints[s.endpoint.split("?", 1)[0]] += 1
        self.apis[s.api] += 1
        self.model_tokens[s.model] += s.tokens_in + s.tokens_out
        for tool in s.tools:
            self.tools[tool] += 1
        if s.timestamp:
            if not self.first or s.timestamp < self.first:
                self.first = s.timestamp
            if s.timestamp > self.last:
                self.last = s.timestamp

    def copy(self) -> Totals:
        copied = Totals()
        copied.add(self)
        return copied

    def add(self, other: Totals) -> None:
        for name in ("records", "errors", "incomplete", "tokens_in", "tokens_out", "damaged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("models", "endpoints", "apis", "clients", "statuses", "tools", "model_tokens"):
            getattr(self, name).add(getattr(other, name))
        if other.first and (not self.first or other.first < self.first):
            self.first = other.first
        if other.last > self.last:
            self.last = other.last
