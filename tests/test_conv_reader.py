"""Reading logs: damaged lines are reported and skipped, unusable records are counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.apis import to_exchange as usable_exchange
from albicilla.conv.apis.common import ChatForm
from albicilla.conv.cli import main
from albicilla.logs.tree import find_session_files

HELLO = [{"role": "user", "content": "Hello"}]
HI = {"role": "assistant", "content": "Hi!"}


def good(messages: list[dict[str, Any]] = HELLO, reply: dict[str, Any] = HI) -> dict[str, Any]:
    return {
        "session_id": "s",
        "request": {"model": "m", "messages": messages},
        "response": {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": reply, "finish_reason": "stop"}],
        },
        "status": 200,
        "stream": False,
        "complete": True,
        "error": None,
        "endpoint": "/v1/chat/completions",
        "schema_version": 1,
    }


def run(tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> tuple[list, str]:
    day = tmp_path / "logs" / "2026-11-26"
    day.mkdir(parents=True)
    (day / "s.jsonl").write_bytes(content)
    argv = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out"), "--single-file"]
    assert main([*argv, "--no-json-tool-calls"]) == 0
    text = (tmp_path / "out" / "conversations.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()], capsys.readouterr().err


def dumps(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


def test_damaged_lines_are_reported_with_file_and_line_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = good(
        [*HELLO, HI, {"role": "user", "content": "Bye"}], {"role": "assistant", "content": "Bye!"}
    )
    content = (
        dumps(good())
        + b"\n"  # line 2: blank
        + b"   \n"  # line 3: blank too
        + b'{"session_id": "s", "request": {"mod\n'  # line 4: torn by a killed writer
        + b"[1, 2]\n"  # line 5: JSON, not an object
        + b'{"text": "\xff\xfe"}\n'  # line 6: not UTF-8
        + dumps(second)  # line 7
        + b'{"session_id": "s", "req'  # line 8: torn last line
    )
    lines, err = run(tmp_path, content, capsys)
    path = tmp_path / "logs" / "2026-11-26" / "s.jsonl"
    assert lines == [
        {
            "messages": [
                *HELLO,
                HI,
                {"role": "user", "content": "Bye"},
                {"role": "assistant", "content": "Bye!"},
            ],
            "tools": [],
        }
    ]
    assert err.splitlines() == [
        f"warning: {path}:2: blank line",
        f"warning: {path}:3: blank line",
        f"warning: {path}:4: not JSON: Invalid control character at column 37",
        f"warning: {path}:5: not a JSON object",
        f"warning: {path}:6: not valid UTF-8",
        f"warning: {path}:8: torn last line (no newline at end of file)",
        "albicilla-conv: 1 files, 2 records read, 2 used, 0 skipped, 6 damaged lines, "
        "1 conversations written, 0 invalid tool arguments",
    ]


def test_a_complete_last_line_without_newline_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, err = run(tmp_path, dumps(good())[:-1], capsys)
    assert lines == [{"messages": [*HELLO, HI], "tools": []}]
    assert "warning" not in err


def test_a_record_after_a_torn_one_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The proxy starts a record on a fresh line when the file ends in a torn one.
    lines, _ = run(tmp_path, b'{"session_id": "s", "requ\n' + dumps(good()), capsys)
    assert lines == [{"messages": [*HELLO, HI], "tools": []}]


def test_unusable_records_are_counted_by_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {**good(), "status": 500, "response": {"error": {"message": "boom"}}}
    cut = {**good(), "complete": False, "error": "client disconnected"}
    embeddings = {**good(), "endpoint": "/v1/embeddings"}
    empty = {**good(), "response": {"object": "chat.completion", "choices": []}}
    records = [error, cut, embeddings, empty, good()]
    lines, err = run(tmp_path, b"".join(dumps(r) for r in records), capsys)
    assert lines == [{"messages": [*HELLO, HI], "tools": []}]
    assert err.splitlines() == [
        "albicilla-conv: 1 files, 5 records read, 1 used, 4 skipped (incomplete: 1, "
        "no choices: 1, other endpoint: 1, status not 200: 1), 0 damaged lines, "
        "1 conversations written, 0 invalid tool arguments"
    ]


SKIPS = {
    "status 500": ({"status": 500}, "status not 200"),
    "status 429 with an error body": (
        {"status": 429, "response": {"error": {"message": "slow down"}}},
        "status not 200",
    ),
    "complete false": ({"complete": False}, "incomplete"),
    "an endpoint not for training": ({"endpoint": "/v1/embeddings"}, "other endpoint"),
    "a chat body on /v1/responses": ({"endpoint": "/v1/responses"}, "not a response"),
    "an error body with status 200": ({"response": {"error": {"message": "x"}}}, "no choices"),
    "a choice without a message": (
        {"response": {"object": "chat.completion", "choices": [{"index": 0}]}},
        "no choices",
    ),
    "a response that is not a chat completion": (
        {"response": {"object": "text_completion", "choices": [{"text": "hi"}]}},
        "not a chat completion",
    ),
    "a request without messages": (
        {"request": {"model": "m", "prompt": "x"}},
        "no request messages",
    ),
    "no response at all": ({"response": None}, "no choices"),
}


@pytest.mark.parametrize("change, reason", SKIPS.values(), ids=SKIPS.keys())
def test_usable_exchange_skip_reasons(change: dict[str, Any], reason: str) -> None:
    assert usable_exchange({**good(), **change}) == reason


def test_usable_exchange_takes_every_choice_and_ignores_unknown_fields() -> None:
    record = good()
    record["response"]["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "Yo"}}
    )
    record["future_field"] = {"anything": True}
    del record["endpoint"]  # older records may not say; they are chat completions
    assert usable_exchange(record) == ChatForm(
        HELLO, [HI, {"role": "assistant", "content": "Yo"}], []
    )


def test_a_reply_without_a_role_is_an_assistant_reply() -> None:
    record = good(reply={"content": "Hi!"})
    assert usable_exchange(record) == ChatForm(HELLO, [HI], [])


def test_session_files_are_found_per_day_in_sorted_order(tmp_path: Path) -> None:
    for day, name in [
        ("2026-11-27", "b.jsonl"),
        ("2026-11-26", "z.jsonl"),
        ("2026-11-26", "a.jsonl"),
    ]:
        (tmp_path / day).mkdir(exist_ok=True)
        (tmp_path / day / name).write_text("")
    (tmp_path / "stray.jsonl").write_text("")  # not in a day directory
    (tmp_path / "2026-11-26" / "notes.txt").write_text("")
    (tmp_path / "2026-11-26" / "nested").mkdir()
    found = [f.label for f in find_session_files(str(tmp_path))]
    assert found == ["2026-11-26/a.jsonl", "2026-11-26/z.jsonl", "2026-11-27/b.jsonl"]


def test_too_deeply_nested_line_is_damage_not_a_crash(tmp_path):
    from albicilla.logs.records import iter_records

    path = tmp_path / "s.jsonl"
    deep = b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}\n"
    path.write_bytes(deep + b'{"ok": 1}\n')
    damage = []
    records = list(iter_records(path, lambda number, reason: damage.append((number, reason))))
    assert records == [(2, {"ok": 1})]
    assert damage == [(1, "JSON nested too deeply")]
