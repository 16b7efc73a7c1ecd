"""Realistic Responses API streams, event by event, as Codex and the Agents SDK receive them."""

from __future__ import annotations

import json
from typing import Any

RESP_ID = "resp_0b4f9c2e7d1a4c3e0068f1a2b3c4d5e6f7"
THREAD = "019a7c3e-5b2d-7f10-9c4e-2a6b8d0e1f32"
CREATED_AT = 1764547200
USAGE = {
    "input_tokens": 21873,
    "input_tokens_details": {"cached_tokens": 19840},
    "output_tokens": 412,
    "output_tokens_details": {"reasoning_tokens": 256},
    "total_tokens": 22285,
}
TOOLS = [
    {
        "type": "function",
        "name": "exec_command",
        "description": "Runs a command in a PTY.",
        "parameters": {
            "type": "object",
            "properties": {"cmd": {"type": "string"}},
            "required": ["cmd"],
            "additionalProperties": False,
        },
        "strict": False,
    },
    {
        "type": "custom",
        "name": "apply_patch",
        "description": "Edit files with a patch.",
        "format": {
            "type": "grammar",
            "syntax": "lark",
            "definition": "start: begin_patch hunk+ end_patch",
        },
    },
    {
        "type": "web_search",
        "external_web_access": True,
        "filters": None,
        "search_context_size": "medium",
        "user_location": None,
    },
]


def response(
    status: str, output: list[dict[str, Any]] | None = None, usage: Any = None, **extra: Any
) -> dict[str, Any]:
    """A Response object with the request echo a Codex-style request gets back."""
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-5.1-codex-max",
        "output": output or [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": THREAD,
        "prompt_cache_retention": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "safety_identifier": None,
        "service_tier": "auto",
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "low"},
        "tool_choice": "auto",
        "tools": TOOLS,
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
        **extra,
    }


