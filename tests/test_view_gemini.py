"""albicilla-view over Gemini records: Gemini CLI told apart, the gemini API, models from the
record's `model`, tokens from `usageMetadata` (the report counts the same), turns rendered."""

from __future__ import annotations

import json
from pathlib import Path

from albicilla.conv.cli import main as conv_main
from albicilla.view import create_app
from albicilla.view.settings import ViewSettings

DAY = "2026-12-01"
STREAM = "/v1beta/models/{model}:streamGenerateContent"
UNARY = "/v1beta/models/{model}:generateContent"
CONTEXT = (
    "<session_context>\nThis is the Gemini CLI. We are setting up the context for our chat.\n"
    "Today's date is Tuesday, December 1, 2026.\n</session_context>"
)
PROMPT = {"role": "user", "parts": [{"text": CONTEXT}, {"text": "list the files, then stop"}]}
TOOLS = [
    {
        "functionDeclarations": [
            {
                "name": "run_shell_command",
                "description": "Runs a shell command",
                "parametersJsonSchema": {"type": "object"},
            }
        ]
    }
]
CALL = {"name": "run_shell_command", "args": {"command": "ls"}}


def record(contents, parts, usage, *, model="gemini-3.1-pro-preview", endpoint=STREAM, **request):
    body = {
        "contents": contents,
        "systemInstruction": {"role": "user", "parts": [{"text": "You are an interactive agent."}]},
        "tools": TOOLS,
        **request,
    }
    return {
        "timestamp": f"{DAY}T10:00:00.000000Z",
        "session_id": "gem-session-1",
        "endpoint": endpoint,
        "model": model,
        "request": body,
        "response": {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": usage,
            "modelVersion": model,
        },
        "status": 200,
        "stream": endpoint == STREAM,
        "complete": True,
        "error": None,
        "duration_ms": 40,
        "schema_version": 1,
    }


def gemini_cli_session() -> list[dict]:
    router = record(
        [{"role": "user", "parts": [{"text": "list the files, then stop"}]}],
        [{"text": '{"complexity_reasoning": "simple", "complexity_score": 8}'}],
        {"promptTokenCount": 300, "candidatesTokenCount": 20, "totalTokenCount": 320},
        model="gemini-3.5-flash-lite",
        endpoint=UNARY,
        systemInstruction={"parts": [{"text": "You are a specialized Task Routing AI."}]},
        tools=[],
    )
    first = record(
        [PROMPT],
        [{"text": "Listing.", "thought": True}, {"functionCall": CALL, "thoughtSignature": "S1"}],
        {"promptTokenCount": 1200, "candidatesTokenCount": 30, "thoughtsTokenCount": 7},
    )
    result = {
        "functionResponse": {
            "name": "run_shell_command",
            "id": "run_shell_command_1_0",
            "response": {"output": "README.md\nsetup.py"},
        }
    }
    second = record(
        [
            PROMPT,
            {"role": "model", "parts": [{"functionCall": {**CALL, "id": "run_shell_command_1_0"}}]},
            {"role": "user", "parts": [result]},
        ],
        [{"text": "There are two files: README.md and setup.py."}],
        {"promptTokenCount": 1300, "candidatesTokenCount": 15, "cachedContentTokenCount": 1000},
    )
    return [router, first, second]


def write_root(root: Path) -> None:
    (root / DAY).mkdir(parents=True)
    lines = [json.dumps(r) for r in gemini_cli_session()]
    (root / DAY / "gem-session-1.jsonl").write_text("\n".join(lines) + "\n")
    sdk = record(
        [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}],
        [{"text": "Rayleigh scattering."}],
        {"promptTokenCount": 9, "candidatesTokenCount": 4},
        model="gemini-2.5-flash",
        endpoint=UNARY,
        systemInstruction=None,
        tools=None,
    )
    (root / DAY / "sdk-call.jsonl").write_text(json.dumps({**sdk, "session_id": "sdk-call"}) + "\n")


def client(root: Path):
    app = create_app(ViewSettings((str(root),), background=False))
    app.config["TESTING"] = True
    return app.test_client()


def test_gemini_cli_sessions_are_named_with_their_api_models_and_tokens(tmp_path):
    write_root(tmp_path)
    rows = {r["session"]: r for r in client(tmp_path).get("/api/sessions").get_json()}
    gemini = rows["gem-session-1"]
    assert gemini["client"] == "Gemini CLI"
    assert gemini["apis"] == ["gemini"] and gemini["records"] == 3
    assert gemini["models"] == ["gemini-3.1-pro-preview", "gemini-3.5-flash-lite"]
    assert gemini["tokens_in"] == 300 + 1200 + 1300
    assert gemini["tokens_out"] == 20 + (30 + 7) + 15  # thoughts are output
    assert rows["sdk-call"]["client"] == "other" and rows["sdk-call"]["apis"] == ["gemini"]
    page = client(tmp_path).get("/?api=gemini").get_data(as_text=True)
    assert "gem-session-1" in page and "Gemini CLI" in page


def test_the_report_counts_gemini_models_and_tokens_as_the_viewer_does(tmp_path):
    write_root(tmp_path / "logs")
    report = tmp_path / "report.json"
    args = ["--logs", str(tmp_path / "logs"), "--output", str(tmp_path / "out")]
    assert conv_main([*args, "--report", str(report)]) == 0
    counted = json.loads(report.read_text())
    assert counted["models"] == {
        "gemini-2.5-flash": 1,
        "gemini-3.1-pro-preview": 2,
        "gemini-3.5-flash-lite": 1,
    }
    usage = counted["usage"]
    assert usage["records_with_usage"] == 4
    assert usage["input_tokens"] == 300 + 1200 + 1300 + 9
    assert usage["output_tokens"] == 20 + 37 + 15 + 4
    assert (usage["reasoning_tokens"], usage["cached_input_tokens"]) == (7, 1000)


def test_a_gemini_session_page_shows_prompt_tool_call_and_answer(tmp_path):
    write_root(tmp_path)
    viewer = client(tmp_path)
    page = viewer.get("/session/gem-session-1").get_data(as_text=True)
    assert "list the files, then stop" in page  # the prompt
    assert "run_shell_command" in page and "&#34;command&#34;: &#34;ls&#34;" in page
    assert "There are two files: README.md and setup.py." in page  # the answer
    assert "continues exchange 2" in page
    conversations = viewer.get("/session/gem-session-1?tab=conversations").get_data(as_text=True)
    assert "Main loop" in conversations and "README.md\nsetup.py" in conversations
    record = viewer.get("/session/gem-session-1/record/2").get_data(as_text=True)
    assert "thoughtSignature" in record and "usageMetadata" in record
    dataset = viewer.get("/session/gem-session-1/dataset").get_data(as_text=True)
    assert "run_shell_command" in dataset
