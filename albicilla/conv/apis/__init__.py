"""Each logged API's records in chat form: one mapping per API, chosen by the record's endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .chat import chat_exchange
from .common import INCOMPLETE, NOT_200, OTHER_ENDPOINT, ChatForm, Context
from .gemini import gemini_exchange
from .messages import messages_exchange
from .responses import responses_exchange

Mapping = Callable[[dict[str, Any], Context], ChatForm | str]

# By the end of the endpoint path (a gateway may put a prefix before `/v1`; Gemini's method).
MAPPINGS: dict[str, Mapping] = {
    "/chat/completions": chat_exchange,
    "/responses": responses_exchange,
    "/messages": messages_exchange,
    ":generateContent": gemini_exchange,
    ":streamGenerateContent": gemini_exchange,
}
# The same suffixes' API names, for people (the viewer's API column).
NAMES: dict[str, str] = {
    "/chat/completions": "chat",
    "/responses": "responses",
    "/messages": "messages",
    ":generateContent": "gemini",
    ":streamGenerateContent": "gemini",
}


def api_name(endpoint: Any) -> str:
    """The logged API an endpoint belongs to (`chat` for a record without one), else `other`."""
    if endpoint is None:
        return "chat"
    if type(endpoint) is str:
        path = endpoint.split("?", 1)[0].rstrip("/")
        for suffix, name in NAMES.items():
            if path.endswith(suffix):
                return name
    return "other"


def mapping_for(endpoint: Any) -> Mapping | None:
    """The mapping of an endpoint; a record without one is a chat completion (older records)."""
    if endpoint is None:
        return chat_exchange
    if type(endpoint) is not str:
        return None
    path = endpoint.rstrip("/")
    for suffix, mapping in MAPPINGS.items():
        if path.endswith(suffix):
            return mapping
    return None


def to_exchange(record: dict[str, Any], context: Context | None = None) -> ChatForm | str:
    """The record's messages, replies and tools in chat form, or the reason it is skipped.

    Usable: a logged API's endpoint, status 200 (or none recorded), `complete` not false, and
    what that API's mapping needs.
    """
    mapping = mapping_for(record.get("endpoint"))
    if mapping is None:
        return OTHER_ENDPOINT
    status = record.get("status")
    if status is not None and status != 200:
        return NOT_200
    if record.get("complete") is False:
        return INCOMPLETE
    return mapping(record, context if context is not None else Context())
