"""`/v1/responses` records mapped to chat form, the same way for a reply and its resend.

- `instructions` becomes a leading system message; `input` (a string is one user message) and,
  for the reply, `response.output` are walked item by item (`responses_items`); the reply is the
  last message of the output, anything before it (programmatic tool outputs) is history.
- Tools: flat function tools as chat function tools, a custom tool as a function of one string
  `input` with its grammar in the description, a namespace's functions as `namespace.name`, and
  the tools of `additional_tools` input items too; hosted tools have no chat form.
- Hosted-tool output items are counted once, in the reply that produced them; `item_reference`
  cannot be resolved (missing context); a `compaction` item hides earlier history (compacted);
  a response whose status is not `completed` is skipped.
- `previous_response_id`: the parent's history plus its output come first (see `chains`).
"""

from __future__ import annotations

from typing import Any

from .common import (
    MISSING_CONTEXT,
    NO_INPUT,
    NO_OUTPUT,
    NOT_RESPONSE,
    ChatForm,
    Context,
    function_tool,
)
from .responses_items import add_items, count_dropped

CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
}


def responses_exchange(record: dict[str, Any], context: Context) -> ChatForm | str:
    """The record in chat form, or the reason it is skipped."""
    request = record.get("request")
    response = record.get("response")
    if type(request) is not dict:
        return NO_INPUT
    if type(response) is not dict or response.get("object", "response") != "response":
        return NOT_RESPONSE
    status = response.get("status")
    if status is not None and status != "completed":
        return f"response {status}"
    output = response.get("output")
    if type(output) is not list:
        return NO_OUTPUT
    items = input_items(request)
    if items is None:
        return NO_INPUT
    if request.get("conversation"):
        return MISSING_CONTEXT  # the server's conversation items are not in the log
    parent = request.get("previous_response_id")
    if parent:
        history = context.chains.history(parent) if context.chains is not None else None
        if history is None:
            return MISSING_CONTEXT
        items = [*history, *items]

    memo = context.memo("responses")
    start, mapped = memo.prefix(items)
    cuts = [(start, len(mapped))] if start else []
    reason = add_items(mapped, items, start, cuts)
    if reason is None:
        replies: list[dict[str, Any]] = []
        reason = add_items(replies, output)
        if reason is None and not replies:
            reason = NO_OUTPUT
    if reason is not None:
        return reason
    memo.keep(items, mapped, cuts)
    count_dropped(output, context.dropped)
    if context.chains is not None and request.get("store") is not False:
        context.chains.remember(response.get("id"), [*items, *output])
    instructions = request.get("instructions")
    if type(instructions) is not str:
        instructions = None
    system = [{"role": "system", "content": instructions}] if instructions else []
    # Items after the model's own turn (programmatic tool outputs) are history, not the reply.
    messages = [*system, *mapped, *replies[:-1]]  # a new list: the memo keeps `mapped`
    return ChatForm(messages, [replies[-1]], chat_tools(request, items))


def input_items(request: dict[str, Any]) -> list[Any] | None:
    """The request's input as items (a string is one user message), else None."""
    value = request.get("input")
    if type(value) is str:
        return [{"role": "user", "content": value}]
    return value if type(value) is list else None


def chat_tools(request: dict[str, Any], items: list[Any]) -> list[dict[str, Any]]:
    """Top-level tools, then those of `additional_tools` items, as chat function tools."""
    tools: list[dict[str, Any]] = []
    _add_tools(tools, request.get("tools"), "")
    for item in items:
        if type(item) is dict and item.get("type") == "additional_tools":
            _add_tools(tools, item.get("tools"), "")
    return tools


DEFAULT_NAMESPACE = "functions"


def _add_tools(out: list[dict[str, Any]], tools: Any, prefix: str) -> None:
    for tool in tools if type(tools) is list else ():
        if type(tool) is not dict or type(tool.get("name")) is not str:
            continue  # hosted tools (web_search, ...) have no name and no chat form
        kind, name = tool.get("type", "function"), prefix + tool["name"]
        if kind == "function":
            parameters = tool.get("parameters")
            out.append(function_tool(name, tool.get("description"), parameters, tool.get("strict")))
        elif kind == "custom":
            out.append(function_tool(name, _custom_description(tool), CUSTOM_PARAMETERS))
        elif kind == "namespace":
            # `functions` is the default namespace: its tools are called by their bare name
            # (Codex's custom `exec` inside it comes back as a call named `exec`).
            _add_tools(out, tool.get("tools"), "" if name == DEFAULT_NAMESPACE else name + ".")


def _custom_description(tool: dict[str, Any]) -> str:
    """A custom tool's description, with its grammar appended (the input must follow it)."""
    description = tool.get("description") if type(tool.get("description")) is str else ""
    form = tool.get("format")
    if type(form) is dict and form.get("type") == "grammar":
        grammar = f"The input follows this {form.get('syntax')} grammar:\n{form.get('definition')}"
        return f"{description}\n\n{grammar}" if description else grammar
    return description
