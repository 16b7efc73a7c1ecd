"""`albicilla-conv --redact` and `--anonymize-emails`: after the fold, counted, deterministic."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from albicilla.conv.cli import main
from albicilla.conv.convert import convert
from albicilla.conv.session import Options

GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
TAG = "[REDACTED:github_token]"


def record(messages: list[dict[str, Any]], reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-26T10:00:00.000000Z",
        "session_id": "s",
        "request": {"model": "m", "messages": messages},
        "response": {"object": "chat.completion", "choices": [{"index": 0, "message": reply}]},
        "status": 200,
        "stream": False,
        "complete": True,
        "error": None,
        "duration_ms": 1.0,
        "endpoint": "/v1/chat/completions",
        "schema_version": 1,
    }


ARGS = json.dumps({"cmd": f"gh auth login --with-token {GITHUB}"})
CALL = {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": ARGS}}
USER = {"role": "user", "content": f"My token is {GITHUB}, mail ada@corp.io"}
ASK = {"role": "assistant", "content": None, "tool_calls": [CALL]}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "logged in as ada@corp.io"}
DONE = {"role": "assistant", "content": "Done, ada@corp.io."}
# The second call resends the first with its reply: one conversation.
LOGS = [record([USER], ASK), record([USER, ASK, RESULT], DONE)]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / "2026-11-26" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in LOGS))
    return tmp_path / "logs"


def run(logs: Path, out: Path, *flags: str) -> list[dict[str, Any]]:
    assert main(["--logs", str(logs), "--output", str(out), "--single-file", *flags]) == 0
    text = (out / "conversations.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_redact_folds_the_same_and_replaces_the_secret_everywhere(logs: Path, tmp_path: Path):
    plain = run(logs, tmp_path / "plain", "--no-json-tool-calls")
    redacted = run(logs, tmp_path / "red", "--no-json-tool-calls", "--redact")
    assert len(plain) == len(redacted) == 1
    messages = redacted[0]["messages"]
    assert messages[0]["content"] == f"My token is {TAG}, mail ada@corp.io"
    arguments = messages[1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"cmd": f"gh auth login --with-token {TAG}"}
    # Everything else as without --redact (the arguments' JSON is written the same way).
    assert json.dumps(redacted) == json.dumps(plain).replace(GITHUB, TAG)


def test_json_tool_call_format_gets_redacted_arguments(logs: Path, tmp_path: Path) -> None:
    [line] = run(logs, tmp_path / "out", "--redact")
    call = line["messages"][1]["content"]
    assert call.startswith("<tool_call>") and GITHUB not in call
    payload = json.loads(call.removeprefix("<tool_call>").removesuffix("</tool_call>"))
    assert payload == {"name": "sh", "arguments": {"cmd": f"gh auth login --with-token {TAG}"}}


def test_summary_line_counts_redactions_by_kind(logs: Path, tmp_path: Path, capsys) -> None:
    run(logs, tmp_path / "out", "--redact", "--anonymize-emails")
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    # One conversation: the user text and the call's arguments hold the token; three messages
    # hold the address.
    assert summary.endswith(", 5 redactions (email: 3, github_token: 2)"), summary


def test_summary_says_zero_redactions_when_asked_and_none_found(tmp_path: Path, capsys) -> None:
    path = tmp_path / "logs" / "2026-11-26" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record([{"role": "user", "content": "hi"}], DONE)) + "\n")
    run(tmp_path / "logs", tmp_path / "out", "--redact")
    assert capsys.readouterr().err.strip().endswith(", 0 redactions")


def test_summary_has_no_redaction_part_without_the_flags(logs: Path, tmp_path: Path, capsys):
    run(logs, tmp_path / "out")
    assert "redactions" not in capsys.readouterr().err


def test_stats_expose_the_counts_as_a_counter(logs: Path, tmp_path: Path) -> None:
    options = Options(logs=(str(logs),), output=str(tmp_path / "out"), redact=True)
    stats = convert(options, io.StringIO())
    assert stats.redactions == {"github_token": 2}


def test_same_key_gives_same_bytes_and_another_key_other_pseudonyms(logs: Path, tmp_path: Path):
    flags = ("--redact", "--anonymize-emails", "--redaction-key")
    first = run(logs, tmp_path / "a", *flags, "k1")
    assert run(logs, tmp_path / "b", *flags, "k1") == first
    assert (tmp_path / "a" / "conversations.jsonl").read_bytes() == (
        tmp_path / "b" / "conversations.jsonl"
    ).read_bytes()
    other = run(logs, tmp_path / "c", *flags, "k2")
    text, other_text = json.dumps(first), json.dumps(other)
    assert "ada@corp.io" not in text and text != other_text


def test_the_key_may_come_from_the_environment(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = run(logs, tmp_path / "a", "--anonymize-emails", "--redaction-key", "k1")
    monkeypatch.setenv("ALBICILLA_REDACTION_KEY", "k1")
    assert run(logs, tmp_path / "b", "--anonymize-emails") == given
    assert run(logs, tmp_path / "c", "--anonymize-emails", "--redaction-key", "k2") != given
    monkeypatch.setenv("ALBICILLA_REDACTION_KEY", "")  # empty is unset: a random key per run
    assert run(logs, tmp_path / "d", "--anonymize-emails") != run(
        logs, tmp_path / "e", "--anonymize-emails"
    )


def test_same_address_same_pseudonym_within_a_run(logs: Path, tmp_path: Path) -> None:
    [line] = run(logs, tmp_path / "out", "--anonymize-emails")
    text = json.dumps(line)
    found = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    assert len(found) == 3 and len(set(found)) == 1
    assert re.fullmatch(r"user-[0-9a-f]{12}@example\.com", found[0])


def test_without_a_key_each_run_has_its_own_pseudonyms(logs: Path, tmp_path: Path) -> None:
    first = run(logs, tmp_path / "a", "--anonymize-emails")
    second = run(logs, tmp_path / "b", "--anonymize-emails")
    assert first != second


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--redaction-key", "k"], "--redaction-key only keys --anonymize-emails"),
        (["--anonymize-emails", "--redaction-key", ""], "--redaction-key must not be empty"),
    ],
)
def test_bad_redaction_flags_are_one_line_and_exit_2(logs, tmp_path, capsys, flags, message):
    status = main(["--logs", str(logs), "--output", str(tmp_path / "out"), *flags])
    assert status == 2
    assert capsys.readouterr().err == f"albicilla-conv: error: {message}\n"


def test_workers_share_one_random_key_so_an_address_has_one_pseudonym(logs: Path, tmp_path: Path):
    day = logs / "2026-11-26"
    for name in ("t", "u", "v"):  # more session files than workers, the same address in each
        (day / f"{name}.jsonl").write_bytes((day / "s.jsonl").read_bytes())
    lines = run(logs, tmp_path / "out", "--anonymize-emails", "--jobs", "2")
    assert len(lines) == 4
    pseudonyms = {
        m for line in lines for m in re.findall(r"user-[0-9a-f]+@example\.com", json.dumps(line))
    }
    assert len(pseudonyms) == 1
    # Another run draws another key: another pseudonym.
    again = run(logs, tmp_path / "again", "--anonymize-emails", "--jobs", "2")
    assert re.findall(r"user-[0-9a-f]+@example\.com", json.dumps(again))[0] not in pseudonyms