class Stream:
    """Events with a rising sequence_number; each helper streams one item, returns it done."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.obfuscate = 0

    def add(self, kind: str, **fields: Any) -> None:
        self.events.append({"type": kind, "sequence_number": len(self.events), **fields})

    def pad(self) -> str:
        self.obfuscate += 1
        return "xK9q"[: 1 + self.obfuscate % 4]

    def start(self) -> Stream:
        self.add("response.created", response=response("in_progress"))
        self.add("response.in_progress", response=response("in_progress"))
        return self

    def message(self, oi: int, pieces: list[str], item_id: str = "msg_0b4f9c2e01") -> dict:
        self.add(
            "response.output_item.added",
            output_index=oi,
            item={
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            },
        )
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        self.add(
            "response.content_part.added",
            item_id=item_id,
            output_index=oi,
            content_index=0,
            part=part,
        )
        for piece in pieces:
            self.add(
                "response.output_text.delta",
                item_id=item_id,
                output_index=oi,
                content_index=0,
                delta=piece,
                logprobs=[],
                obfuscation=self.pad(),
            )
        text = "".join(pieces)
        self.add(
            "response.output_text.done",
            item_id=item_id,
            output_index=oi,
            content_index=0,
            text=text,
            logprobs=[],
        )
        self.add(
            "response.content_part.done",
            item_id=item_id,
            output_index=oi,
            content_index=0,
            part={**part, "text": text},
        )
        item = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "content": [{**part, "text": text}],
            "role": "assistant",
        }
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def refusal(self, oi: int, pieces: list[str], item_id: str = "msg_0b4f9c2e02") -> dict:
        self.add(
            "response.output_item.added",
            output_index=oi,
            item={
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            },
        )
        part = {"type": "refusal", "refusal": ""}
        self.add(
            "response.content_part.added",
            item_id=item_id,
            output_index=oi,
            content_index=0,
            part=part,
        )
        for piece in pieces:
            self.add(
                "response.refusal.delta",
                item_id=item_id,
                output_index=oi,
                content_index=0,
                delta=piece,
            )
        text = "".join(pieces)
        self.add(
            "response.refusal.done", item_id=item_id, output_index=oi, content_index=0, refusal=text
        )
        self.add(
            "response.content_part.done",
            item_id=item_id,
            output_index=oi,
            content_index=0,
            part={"type": "refusal", "refusal": text},
        )
        item = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "content": [{"type": "refusal", "refusal": text}],
            "role": "assistant",
        }
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def reasoning(
        self, oi: int, summaries: list[list[str]], item_id: str = "rs_0b4f9c2e03"
    ) -> dict:
        self.add(
            "response.output_item.added",
            output_index=oi,
            item={"id": item_id, "type": "reasoning", "summary": []},
        )
        done_summary = []
        for si, pieces in enumerate(summaries):
            self.add(
                "response.reasoning_summary_part.added",
                item_id=item_id,
                output_index=oi,
                summary_index=si,
                part={"type": "summary_text", "text": ""},
            )
            for piece in pieces:
                self.add(
                    "response.reasoning_summary_text.delta",
                    item_id=item_id,
                    output_index=oi,
                    summary_index=si,
                    delta=piece,
                    obfuscation=self.pad(),
                )
            text = "".join(pieces)
            self.add(
                "response.reasoning_summary_text.done",
                item_id=item_id,
                output_index=oi,
                summary_index=si,
                text=text,
            )
            self.add(
                "response.reasoning_summary_part.done",
                item_id=item_id,
                output_index=oi,
                summary_index=si,
                part={"type": "summary_text", "text": text},
            )
            done_summary.append({"type": "summary_text", "text": text})
        item = {
            "id": item_id,
            "type": "reasoning",
            "encrypted_content": "gAAAAABpLm9Yc2VjcmV0LXJlYXNvbmluZy1ibG9iLW5vdC1mb3ItaHVtYW5z==",
            "summary": done_summary,
        }
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def function_call(
        self, oi: int, name: str, pieces: list[str], call_id: str, item_id: str = "fc_0b4f9c2e04"
    ) -> dict:
        added = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        self.add("response.output_item.added", output_index=oi, item=added)
        for piece in pieces:
            self.add(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=oi,
                delta=piece,
                obfuscation=self.pad(),
            )
        arguments = "".join(pieces)
        self.add(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=oi,
            arguments=arguments,
            name=name,
        )
        item = {**added, "status": "completed", "arguments": arguments}
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def custom_tool_call(
        self, oi: int, name: str, pieces: list[str], call_id: str, item_id: str = "ctc_0b4f9c2e05"
    ) -> dict:
        added = {
            "id": item_id,
            "type": "custom_tool_call",
            "status": "in_progress",
            "call_id": call_id,
            "input": "",
            "name": name,
        }
        self.add("response.output_item.added", output_index=oi, item=added)
        for piece in pieces:
            self.add(
                "response.custom_tool_call_input.delta",
                item_id=item_id,
                output_index=oi,
                delta=piece,
                obfuscation=self.pad(),
            )
        text = "".join(pieces)
        self.add(
            "response.custom_tool_call_input.done", item_id=item_id, output_index=oi, input=text
        )
        item = {**added, "status": "completed", "input": text}
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def web_search(self, oi: int, query: str, item_id: str = "ws_0b4f9c2e06") -> dict:
        self.add(
            "response.output_item.added",
            output_index=oi,
            item={
                "id": item_id,
                "type": "web_search_call",
                "status": "in_progress",
                "action": {"type": "search"},
            },
        )
        for step in ("in_progress", "searching", "completed"):
            self.add(f"response.web_search_call.{step}", item_id=item_id, output_index=oi)
        item = {
            "id": item_id,
            "type": "web_search_call",
            "status": "completed",
            "action": {
                "type": "search",
                "query": query,
                "sources": [{"type": "url", "url": "https://docs.python.org/3/"}],
            },
        }
        self.add("response.output_item.done", output_index=oi, item=item)
        return item

    def end(self, kind: str, resp: dict[str, Any]) -> Stream:
        self.add(kind, response=resp)
        return self


def encode(
    events: list[dict[str, Any]],
    *,
    eol: bytes = b"\n",
    event_lines: bool = True,
    done: bool = False,
) -> bytes:
    """The body as OpenAI frames it: `event:` then one compact `data:` line, raw UTF-8."""
    out = []
    for event in events:
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        head = b"event: " + event["type"].encode() + eol if event_lines else b""
        out.append(head + b"data: " + data + eol + eol)
    if done:
        out.append(b"data: [DONE]" + eol + eol)
    return b"".join(out)


PATCH = [
    "*** Begin Patch\n*** Update File: src/app.py\n@@ def main():\n",
    "-    print('hi')\n+    print('héllo, 世界')\n",
    "*** End Patch\n",
]


def codex_turn(*, empty_output: bool = False) -> tuple[list[dict], dict]:
    """A Codex turn: reasoning with a summary, a preamble, a command and a patch (parallel)."""
    s = Stream().start()
    items = [
        s.reasoning(
            0,
            [
                ["**Inspecting the repo**\n\nI'll ", "look at `src/app.py` first."],
                ["**Planning the edit**\n\nThen patch ", "the greeting."],
            ],
        ),
        s.message(1, ["I'll check ", "the file and ", "patch it 🦅."]),
        s.function_call(
            2,
            "exec_command",
            ['{"cmd":', '"sed -n 1,40p ', 'src/app.py"}'],
            "call_Ab12Cd34Ef56Gh78",
            item_id="fc_0b4f9c2e07",
        ),
        s.custom_tool_call(3, "apply_patch", PATCH, "call_Zy98Xw76Vu54Ts32"),
    ]
    final = response("completed", [] if empty_output else items, USAGE)
    s.end("response.completed", final)
    return s.events, {**final, "output": items}


def agents_sdk_turn() -> tuple[list[dict], dict]:
    """An Agents SDK turn: a hosted web search, then the answer."""
    s = Stream().start()
    items = [
        s.web_search(0, "python 3.14 release date"),
        s.message(1, ["Python 3.14 was released ", "on 7 October 2025."]),
    ]
    final = response("completed", items, USAGE)
    s.end("response.completed", final)
    return s.events, final


def refusal_turn() -> tuple[list[dict], dict]:
    s = Stream().start()
    items = [s.refusal(0, ["I can't help ", "with that."])]
    final = response("completed", items, USAGE)
    s.end("response.completed", final)
    return s.events, final


def parallel_calls_turn() -> tuple[list[dict], dict]:
    s = Stream().start()
    items = [
        s.function_call(0, "exec_command", ['{"cmd":"ls"}'], "call_1", item_id="fc_1"),
        s.function_call(1, "exec_command", ['{"cmd":', '"git status"}'], "call_2", item_id="fc_2"),
        s.function_call(2, "exec_command", ['{"cmd":"pwd"}'], "call_3", item_id="fc_3"),
    ]
    final = response("completed", items, USAGE)
    s.end("response.completed", final)
    return s.events, final


def incomplete_turn() -> tuple[list[dict], dict]:
    """Cut by max_output_tokens: the message item ends `incomplete`."""
    s = Stream().start()
    s.add(
        "response.output_item.added",
        output_index=0,
        item={
            "id": "msg_cut",
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        },
    )
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    s.add(
        "response.content_part.added", item_id="msg_cut", output_index=0, content_index=0, part=part
    )
    s.add(
        "response.output_text.delta",
        item_id="msg_cut",
        output_index=0,
        content_index=0,
        delta="The answer is",
        logprobs=[],
    )
    item = {
        "id": "msg_cut",
        "type": "message",
        "status": "incomplete",
        "content": [{**part, "text": "The answer is"}],
        "role": "assistant",
    }
    s.add("response.output_item.done", output_index=0, item=item)
    final = response(
        "incomplete",
        [item],
        {**USAGE, "output_tokens": 16},
        incomplete_details={"reason": "max_output_tokens"},
        max_output_tokens=16,
    )
    s.end("response.incomplete", final)
    return s.events, final


def failed_turn() -> tuple[list[dict], dict]:
    s = Stream().start()
    s.message(0, ["Partial"])
    final = response(
        "failed",
        [],
        None,
        error={"code": "server_error", "message": "The model produced invalid content."},
    )
    s.end("response.failed", final)
    return s.events, final


# Well-formed streams that end in response.completed: the openai SDK is the oracle for these.
COMPLETED = {
    "codex": codex_turn,
    "agents-sdk-web-search": agents_sdk_turn,
    "refusal": refusal_turn,
    "parallel-calls": parallel_calls_turn,
}
