"""What the official SDKs themselves accumulate from a stream: the oracles records are held to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openai._models import construct_type_unchecked
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent

# The SDK's own fields for its client-side structured-output parsing, which no server sends.
_PARSING = {"function_call": "parsed_arguments", "output_text": "parsed"}


def responses_state(events: Iterable[ResponseStreamEvent]) -> ResponseStreamState:
    """The openai SDK's Responses stream state after `events` (as its own decoder parsed them),
    exactly as `client.responses.stream` holds it."""
    state: ResponseStreamState = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        state.handle_event(event)
    return state


def responses_partial(state: ResponseStreamState) -> dict[str, Any] | None:
    """What the SDK has accumulated of a Responses stream that has no terminal event yet, as JSON.

    The response is the SDK's current snapshot (from `response.created`); its `output` is the
    list the SDK itself builds when a stream ends in `response.incomplete` or `response.failed`
    without one: each item's `output_item.done` where it came, else the item as the deltas built
    it. We ask the SDK for that list by handing it such an event, so the rule is the SDK's own,
    not a copy of it (the event changes nothing in the state: `accumulate_event` only checks its
    id).
    """
    snapshot = state._ResponseStreamState__current_snapshot  # type: ignore[attr-defined]
    if snapshot is None:
        return None
    probe = construct_type_unchecked(
        type_=ResponseStreamEvent,  # type: ignore[arg-type]
        value={
            "type": "response.incomplete",
            "sequence_number": -1,
            "response": {"id": snapshot.id, "object": "response"},
        },
    )
    [told] = state.handle_event(probe)
    # Dumped apart: the snapshot's list holds the SDK's parsed subclasses, which pydantic warns
    # about when it serializes them through the plain union type.
    response = snapshot.model_dump(mode="json", exclude_unset=True, exclude={"output"})
    response["output"] = [
        without_sdk_parsing(item.model_dump(mode="json", exclude_unset=True))
        for item in told.response.output
    ]
    return response


def without_sdk_parsing(item: dict[str, Any]) -> dict[str, Any]:
    """Drop `parsed` and `parsed_arguments`: the SDK's client-side structured-output parsing
    (with no text_format and no tools given, it parsed nothing)."""
    key = _PARSING.get(item.get("type", ""))
    if key is not None and key in item:
        assert item.pop(key) is None
    for part in item.get("content") or [] if item.get("type") == "message" else []:
        if part.get("type") == "output_text" and "parsed" in part:
            assert part.pop("parsed") is None
    return item


def responses_final(response: Any) -> dict[str, Any]:
    """A Response the openai SDK returned or accumulated, as the JSON a record holds."""
    final = response.model_dump(mode="json", exclude_unset=True, exclude={"output"})
    final["output"] = [
        without_sdk_parsing(item.model_dump(mode="json", exclude_unset=True))
        for item in response.output
    ]
    return final


def chat_without_sdk_additions(
    sdk: dict[str, Any], chunks: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The openai SDK's accumulated chat completion (`current_completion_snapshot`, dumped with
    mode="json" and exclude_unset), less what the SDK adds that no chunk (as JSON) carried."""
    sent: dict[int, set[str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            sent.setdefault(choice["index"], set()).update(choice["delta"])
    for choice in sdk["choices"]:
        message = choice["message"]
        # `parsed` and `parsed_arguments` are the SDK's client-side structured-output parsing.
        message.pop("parsed", None)
        for call in message.get("tool_calls") or []:
            call["function"].pop("parsed_arguments", None)
        # After each chunk the SDK re-dumps its message model with defaults, so message fields
        # the server never sent come back as null; only those exact nulls are dropped.
        for key in ("annotations", "audio", "function_call", "tool_calls"):
            if key in message and message[key] is None and key not in sent[choice["index"]]:
                del message[key]
    return sdk
