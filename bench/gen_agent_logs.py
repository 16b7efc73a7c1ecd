"""Generate realistic agent traffic in the proxy's log format, for the converter's bench and tests.

Each session is a coding agent's loop: a long system prompt, a dozen tools, a task, then turns of
assistant tool calls (often several in parallel) and tool results, with the whole history resent
on every call. Mixed in, as real logs have them: side calls in the same session (title
generation), upstream errors and disconnected streams followed by a retry, now and then an
`n = 2` request, a compacted history, clients that re-serialise tool arguments, and a few damaged
lines. Output is deterministic for a given --seed.

Sessions take turns between three clients (`--apis`, default all three): a chat-completions
agent, Codex CLI on `/v1/responses` (developer prompt item, encrypted reasoning resent every turn,
the custom `apply_patch` tool, `input_text` tool outputs) and Claude Code on `/v1/messages`
(billing-header block changing every call, moving `cache_control`, signed thinking, `tool_result`
blocks), as docs/wire-formats.md section 5 describes them.

    uv run python bench/gen_agent_logs.py --out /tmp/agent-logs --mb 300
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Any

WORDS = (
    "the a to of and in is for that this with file function return value test error line "
    "module import class def self config path data result output input request response "
    "session token model agent tool call build run check update fix change add remove "
    "parse read write list string number object array key index cache handler server client "
    '"quoted" (x) [0] {} = == != -> :: ./src/main.py C:\\temp\\log.txt tab\\there'
).split()
# Agent traffic is mostly ASCII code and prose; some words are not.
RARE_WORDS = "löschen prüfen naïve café 数据 函数 测试 ошибка файл 🙂".split()

TOOL_NAMES = (
    "read_file write_file edit_file list_dir run_shell grep_search glob web_fetch "
    "web_search todo_write ask_user git_diff run_tests open_browser"
).split()


def _text(rng: random.Random, words: int) -> str:
    """Prose and code-like lines: spaces, newlines, indentation, quotes, backslashes."""
    chosen = rng.choices(WORDS, k=words)
    for _ in range(words // 100):
        chosen[rng.randrange(words)] = rng.choice(RARE_WORDS)
    for _ in range(words // 12):
        chosen[rng.randrange(words)] += "\n" + " " * rng.choice((0, 4, 8))
    return " ".join(chosen)


def _tool(rng: random.Random, name: str) -> dict[str, Any]:
    props = {
        f"arg_{i}": {
            "type": rng.choice(["string", "integer", "boolean"]),
            "description": _text(rng, 8),
        }
        for i in range(rng.randint(1, 4))
    }
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": _text(rng, rng.randint(15, 60)),
            "parameters": {"type": "object", "properties": props, "required": sorted(props)[:1]},
        },
    }


def _arguments(rng: random.Random, tool: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name, spec in tool["function"]["parameters"]["properties"].items():
        kind = spec["type"]
        if kind == "string":
            args[name] = _text(rng, rng.randint(1, 12))
        elif kind == "integer":
            args[name] = rng.randint(0, 5000)
        else:
            args[name] = rng.random() < 0.5
    return args


class _Writer:
    def __init__(self, path: str, day: str) -> None:
        self.day = day
        self.handle = open(path, "w", encoding="utf-8")  # closed by generate()
        self.bytes = 0
        self.clock = 0.0

    def record(
        self,
        session: str,
        request: dict[str, Any],
        response: dict[str, Any],
        *,
        status: int = 200,
        stream: bool = False,
        complete: bool = True,
        error: str | None = None,
        endpoint: str = "/v1/chat/completions",
    ) -> None:
        self.clock += 1.7
        minutes, seconds = divmod(self.clock, 60)
        line = json.dumps(
            {
                "timestamp": f"{self.day}T{int(minutes) // 60 % 24:02d}:{int(minutes) % 60:02d}:"
                f"{seconds:09.6f}Z",
                "session_id": session,
                "request": request,
                "response": response,
                "status": status,
                "stream": stream,
                "complete": complete,
                "error": error,
                "duration_ms": 812.4,
                "endpoint": endpoint,
                "schema_version": 1,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self.raw(line + "\n")

    def raw(self, text: str) -> None:
        self.handle.write(text)
        self.bytes += len(text.encode("utf-8"))


def _completion(rng: random.Random, messages: list[dict[str, Any]]) -> dict[str, Any]:
    choices = [
        {
            "index": i,
            "message": m,
            "logprobs": None,
            "finish_reason": "tool_calls" if m.get("tool_calls") else "stop",
        }
        for i, m in enumerate(messages)
    ]
    return {
        "id": f"chatcmpl-{rng.getrandbits(64):016x}",
        "object": "chat.completion",
        "created": 1764151200,
        "model": "gpt-4.1-2025-04-14",
        "choices": choices,
        "usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
        "system_fingerprint": "fp_0123456789",
    }


def _reply(rng: random.Random, tools: list[dict[str, Any]], final: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if final:
        message["content"] = _text(rng, rng.randint(20, 200))
        return message
    if rng.random() < 0.3:
        message["content"] = _text(rng, rng.randint(5, 40))
    calls = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        tool = rng.choice(tools)
        calls.append(
            {
                "id": f"call_{rng.getrandbits(48):012x}",
                "type": "function",
                "function": {
                    "name": tool["function"]["name"],
                    "arguments": json.dumps(_arguments(rng, tool), ensure_ascii=False),
                },
            }
        )
    message["tool_calls"] = calls
    return message


def _as_resent(message: dict[str, Any], reserialize: bool) -> dict[str, Any]:
    """The reply as a client puts it back in the history: nulls dropped, maybe arguments redone."""
    resent = {k: v for k, v in message.items() if v is not None}
    if reserialize and "tool_calls" in resent:
        resent["tool_calls"] = [
            {
                **c,
                "function": {
                    **c["function"],
                    "arguments": json.dumps(
                        json.loads(c["function"]["arguments"]),
                        separators=(",", ":"),
                        ensure_ascii=False,
                    ),
                },
            }
            for c in resent["tool_calls"]
        ]
    return resent


def generate_session(
    rng: random.Random, out: _Writer, session: str, max_steps: int = 80, result_words: int = 900
) -> None:
    tools = [_tool(rng, n) for n in rng.sample(TOOL_NAMES, rng.randint(6, 14))]
    system = {"role": "system", "content": _text(rng, rng.randint(300, 1200))}
    task: dict[str, Any] = {"role": "user", "content": _text(rng, 40)}
    if rng.random() < 0.1:  # a screenshot with the task
        image = "data:image/png;base64," + "".join(rng.choices("ABCDEFGHabcdefgh0123+/", k=3000))
        task["content"] = [
            {"type": "text", "text": task["content"]},
            {"type": "image_url", "image_url": {"url": image, "detail": "auto"}},
        ]
    history: list[dict[str, Any]] = [system, task]
    reserialize = rng.random() < 0.3
    steps = rng.randint(min(3, max_steps), max_steps)
    for step in range(steps):
        final = step == steps - 1 or rng.random() < 0.05
        request = {"model": "gpt-4.1", "messages": history, "tools": tools, "stream": False}
        stream = rng.random() < 0.5
        request["stream"] = stream
        roll = rng.random()
        if roll < 0.03:
            error = {
                "error": {
                    "message": "Rate limit reached",
                    "type": "rate_limit",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
            out.record(session, request, error, status=429, stream=stream)
        elif roll < 0.05 and stream:
            partial = _completion(rng, [{"role": "assistant", "content": _text(rng, 5)}])
            out.record(
                session, request, partial, stream=True, complete=False, error="client disconnected"
            )
        if rng.random() < 0.01:
            replies = [_reply(rng, tools, final), _reply(rng, tools, final)]
            request = {**request, "n": 2}
        else:
            replies = [_reply(rng, tools, final)]
        out.record(session, request, _completion(rng, replies), stream=stream)
        if rng.random() < 0.08:
            title = [
                {"role": "system", "content": "Write a five-word title for this conversation."},
                {"role": "user", "content": _text(rng, 30)},
            ]
            out.record(
                session,
                {"model": "gpt-4.1-mini", "messages": title},
                _completion(rng, [{"role": "assistant", "content": _text(rng, 5)}]),
            )
        reply = replies[0]
        history = [*history, _as_resent(reply, reserialize)]
        if final:
            if rng.random() < 0.5:
                break
            history.append({"role": "user", "content": _text(rng, rng.randint(5, 60))})
            continue
        for call in reply["tool_calls"]:
            result = _text(rng, rng.randint(min(20, result_words), result_words))
            history.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        if len(history) > 60 and rng.random() < 0.05:
            summary = {"role": "user", "content": "Summary so far: " + _text(rng, 200)}
            history = [system, summary, *history[-4:]]
            while len(history) > 2 and history[2].get("role") == "tool":
                del history[2]


# --- Codex CLI on /v1/responses (docs/wire-formats.md section 5) ---------------------------------

PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\n'


def _blob(rng: random.Random, size: int) -> str:
    """Opaque base64-like text: encrypted reasoning, thinking signatures."""
    return "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", k=size)
    )


def _flat(tool: dict[str, Any]) -> dict[str, Any]:
    """A chat function tool in the Responses API's flat form."""
    spec = tool["function"]
    return {"type": "function", "strict": False, **spec}


