"""Each rule of the Responses and Anthropic mappings, one record at a time, checked by hand."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fixtures.agent_sessions import codex_session, record

from albicilla.conv.apis import to_exchange
from albicilla.conv.apis.common import ChatForm, Context
from albicilla.conv.keys import message_key
from albicilla.logs.records import iter_records
from albicilla.logs.tree import find_session_files


def responses(request: dict[str, Any], output: list[Any], **response: Any) -> dict[str, Any]:
    body = {"id": "resp_1", "object": "response", "status": "completed", "output": output}
    return record("/v1/responses", {"model": "m", **request}, {**body, **response})


def anthropic(request: dict[str, Any], content: list[Any]) -> dict[str, Any]:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": content}
    return record("/v1/messages", {"model": "m", "max_tokens": 64, **request}, message)


def mapped(rec: dict[str, Any], dropped: Counter[str] | None = None) -> ChatForm | str:
    return to_exchange(rec, Context(dropped if dropped is not None else Counter()))


def said(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --- Responses ---------------------------------------------------------------------------------


def test_instructions_lead_and_a_string_input_is_one_user_message() -> None:
    rec = responses({"instructions": "Be brief.", "input": "Hi"}, [said("Hello")])
    assert mapped(rec) == ChatForm(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        [{"role": "assistant", "content": "Hello"}],
        [],
    )


def test_assistant_side_items_merge_into_one_message_until_another_item() -> None:
    items = [
        {"role": "user", "content": "Look around"},  # no `type`: a message
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}]},
        said("I will list files."),
        {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "b"}]},
        {"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"},
        {
            "type": "function_call",
            "call_id": "c2",
            "name": "pwd",
            "arguments": "",
            "namespace": "sh",
        },
        {"type": "function_call_output", "call_id": "c1", "output": "a.py"},
        {"type": "function_call_output", "call_id": "c2", "output": "/repo"},
    ]
    exchange = mapped(responses({"input": items}, [said("Two"), said("answers")]))
    assert exchange == ChatForm(
        [
            {"role": "user", "content": "Look around"},
            {
                "role": "assistant",
                "content": "I will list files.",
                "reasoning_content": "a\n\nb",
                "tool_calls": [call("c1", "ls", "{}"), call("c2", "sh.pwd", "")],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "a.py"},
            {"role": "tool", "tool_call_id": "c2", "content": "/repo"},
        ],
        [{"role": "assistant", "content": "Two\nanswers"}],  # two message items: a newline
        [],
    )


def test_reply_and_its_resent_items_have_the_same_keys() -> None:
    output = [
        {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "phase": "commentary",
            "content": [{"type": "output_text", "text": "Patching.", "annotations": [{"x": 1}]}],
        },
        {
            "id": "ctc_1",
            "type": "custom_tool_call",
            "call_id": "c",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** End Patch",
            "status": "completed",
        },
    ]
    first = mapped(responses({"input": "Fix it"}, output))
    # Resent as Codex does: without ids and status.
    resent = [{k: v for k, v in item.items() if k not in ("id", "status")} for item in output]
    later = mapped(
        responses({"input": [{"role": "user", "content": "Fix it"}, *resent]}, [said("Done")])
    )
    assert isinstance(first, ChatForm) and isinstance(later, ChatForm)
    assert first.replies[0] == {
        "role": "assistant",
        "content": "Patching.",
        "tool_calls": [call("c", "apply_patch", '{"input": "*** Begin Patch\\n*** End Patch"}')],
    }
    assert [message_key(m) for m in [*first.messages, *first.replies]] == [
        message_key(m) for m in later.messages
    ]


def test_hosted_tool_items_are_dropped_and_counted_once_in_the_reply() -> None:
    search = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {}}
    dropped: Counter[str] = Counter()
    exchange = mapped(
        responses(
            {"input": [{"role": "user", "content": "News?"}, search]}, [search, said("None")]
        ),
        dropped,
    )
    assert exchange == ChatForm(
        [{"role": "user", "content": "News?"}], [{"role": "assistant", "content": "None"}], []
    )
    assert dropped == {"hosted tool item": 1}


def test_additional_tools_item_adds_tools_and_is_not_a_message() -> None:
    extra = {
        "type": "additional_tools",
        "role": "developer",
        "tools": [
            {
                "type": "namespace",
                "name": "functions",
                "description": "Tools.",
                "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}],
            },
            {
                "type": "custom",
                "name": "exec",
                "description": "Run JS.",
                "format": {"type": "text"},
            },
        ],
    }
    rec = responses(
        {
            "input": [
                {"role": "developer", "content": "Prompt"},
                extra,
                {"role": "user", "content": "Go"},
            ],
            "tools": [{"type": "web_search"}],
        },
        [said("Ok")],
    )
    assert mapped(rec) == ChatForm(
        [{"role": "developer", "content": "Prompt"}, {"role": "user", "content": "Go"}],
        [{"role": "assistant", "content": "Ok"}],
        [
            {
                "type": "function",
                # `functions` is the default namespace: calls name its tools bare (see the real
                # Codex fixture, whose `custom_tool_call` is named `exec`).
                "function": {"name": "shell", "parameters": {"type": "object"}},
            },
            {
                "type": "function",
                "function": {
                    "name": "exec",
                    "description": "Run JS.",
                    "parameters": {
                        "type": "object",
                        "properties": {"input": {"type": "string"}},
                        "required": ["input"],
                    },
                },
            },
        ],
    )


def test_non_text_parts_become_chat_parts() -> None:
    user = {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
            {"type": "input_image", "file_id": "file-9"},
        ],
    }
    exchange = mapped(responses({"input": [user]}, [said("A cat")]))
    assert isinstance(exchange, ChatForm)
    assert exchange.messages == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "file_id:file-9"}},
            ],
        }
    ]


SKIPPED_RESPONSES = {
    "incomplete response": (
        responses({"input": "x"}, [said("cut")], status="incomplete"),
        "response incomplete",
    ),
    "item_reference": (
        responses({"input": [{"type": "item_reference", "id": "msg_0"}]}, [said("x")]),
        "missing context",
    ),
    "compaction": (
        responses({"input": [{"type": "compaction", "encrypted_content": "e"}]}, [said("x")]),
        "compacted",
    ),
    "parent not logged": (
        responses({"input": "x", "previous_response_id": "resp_0"}, [said("x")]),
        "missing context",
    ),
    "server conversation": (
        responses({"input": "x", "conversation": "conv_1"}, [said("x")]),
        "missing context",
    ),
    "output only hosted": (
        responses({"input": "x"}, [{"type": "web_search_call"}]),
        "no response output",
    ),
    "cut stream": ({**responses({"input": "x"}, [said("x")]), "complete": False}, "incomplete"),
    "status 500": ({**responses({"input": "x"}, [said("x")]), "status": 500}, "status not 200"),
}


@pytest.mark.parametrize("rec, reason", SKIPPED_RESPONSES.values(), ids=SKIPPED_RESPONSES.keys())
def test_unusable_responses_records_are_skipped_with_a_reason(
    rec: dict[str, Any], reason: str
) -> None:
    assert mapped(rec) == reason


# --- Anthropic ---------------------------------------------------------------------------------


def test_billing_header_is_dropped_and_system_blocks_joined() -> None:
    system = [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.a3f; cch=1;"},
        {"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Two."},
    ]
    rec = anthropic(
        {"system": system, "messages": [{"role": "user", "content": "Hi"}]},
        [{"type": "text", "text": "Hello"}],
    )
    assert mapped(rec) == ChatForm(
        [{"role": "system", "content": "One.\nTwo."}, {"role": "user", "content": "Hi"}],
        [{"role": "assistant", "content": "Hello"}],
        [],
    )


def test_a_billing_header_line_leading_a_system_string_is_dropped_alone() -> None:
    system = "x-anthropic-billing-header: cc_version=2.1.197.a3f; cch=1;\nBe brief."
    rec = anthropic(
        {"system": system, "messages": [{"role": "user", "content": "Hi"}]},
        [{"type": "text", "text": "Hello"}],
    )
    exchange = mapped(rec)
    assert isinstance(exchange, ChatForm)
    assert exchange.messages[0] == {"role": "system", "content": "Be brief."}


def test_tool_results_come_before_the_users_other_blocks() -> None:
    turn = {
        "role": "user",
        "content": [
            {"type": "text", "text": "Also check b.py"},
            {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": False},
            {
                "type": "tool_result",
                "tool_use_id": "t2",
                "is_error": True,
                "content": [{"type": "text", "text": "No such"}, {"type": "text", "text": "file"}],
            },
        ],
    }
    exchange = mapped(anthropic({"messages": [turn]}, [{"type": "text", "text": "Ok"}]))
    assert isinstance(exchange, ChatForm)
    assert exchange.messages == [
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {"role": "tool", "tool_call_id": "t2", "content": "No such\nfile", "_is_error": True},
        {"role": "user", "content": "Also check b.py"},
    ]


def test_assistant_blocks_become_one_message_and_unparsed_input_stays_raw() -> None:
    dropped: Counter[str] = Counter()
    reply = [
        {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"q": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
        {"type": "text", "text": "Found ", "citations": [{"url": "u"}]},
        {"type": "text", "text": "it."},
        {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "ü.py"}},
        {
            "type": "tool_use",
            "id": "t2",
            "name": "Edit",
            "input": '{"path": "a.py", "old',
            "_invalid_input": True,
        },
    ]
    exchange = mapped(anthropic({"messages": [{"role": "user", "content": "Go"}]}, reply), dropped)
    assert isinstance(exchange, ChatForm)
    assert exchange.replies == [
        {
            "role": "assistant",
            "content": "Found it.",
            "reasoning_content": "Hmm.",
            "tool_calls": [
                call("t1", "Read", '{"path": "ü.py"}'),
                call("t2", "Edit", '{"path": "a.py", "old'),
            ],
        }
    ]
    assert dropped == {"redacted thinking": 1, "server tool block": 2}


def test_reply_to_a_prefill_continues_the_assistant_turn() -> None:
    turns = [
        {"role": "user", "content": "Answer in JSON."},
        {"role": "assistant", "content": [{"type": "text", "text": '{"answer": '}]},
    ]
    exchange = mapped(anthropic({"messages": turns}, [{"type": "text", "text": "42}"}]))
    assert exchange == ChatForm(
        [{"role": "user", "content": "Answer in JSON."}],
        [{"role": "assistant", "content": '{"answer": 42}'}],
        [],
    )


def test_mid_conversation_system_messages_stay_where_they_stand() -> None:
    turns = [
        {"role": "user", "content": "Start"},
        {"role": "assistant", "content": "Started"},
        {"role": "system", "content": [{"type": "text", "text": "Context was compacted."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Before"},
                {"type": "mid_conv_system", "content": [{"type": "text", "text": "Mode: plan"}]},
                {"type": "text", "text": "After"},
            ],
        },
    ]
    exchange = mapped(anthropic({"messages": turns}, [{"type": "text", "text": "Ok"}]))
    assert isinstance(exchange, ChatForm)
    assert exchange.messages == [
        {"role": "user", "content": "Start"},
        {"role": "assistant", "content": "Started"},
        {"role": "system", "content": "Context was compacted."},
        {"role": "user", "content": "Before"},
        {"role": "system", "content": "Mode: plan"},
        {"role": "user", "content": "After"},
    ]


def test_images_become_image_url_parts() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
    }
    linked = {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}
    turn = {"role": "user", "content": [{"type": "text", "text": "See"}, image, linked]}
    exchange = mapped(anthropic({"messages": [turn]}, [{"type": "text", "text": "Ok"}]))
    assert isinstance(exchange, ChatForm)
    assert exchange.messages[0]["content"] == [
        {"type": "text", "text": "See"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
    ]


def test_client_tools_become_function_tools_and_server_tools_are_left_out() -> None:
    tools = [
        {
            "name": "Read",
            "description": "Read a file.",
            "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral"},
        },
        {"type": "web_search_20250305", "name": "web_search"},
        {"type": "bash_20250124", "name": "bash"},
    ]
    rec = anthropic(
        {"messages": [{"role": "user", "content": "Hi"}], "tools": tools},
        [{"type": "text", "text": "Hello"}],
    )
    exchange = mapped(rec)
    assert isinstance(exchange, ChatForm)
    assert exchange.tools == [
        {
            "type": "function",
            "function": {
                "name": "Read",
                "description": "Read a file.",
                "parameters": {"type": "object"},
            },
        }
    ]


def test_text_blocks_and_the_same_plain_string_have_the_same_key() -> None:
    blocks = {
        "role": "user",
        "content": [
            {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "b"},
        ],
    }
    assert message_key(blocks) == message_key({"role": "user", "content": "a\nb"})


def test_non_text_parts_compare_without_cache_markers() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}
    marked = {**image, "cache_control": {"type": "ephemeral"}}
    text = {"type": "text", "text": "See"}
    assert message_key({"role": "user", "content": [text, marked]}) == message_key(
        {"role": "user", "content": [text, image]}
    )
    other = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert message_key({"role": "user", "content": [text, other]}) != message_key(
        {"role": "user", "content": [text, image]}
    )


# --- resent prefixes are mapped once ------------------------------------------------------------


def bench_corpus(tmp_path: Path) -> list[dict[str, Any]]:
    """Every record of a small generated corpus of all three clients, in file order."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    try:
        from gen_agent_logs import generate
    finally:
        sys.path.pop(0)
    generate(str(tmp_path), 2, seed=3, max_steps=12, result_words=40)
    records = []
    for session in find_session_files(str(tmp_path)):
        records.extend(r for _, r in iter_records(session.path, lambda number, reason: None))
    return records


