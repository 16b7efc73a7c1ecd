"""`/v1/chat/completions` records: already in chat form, so only checked and taken apart."""

from __future__ import annotations

from typing import Any

from .common import NO_CHOICES, NO_MESSAGES, NOT_CHAT, ChatForm, Context


def chat_exchange(record: dict[str, Any], context: Context) -> ChatForm | str:
    """The record's messages, replies and tools, or the reason it is skipped.

    Usable: a list of request messages and at least one choice with a message. Every choice's
    message is a reply, in the order of the choices.
    """
    request = record.get("request")
    messages = request.get("messages") if type(request) is dict else None
    if type(messages) is not list:
        return NO_MESSAGES
    response = record.get("response")
    if type(response) is not dict:
        return NO_CHOICES
    kind = response.get("object")
    if kind is not None and kind != "chat.completion":
        return NOT_CHAT
    choices = response.get("choices")
    if type(choices) is not list:
        return NO_CHOICES
    replies = [
        _assistant(c["message"])
        for c in choices
        if type(c) is dict and type(c.get("message")) is dict
    ]
    if not replies:
        return NO_CHOICES
    tools = request.get("tools")
    return ChatForm(messages, replies, tools if type(tools) is list else [])


def _assistant(message: dict[str, Any]) -> dict[str, Any]:
    """A reply as the client will resend it: an upstream that left out the role meant assistant."""
    return message if "role" in message else {"role": "assistant", **message}