def _codex_output(
    rng: random.Random, tools: list[dict[str, Any]], final: bool
) -> list[dict[str, Any]]:
    """One model turn: encrypted reasoning, maybe commentary, then calls or an answer."""
    out: list[dict[str, Any]] = [
        {
            "id": f"rs_{rng.getrandbits(64):016x}",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**" + _text(rng, rng.randint(5, 30))}],
            "encrypted_content": _blob(rng, rng.randint(800, 4000)),
        }
    ]
    if final or rng.random() < 0.3:
        out.append(
            {
                "id": f"msg_{rng.getrandbits(64):016x}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "phase": "final_answer" if final else "commentary",
                "content": [
                    {
                        "type": "output_text",
                        "text": _text(rng, rng.randint(5, 200)),
                        "annotations": [],
                    }
                ],
            }
        )
    if final:
        return out
    for _ in range(rng.choice((1, 1, 1, 2))):
        call_id = f"call_{rng.getrandbits(48):012x}"
        if rng.random() < 0.25:
            patch = f"*** Begin Patch\n*** Update File: src/{rng.choice(WORDS)}.py\n@@\n"
            patch += _text(rng, rng.randint(20, 200)) + "\n*** End Patch"
            out.append(
                {
                    "id": f"ctc_{call_id[5:]}",
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": "apply_patch",
                    "input": patch,
                }
            )
        else:
            tool = rng.choice(tools)
            arguments = json.dumps(_arguments(rng, tool), ensure_ascii=False, separators=(",", ":"))
            out.append(
                {
                    "id": f"fc_{call_id[5:]}",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": tool["function"]["name"],
                    "arguments": arguments,
                }
            )
    return out


