"""What every API mapping shares: the exchange it produces, skip reasons, and content helpers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .memo import PrefixMemo

if TYPE_CHECKING:
    from ..chains import ResponseChains

# Reasons a record is not training data, as they appear in the summary.
OTHER_ENDPOINT = "other endpoint"
NOT_200 = "status not 200"
INCOMPLETE = "incomplete"
NO_MESSAGES = "no request messages"
NOT_CHAT = "not a chat completion"
NO_CHOICES = "no choices"
BAD_MESSAGES = "malformed messages"
NO_INPUT = "no request input"
NO_OUTPUT = "no response output"
NOT_RESPONSE = "not a response"
NOT_MESSAGE = "not a message"
MISSING_CONTEXT = "missing context"
COMPACTED = "compacted"

# Kinds of dropped items and blocks, as they appear in the summary.
HOSTED_TOOL_ITEM = "hosted tool item"
UNKNOWN_ITEM = "unknown item"
REDACTED_THINKING = "redacted thinking"
SERVER_TOOL_BLOCK = "server tool block"


@dataclass(frozen=True)
class ChatForm:
    """The parts of one usable record that make conversations, in chat-completion form."""

    messages: list[dict[str, Any]]
    replies: list[dict[str, Any]]
    tools: list[Any]


@dataclass
class Context:
    """What mappings need beyond one record: dropped-item counts, response chains, memos."""

    dropped: Counter[str] = field(default_factory=Counter)
    chains: ResponseChains | None = None  # None: no parent can be found
    memos: dict[str, PrefixMemo] = field(default_factory=dict)

    def memo(self, name: str) -> PrefixMemo:
        """The prefix memo of one mapping."""
        memo = self.memos.get(name)
        if memo is None:
            memo = self.memos[name] = PrefixMemo()
        return memo


def without(block: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """The block without `keys` (markers and ids that are not content)."""
    if keys.isdisjoint(block):
        return block
    return {k: v for k, v in block.items() if k not in keys}


def assistant_message(
    content: str | None,
    reasoning: list[str],
    calls: list[dict[str, Any]],
    refusal: str | None = None,
) -> dict[str, Any]:
    """One chat assistant message; keys that would be empty are left out (content stays)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    if reasoning:
        message["reasoning_content"] = "\n\n".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    return message


def function_call(call_id: Any, name: Any, arguments: str) -> dict[str, Any]:
    """A chat tool call."""
    return {
        "id": call_id if type(call_id) is str else "",
        "type": "function",
        "function": {"name": name if type(name) is str else "", "arguments": arguments},
    }


def function_tool(
    name: str, description: Any, parameters: Any, strict: Any = None
) -> dict[str, Any]:
    """A chat function tool; description and parameters only when the definition has them."""
    spec: dict[str, Any] = {"name": name}
    if type(description) is str:
        spec["description"] = description
    if type(parameters) is dict:
        spec["parameters"] = parameters
    if type(strict) is bool:
        spec["strict"] = strict
    return {"type": "function", "function": spec}
