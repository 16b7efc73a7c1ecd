"""A fake model on a real socket that plays a one-tool-call agent for Claude Code and Codex CLI.

`POST /v1/messages` (Anthropic) and `POST /v1/responses`, streamed or not: the first turn calls a
tool the request offers (`Bash`, `exec_command`, `shell_command`, `shell`, custom `exec` or
`apply_patch`) to run `echo hello-from-tool`; after the tool result, a final text. Title calls (no
tools, or a JSON schema asked) get a short JSON text. `GET /_requests` lists what came in, each
with the `answer` its stream stands for. Run: `python -m tests.support.fake_model --port N`.
"""

from __future__ import annotations

import itertools
import json
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler
from typing import Any

from .fake_server import FakeServer, serve_main, serving_in_thread

COMMAND = "echo hello-from-tool"
FINAL_TEXT = "Done: the tool printed hello-from-tool."
THOUGHT = "The user wants a greeting; run one harmless command first."
JS = f'const r = await tools.exec_command({{cmd: "{COMMAND}"}});\ntext(r);\n'
PATCH = "*** Begin Patch\n*** Add File: hello-from-tool.txt\n+hello-from-tool\n*** End Patch\n"
_ids = itertools.count(1)
Json = dict[str, Any]


def _sse(payload: Json) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def _schema_answer(schema: Any) -> str:
    """A JSON text that fits a (flat) JSON schema: strings get a short title."""
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    fill = {"string": "Fake title", "boolean": False, "integer": 1, "number": 1, "array": []}
    return json.dumps(
        {k: fill.get(v.get("type"), "Fake title") for k, v in props.items()}
        or {"title": "Fake title"}
    )


# ---- Anthropic Messages -----------------------------------------------------------------------


def _block_events(i: int, block: Json) -> list[Json]:
    """The Anthropic events that stream one content block, from start to stop."""
    kind = block["type"]
    if kind == "tool_use":
        text, start = json.dumps(block["input"]), {**block, "input": {}}
        deltas = [("input_json_delta", "partial_json", p) for p in ("", text[:15], text[15:])]
    elif kind == "thinking":
        text, start = block["thinking"], {**block, "thinking": "", "signature": ""}
        deltas = [
            ("thinking_delta", "thinking", text[:20]),
            ("thinking_delta", "thinking", text[20:]),
            ("signature_delta", "signature", block["signature"]),
        ]
    else:
        text, start = block["text"], {**block, "text": ""}
        deltas = [("text_delta", "text", text[:9]), ("text_delta", "text", text[9:])]
    return [
        {"type": "content_block_start", "index": i, "content_block": start},
        *(
            {"type": "content_block_delta", "index": i, "delta": {"type": name, field: value}}
            for name, field, value in deltas
        ),
        {"type": "content_block_stop", "index": i},
    ]


def anthropic_turn(body: Json) -> tuple[Json, list[Json]]:
    """The final Message for this request and the stream events that build it."""
    n = next(_ids)
    tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"] or [{}]
    last = users[-1].get("content")  # mid-conversation `system` messages are skipped
    answered = isinstance(last, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in last
    )
    fmt = (body.get("output_config") or {}).get("format") or {}
    blocks: list[Json] = []
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        blocks.append({"type": "thinking", "thinking": THOUGHT, "signature": f"sig-fake-{n}"})
    if fmt or not tools:
        blocks.append({"type": "text", "text": _schema_answer(fmt.get("schema"))})
    elif answered or "Bash" not in tools:
        blocks.append({"type": "text", "text": FINAL_TEXT})
    else:
        blocks.append({"type": "text", "text": "Let me run a command."})
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_fake_{n}",
                "name": "Bash",
                "input": {"command": COMMAND, "description": "Print a greeting"},
            }
        )
    stop = "tool_use" if blocks[-1]["type"] == "tool_use" else "end_turn"
    usage = {
        "input_tokens": 100 + n,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
        "service_tier": "standard",
    }
    message = {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake-model"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events: list[Json] = [{"type": "message_start", "message": json.loads(json.dumps(message))}]
    for i, block in enumerate(blocks):
        events += _block_events(i, block) + ([{"type": "ping"}] if i == 0 else [])
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 20 + n},
        }
    )
    events.append({"type": "message_stop"})
    return {
        **message,
        "content": blocks,
        "stop_reason": stop,
        "usage": {**usage, "output_tokens": 20 + n},
    }, events


# ---- OpenAI Responses -------------------------------------------------------------------------


def _offered(tools: Any, found: dict[str, str]) -> dict[str, str]:
    """Tool name -> type ("function" or "custom"), nested tools (namespaces) included."""
    for tool in (t for t in tools or [] if isinstance(t, dict)):
        if tool.get("type") in ("function", "custom") and tool.get("name"):
            found.setdefault(tool["name"], tool["type"])
        _offered(tool.get("tools"), found)
    return found


def _tool_call(offered: dict[str, str], n: int) -> Json | None:
    """A harmless call of the first tool we know how to drive, as a complete output item."""
    args = {
        "exec_command": {"cmd": COMMAND},
        "shell_command": {"command": COMMAND},
        "shell": {"command": ["bash", "-lc", COMMAND]},
    }
    for name, arguments in args.items():
        if offered.get(name) == "function":
            return {
                "id": f"fc_fake_{n}",
                "type": "function_call",
                "status": "completed",
                "arguments": json.dumps(arguments),
                "call_id": f"call_fake_{n}",
                "name": name,
            }
    for name, text in (("exec", JS), ("apply_patch", PATCH)):
        if offered.get(name) == "custom":
            return {
                "id": f"ctc_fake_{n}",
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": f"call_fake_{n}",
                "name": name,
                "input": text,
            }
    return None


