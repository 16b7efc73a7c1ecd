"""Turning captured values into safe, readable text for the pages.

Everything captured is hostile (docs/design.md section 12): templates autoescape HTML, and
`visible` runs on every value a template prints, so control characters, terminal escapes,
bidirectional overrides, NUL and lone surrogates are shown as `\\uXXXX` instead of acting.
"""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import Markup

from ..conv.chatform import text_parts

CUT = 2000  # characters of a string shown before "show all"
LONG_RESULT = 600  # tool results longer than this start collapsed
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def visible(value: Any) -> Any:
    """Jinja `finalize`: strings with invisible or acting characters written out."""
    if type(value) is str:
        return _INVISIBLE.sub(_escape, value)
    if value is None:
        return ""
    return value if isinstance(value, Markup) else value


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def cut(text: str, limit: int = CUT) -> tuple[str, int]:
    """The first `limit` characters and how many were left out."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def cut_strings(value: Any, limit: int = CUT) -> Any:
    """The value with every string longer than `limit` cut and marked."""
    kind = type(value)
    if kind is str:
        if len(value) > limit:
            return f"{value[:limit]}… [{len(value) - limit} more characters]"
        return value
    if kind is dict:
        return {k: cut_strings(v, limit) for k, v in value.items()}
    if kind is list:
        return [cut_strings(v, limit) for v in value]
    return value


def pretty(value: Any, *, full: bool = False) -> str:
    """Indented JSON, long strings cut unless `full`."""
    shown = value if full else cut_strings(value)
    return json.dumps(shown, indent=2, ensure_ascii=False, default=str)


def pretty_arguments(arguments: Any) -> str:
    """Tool-call arguments indented when they are JSON, else as sent."""
    if type(arguments) is not str:
        return pretty(arguments)
    try:
        return pretty(json.loads(arguments))
    except ValueError:
        return arguments


def content_text(content: Any) -> str:
    """A message's text: a string, or its text parts joined; other parts named."""
    if content is None:
        return ""
    if type(content) is str:
        return content
    if type(content) is list:
        texts = text_parts(content)
        if texts is not None:
            return "".join(texts)
        pieces = []
        for part in content:
            if type(part) is dict and type(part.get("text")) is str:
                pieces.append(part["text"])
            elif type(part) is dict:
                pieces.append(f"[{part.get('type', 'part')}]")
            else:
                pieces.append(str(part))
        return "\n".join(pieces)
    return pretty(content)


def message_view(message: dict[str, Any]) -> dict[str, Any]:
    """What a template needs to show one chat-form message."""
    role = str(message.get("role", "?"))
    text = content_text(message.get("content"))
    shown, more = cut(text)
    calls = []
    for call in message.get("tool_calls") or ():
        if type(call) is not dict:
            continue
        function = call.get("function") if type(call.get("function")) is dict else {}
        args, args_more = cut(pretty_arguments(function.get("arguments")))
        calls.append(
            {"name": function.get("name"), "id": call.get("id"), "args": args, "more": args_more}
        )
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    reasoning_text, reasoning_more = cut(content_text(reasoning)) if reasoning else ("", 0)
    return {
        "role": role,
        "text": shown,
        "more": more,
        "length": len(text),
        "collapsed": role in ("system", "developer")
        or (role == "tool" and len(text) > LONG_RESULT),
        "calls": calls,
        "reasoning": reasoning_text,
        "reasoning_more": reasoning_more,
        "tool_call_id": message.get("tool_call_id"),
        "name": message.get("name"),
    }


def bars(counts: dict[str, int], width: int = 420, row: int = 18) -> dict[str, Any]:
    """Geometry of a horizontal bar chart, drawn by the template as inline SVG."""
    items = list(counts.items())
    top = max((v for _, v in items), default=0) or 1
    label_w = 170
    rows = [
        {
            "label": label[:28],
            "value": value,
            "y": i * row,
            "w": max(1, round((width - label_w - 70) * value / top)),
        }
        for i, (label, value) in enumerate(items)
    ]
    return {"rows": rows, "width": width, "height": max(row, row * len(rows)), "x": label_w}