def generate_codex_session(
    rng: random.Random, out: _Writer, session: str, max_steps: int = 80, result_words: int = 900
) -> None:
    """Codex CLI: no instructions, the whole history as `input` items on every call."""
    tools = [_tool(rng, n) for n in rng.sample(TOOL_NAMES, rng.randint(4, 8))]
    api_tools = [
        *(_flat(t) for t in tools),
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Edit files.",
            "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
        },
        {"type": "web_search", "external_web_access": False},
    ]
    history: list[dict[str, Any]] = [
        {
            "id": f"msg_{rng.getrandbits(64):016x}",
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": _text(rng, rng.randint(2500, 4000))}],
        },
        {
            "id": f"msg_{rng.getrandbits(64):016x}",
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "<environment_context>\n  <cwd>/repo</cwd>"},
                {"type": "input_text", "text": _text(rng, 40)},
            ],
        },
    ]
    steps = rng.randint(min(3, max_steps), max_steps)
    for step in range(steps):
        final = step == steps - 1 or rng.random() < 0.05
        request = {
            "model": "gpt-5.1-codex",
            "input": history,
            "tools": api_tools,
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": False,
            "stream": True,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": session,
        }
        if rng.random() < 0.03:
            error = {
                "error": {
                    "message": "Rate limit reached",
                    "type": "rate_limit",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
            out.record(session, request, error, status=429, stream=True, endpoint="/v1/responses")
        output = _codex_output(rng, tools, final)
        response = {
            "id": f"resp_{rng.getrandbits(64):016x}",
            "object": "response",
            "created_at": 1764151200,
            "status": "completed",
            "model": "gpt-5.1-codex",
            "output": output,
            "store": False,
            "usage": {"input_tokens": 20480, "output_tokens": 300, "total_tokens": 20780},
        }
        out.record(session, request, response, stream=True, endpoint="/v1/responses")
        if rng.random() < 0.08:  # a title side call in the same session (same prompt_cache_key)
            title = {
                **request,
                "tools": [],
                "input": [
                    {
                        "type": "message",
                        "role": "developer",
                        "content": [{"type": "input_text", "text": "Write a five-word title."}],
                    },
                    {"type": "message", "role": "user", "content": _text(rng, 30)},
                ],
            }
            said = {
                "id": "msg_t",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": _text(rng, 5), "annotations": []}],
            }
            out.record(
                session,
                title,
                {**response, "output": [said]},
                stream=True,
                endpoint="/v1/responses",
            )
        history = [*history, *({k: v for k, v in i.items() if k != "status"} for i in output)]
        if final:
            if rng.random() < 0.5:
                break
            history.append(
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": _text(rng, 30)}],
                }
            )
            continue
        for item in output:
            result = _text(rng, rng.randint(min(20, result_words), result_words))
            if item["type"] == "function_call":
                history.append(
                    {"type": "function_call_output", "call_id": item["call_id"], "output": result}
                )
            elif item["type"] == "custom_tool_call":
                history.append(
                    {
                        "type": "custom_tool_call_output",
                        "call_id": item["call_id"],
                        "output": [
                            {"type": "input_text", "text": "Success."},
                            {"type": "input_text", "text": result[:200]},
                        ],
                    }
                )


# --- Claude Code on /v1/messages (docs/wire-formats.md section 5) --------------------------------


def _claude_reply(
    rng: random.Random, tools: list[dict[str, Any]], final: bool
) -> list[dict[str, Any]]:
    """One model turn: signed thinking, maybe text, then tool_use blocks or an answer."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "thinking",
            "thinking": _text(rng, rng.randint(10, 120)),
            "signature": _blob(rng, rng.randint(300, 1200)),
        }
    ]
    if final or rng.random() < 0.4:
        blocks.append({"type": "text", "text": _text(rng, rng.randint(5, 200))})
    if not final:
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            tool = rng.choice(tools)
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{rng.getrandbits(64):016x}",
                    "name": tool["function"]["name"],
                    "input": _arguments(rng, tool),
                }
            )
    return blocks


def _marked(message: dict[str, Any]) -> dict[str, Any]:
    """The message with Claude Code's cache marker on its last block (the marker moves on)."""
    content = message["content"]
    if type(content) is str:
        content = [{"type": "text", "text": content}]
    last = {**content[-1], "cache_control": {"type": "ephemeral"}}
    return {**message, "content": [*content[:-1], last]}


def generate_claude_session(
    rng: random.Random, out: _Writer, session: str, max_steps: int = 80, result_words: int = 900
) -> None:
    """Claude Code: a billing header that changes every call, the whole history every call."""
    tools = [_tool(rng, n) for n in rng.sample(TOOL_NAMES, rng.randint(6, 14))]
    api_tools = [
        {
            "name": t["function"]["name"],
            "description": t["function"]["description"],
            "input_schema": t["function"]["parameters"],
        }
        for t in tools
    ]
    prompt = [
        {
            "type": "text",
            "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
            "cache_control": {"type": "ephemeral"},
        },
        {
            "type": "text",
            "text": _text(rng, rng.randint(2500, 4000)),
            "cache_control": {"type": "ephemeral"},
        },
    ]
    reminders = [
        {"type": "text", "text": "<system-reminder>\n" + _text(rng, 60) + "\n</system-reminder>"}
        for _ in range(3)
    ]
    history: list[dict[str, Any]] = [
        {"role": "user", "content": [*reminders, {"type": "text", "text": _text(rng, 40)}]}
    ]
    steps = rng.randint(min(3, max_steps), max_steps)
    for step in range(steps):
        final = step == steps - 1 or rng.random() < 0.05
        billing = {
            "type": "text",
            "text": "x-anthropic-billing-header: cc_version=2.1.197.a3f; "
            f"cc_entrypoint=cli; cch={rng.getrandbits(20):05x};",
        }
        request = {
            "model": "claude-opus-4-5-20251101",
            "max_tokens": 32000,
            "system": [billing, *prompt],
            "messages": [*history[:-1], _marked(history[-1])],
            "tools": api_tools,
            "thinking": {"type": "enabled", "budget_tokens": 31999},
            "metadata": {"user_id": f'{{"device_id":"9c1e","session_id":"{session}"}}'},
            "stream": True,
        }
        if rng.random() < 0.03:
            error = {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
            out.record(session, request, error, status=529, stream=True, endpoint="/v1/messages")
        reply = _claude_reply(rng, tools, final)
        message = {
            "id": f"msg_{rng.getrandbits(64):016x}",
            "type": "message",
            "role": "assistant",
            "model": "claude-opus-4-5-20251101",
            "content": reply,
            "stop_reason": "end_turn" if final else "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 20480, "output_tokens": 300},
        }
        out.record(session, request, message, stream=True, endpoint="/v1/messages")
        if rng.random() < 0.08:  # a title side call: another model, no tools, same session
            title = {
                "model": "claude-haiku-4-5-20251001",
                "max_tokens": 512,
                "system": [billing, {"type": "text", "text": "Write a five-word title."}],
                "messages": [{"role": "user", "content": _text(rng, 30)}],
                "stream": False,
            }
            said = {**message, "content": [{"type": "text", "text": _text(rng, 5)}]}
            out.record(session, title, said, endpoint="/v1/messages")
        history.append({"role": "assistant", "content": reply})
        if final:
            if rng.random() < 0.5:
                break
            history.append({"role": "user", "content": _text(rng, rng.randint(5, 60))})
            continue
        results = []
        for block in reply:
            if block["type"] == "tool_use":
                result = _text(rng, rng.randint(min(20, result_words), result_words))
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": block["id"],
                        "content": result,
                        "is_error": rng.random() < 0.05,
                    }
                )
        history.append({"role": "user", "content": results})