def test_a_resent_prefix_maps_to_what_mapping_it_anew_gives(tmp_path: Path) -> None:
    records = bench_corpus(tmp_path)
    shared = Context()
    seen: set[int] = set()  # ids of messages of earlier exchanges, all kept alive in `kept`
    kept, reused = [], Counter()
    for rec in records:
        exchange = to_exchange(rec, shared)
        assert exchange == to_exchange(rec, Context())
        if isinstance(exchange, ChatForm):
            reused[rec["endpoint"]] += any(id(m) in seen for m in exchange.messages)
            seen.update(id(m) for m in exchange.messages)
            kept.append(exchange)
    # Codex and Claude Code sessions resend their history: later calls reuse mapped messages.
    assert reused["/v1/responses"] > 10 and reused["/v1/messages"] > 10
    assert reused["/v1/chat/completions"] == 0  # chat messages are taken as they are


def test_a_resent_history_reuses_the_messages_already_mapped() -> None:
    shared = Context()
    first, _, second, third = (to_exchange(rec, shared) for rec in codex_session())
    assert isinstance(second, ChatForm) and isinstance(third, ChatForm)
    # The developer prompt and the task, mapped once for the first record, are the same objects.
    assert isinstance(first, ChatForm)
    assert all(a is b for a, b in zip(first.messages, third.messages[:2], strict=True))
    assert third.messages[:4] == second.messages[:4]


def test_real_codex_session_names_its_calls_as_its_tools() -> None:
    """The captured Codex session (default model): every called tool is in the tools list."""
    out = Path(__file__).parent / "fixtures" / "real_agents"
    files = [f for f in find_session_files(str(out)) if f.path.endswith("0ede731b3c95.jsonl")]
    assert len(files) == 1
    names = set()
    called = set()
    for _, logged in iter_records(files[0].path, lambda *_: None):
        exchange = mapped(logged)
        names |= {t["function"]["name"] for t in exchange.tools}
        for message in [*exchange.messages, *exchange.replies]:
            called |= {c["function"]["name"] for c in message.get("tool_calls") or []}
    assert called == {"exec"} and called <= names