def _item_events(oi: int, item: Json) -> list[Json]:
    """The Responses events that stream one output item, from `added` to `done`."""
    kind, at = item["type"], {"item_id": item["id"], "output_index": oi}
    if kind == "reasoning":
        part, at = item["summary"][0], {**at, "summary_index": 0}
        skeleton = {**item, "summary": [], "encrypted_content": None}
        steps = [
            ("reasoning_summary_part.added", {"part": {**part, "text": ""}}),
            ("reasoning_summary_text.delta", {"delta": part["text"]}),
            ("reasoning_summary_text.done", {"text": part["text"]}),
            ("reasoning_summary_part.done", {"part": part}),
        ]
    elif kind == "message":
        part, at = item["content"][0], {**at, "content_index": 0}
        skeleton = {**item, "status": "in_progress", "content": []}
        steps = [
            ("content_part.added", {"part": {**part, "text": ""}}),
            ("output_text.delta", {"delta": part["text"][:9], "logprobs": []}),
            ("output_text.delta", {"delta": part["text"][9:], "logprobs": []}),
            ("output_text.done", {"text": part["text"], "logprobs": []}),
            ("content_part.done", {"part": part}),
        ]
    else:
        field, verb = (
            ("arguments", "function_call_arguments")
            if kind == "function_call"
            else ("input", "custom_tool_call_input")
        )
        skeleton = {**item, "status": "in_progress", field: ""}
        steps = [
            (f"{verb}.delta", {"delta": item[field][:12]}),
            (f"{verb}.delta", {"delta": item[field][12:]}),
            (
                f"{verb}.done",
                {field: item[field], **({"name": item["name"]} if kind == "function_call" else {})},
            ),
        ]
    return [
        {"type": "response.output_item.added", "output_index": oi, "item": skeleton},
        *({"type": "response." + name, **at, **extra} for name, extra in steps),
        {"type": "response.output_item.done", "output_index": oi, "item": item},
    ]


def responses_turn(body: Json) -> tuple[Json, list[Json]]:
    """The final Response for this request and the stream events that build it."""
    n = next(_ids)
    items = [i for i in body.get("input") or [] if isinstance(i, dict)]
    extra = [i for i in items if i.get("type") == "additional_tools"]  # Codex's newest models
    offered = _offered([*(body.get("tools") or []), *extra], {})
    users = [k for k, i in enumerate(items) if i.get("role") == "user"]
    answered = any(
        i.get("type") in ("function_call_output", "custom_tool_call_output")
        for i in items[(users[-1] if users else 0) :]
    )
    fmt = (body.get("text") or {}).get("format") or {}
    output: list[Json] = []
    if "reasoning.encrypted_content" in (body.get("include") or []):
        output.append(
            {
                "id": f"rs_fake_{n}",
                "type": "reasoning",
                "encrypted_content": f"gAAAAfake-encrypted-{n}",
                "summary": [{"type": "summary_text", "text": THOUGHT}],
            }
        )
    call = None if answered or fmt.get("type") == "json_schema" else _tool_call(offered, n)
    text = (
        _schema_answer(fmt.get("schema"))
        if fmt.get("type") == "json_schema"
        else "Let me run a command."
        if call
        else FINAL_TEXT
    )
    output.append(
        {
            "id": f"msg_fake_{n}",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }
    )
    if call:
        output.append(call)
    usage = {
        "input_tokens": 100 + n,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 20 + n,
        "output_tokens_details": {"reasoning_tokens": 5},
        "total_tokens": 120 + 2 * n,
    }
    final = {
        "id": f"resp_fake_{n}",
        "object": "response",
        "created_at": 1764000000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": body.get("model", "fake-model"),
        "output": output,
        "parallel_tool_calls": bool(body.get("parallel_tool_calls")),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "store": bool(body.get("store")),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": body.get("reasoning"),
        "usage": usage,
    }
    start = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[Json] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    events += [e for oi, item in enumerate(output) for e in _item_events(oi, item)]
    events.append({"type": "response.completed", "response": final})
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
    return final, events


# ---- HTTP -------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeModel

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, payload: Any = None, events: list[Json] | None = None) -> None:
        """A JSON body (Content-Length), an empty one, or an SSE stream (chunked)."""
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if events is None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        else:
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        for chunk in [_sse(e) for e in events or []] + ([b""] if events is not None else []):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()

    def _note(self, body: Any = None) -> Json:
        entry: Json = {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers),
            "body": body,
        }
        with self.server.lock:
            if self.path == "/_requests" and self.command == "DELETE":
                self.server.log.clear()
            elif self.path != "/_requests":
                self.server.log.append(entry)
        return entry

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """`/_requests` lists what was received; HEAD, GET and DELETE of anything else: 200."""
        self._note()
        with self.server.lock:
            log = list(self.server.log)
        self._reply(200, log if self.path == "/_requests" else {"object": "list", "data": []})

    do_HEAD = do_DELETE = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._reply(400, {"error": {"message": "body is not JSON"}})
        entry = self._note(body)
        if path.endswith("/messages/count_tokens"):
            return self._reply(200, {"input_tokens": len(raw) // 4})
        if not path.endswith(("/messages", "/responses")):
            return self._reply(404, {"error": {"message": f"no route {path}"}})
        turn = anthropic_turn if path.endswith("/messages") else responses_turn
        entry["answer"], events = turn(body)
        if body.get("stream"):
            return self._reply(200, None, events)
        self._reply(200, entry["answer"])


class FakeModel(FakeServer):
    handler = Handler


def serving(port: int = 0) -> AbstractContextManager[FakeModel]:
    """The fake model in a background thread of this process."""
    return serving_in_thread(FakeModel, port)


def main(argv: list[str] | None = None) -> int:
    return serve_main(FakeModel, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