SESSION_KINDS = {
    "chat": generate_session,
    "responses": generate_codex_session,
    "messages": generate_claude_session,
}


def generate(
    out_dir: str,
    megabytes: float,
    seed: int = 1,
    days: int = 3,
    max_steps: int = 80,
    result_words: int = 900,
    apis: tuple[str, ...] = tuple(SESSION_KINDS),
) -> int:
    """Write sessions under out_dir/<day>/ until about `megabytes` MiB; return the bytes written.

    Sessions take turns over `apis` (keys of SESSION_KINDS).
    """
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    total = 0
    number = 0
    while total < target:
        day = f"2026-11-{24 + number % days:02d}"
        os.makedirs(os.path.join(out_dir, day), exist_ok=True)
        session = f"agent-{number:04d}"
        writer = _Writer(os.path.join(out_dir, day, session + ".jsonl"), day)
        try:
            kind = SESSION_KINDS[apis[number % len(apis)]]
            kind(rng, writer, session, max_steps, result_words)
            if rng.random() < 0.05:
                writer.raw("\n")  # a blank line
            if rng.random() < 0.05:
                writer.raw('{"timestamp": "' + day + 'T23:59:59Z", "session_id": "' + session)
        finally:
            writer.handle.close()
        total += writer.bytes
        number += 1
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="log root to write (<day>/<session>.jsonl)")
    parser.add_argument("--mb", type=float, default=100, help="approximate size in MiB")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=80, help="longest agent loop, in calls")
    parser.add_argument(
        "--result-words", type=int, default=900, help="longest tool result, in words"
    )
    parser.add_argument(
        "--apis",
        default=",".join(SESSION_KINDS),
        help="comma-separated session kinds, taking turns: chat (an OpenAI chat agent), "
        "responses (Codex CLI), messages (Claude Code); default all three",
    )
    args = parser.parse_args(argv)
    apis = tuple(a.strip() for a in args.apis.split(",") if a.strip())
    unknown = sorted(set(apis) - set(SESSION_KINDS))
    if unknown or not apis:
        parser.error(
            f"unknown --apis {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(SESSION_KINDS)}"
        )
    written = generate(
        args.out, args.mb, args.seed, args.days, args.max_steps, args.result_words, apis
    )
    print(f"wrote {written / 1048576:.1f} MiB of agent logs under {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
