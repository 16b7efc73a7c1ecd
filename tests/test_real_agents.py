"""Claude Code, Codex CLI and Gemini CLI, run for real through gunicorn against fake models, and
their logs.

Claude Code and Codex talk to `support.fake_model`, Gemini CLI to `support.fake_gemini` (the
proxy's `PROXY_GEMINI_ENDPOINT`). The agents come from `node_modules/.bin` under
`$ALBICILLA_AGENTS` or the repo's `.agents` (`.ci/install-agents` fills it); without them these
tests skip and say so. The agents get an
empty HOME, fake keys and a local sink as their HTTP(S) proxy, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from albicilla.proxy.sessions import session_file_name
from support import fake_gemini
from support.fake_gemini import FakeGemini
from support.fake_model import FINAL_TEXT, FakeModel, serving
from support.need import missing
from support.procs import BIN, ROOT, Running, Watched, gunicorn, watched_server

pytestmark = [pytest.mark.e2e, pytest.mark.agents]

AGENTS_ENV = "ALBICILLA_AGENTS"
CAPTURE_ENV = "ALBICILLA_AGENTS_CAPTURE"  # a directory: the run's log tree is copied there
CLAUDE_KEY = "sk-ant-fake-7d41c9e0b2a84f3e9a11"
CODEX_KEY = "sk-fake-codex-5b8e2f10c7d94a61be07"
GEMINI_KEY = "AIzaFakeGemini-3c9d0e8a51f24b7786c2"
KEYS = (CLAUDE_KEY, CODEX_KEY, GEMINI_KEY)
GEMINI = "/v1beta/"  # every Gemini CLI call is under it
GEMINI_SETTINGS = {  # docs/gemini.md: API-key auth, a trusted folder, no usage statistics
    "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
    "privacy": {"usageStatisticsEnabled": False},
}
PROMPT = "say hi, then run echo"
RUN_TIMEOUT = 180
TOOL_OUTPUT = "hello-from-tool"
CODEX_CONFIG = """\
model_provider = "fake"
check_for_update_on_startup = false
{model}
[model_providers.fake]
name = "fake"
base_url = "{url}/v1"
wire_api = "responses"
env_key = "FAKE_KEY"

[analytics]
enabled = false

[features]
plugins = false
apps = false
"""


def agent(name: str) -> Path:
    """The installed agent's launcher, or a skip (a failure in CI) that says how to install it."""
    for base in (os.environ.get(AGENTS_ENV), ROOT / ".agents"):
        if base and (path := Path(base) / "node_modules" / ".bin" / name).exists():
            if shutil.which("node") is None:
                missing(f"{name} is installed at {path} but node is not on PATH")
            return path
    missing(
        f"{name} is not installed: run .ci/install-agents, or set {AGENTS_ENV} to a "
        f"directory holding node_modules/.bin/{name}"
    )


@dataclass
class Run:
    """One agent run: its session id, what the fake model saw, the records of its session."""

    stack: Stack
    session: str
    stdout: str
    seen: list[dict[str, Any]]
    files: list[Path]
    records: list[dict[str, Any]]
    exe: Path
    env: dict[str, str]
    cwd: Path
    endpoint: str


@dataclass
class Stack:
    model: FakeModel
    gemini: FakeGemini
    sink: Watched
    proxy: Running
    log_root: Path
    tmp: Path
    runs: dict[str, Run] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("agents")
    log_root = tmp / "logs"
    with (
        serving() as model,
        fake_gemini.serving() as gemini,
        watched_server() as sink,
        gunicorn(model.url, log_root, tmp, workers=2, PROXY_GEMINI_ENDPOINT=gemini.url) as proxy,
    ):
        yield Stack(model, gemini, sink, proxy, log_root, tmp)
    if capture := os.environ.get(CAPTURE_ENV):  # refresh tests/fixtures/real_agents with these
        shutil.copytree(log_root, capture, dirs_exist_ok=True)


def agent_env(stack: Stack, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of this machine's config, every proxy pointing at the sink."""
    home.mkdir(parents=True)
    sink = f"http://127.0.0.1:{stack.sink.port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = sink
    return env | extra


def session_of(seen: dict[str, Any]) -> str:
    """The session id a call names: Claude Code's header, Codex's cache key, or for Gemini CLI
    `X-Session-Id` (from GEMINI_CLI_CUSTOM_HEADERS) else `key-` and 16 hex of the key's SHA-256."""
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    if "x-goog-api-key" in headers:
        return headers.get("x-session-id") or (
            "key-" + hashlib.sha256(headers["x-goog-api-key"].encode()).hexdigest()[:16]
        )
    return headers.get("x-claude-code-session-id") or seen["body"]["prompt_cache_key"]


def run_agent(
    stack: Stack, command: list[str], env: dict[str, str], stdin: str, cwd: Path, endpoint: str
) -> Run:
    """Run an agent to its end; collect what the fake model saw and its session's records."""
    model = stack.gemini if endpoint == GEMINI else stack.model
    before = len(model.log)
    cwd.mkdir(exist_ok=True)
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=RUN_TIMEOUT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = [e for e in model.log[before:] if e["path"].startswith(endpoint)]
    assert seen, f"the fake model saw no {endpoint} request; agent stderr: {done.stderr[-2000:]}"
    session = session_of(seen[0])
    files, records = [], []
    for path in sorted(stack.log_root.glob("*/*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        if any(r["session_id"] == session for r in lines):
            files.append(path)
            records += lines
    return Run(
        stack, session, done.stdout, seen, files, records, Path(command[0]), env, cwd, endpoint
    )


def run_claude(stack: Stack, tag: str) -> Run:
    """`claude -p` in stream-json mode: the main loop, plus a title call asked on stdin."""
    exe = agent("claude")
    home = stack.tmp / f"claude-home-{tag}"
    env = agent_env(
        stack,
        home,
        ANTHROPIC_BASE_URL=stack.proxy.url,
        ANTHROPIC_API_KEY=CLAUDE_KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
    )
    lines = [
        {"type": "user", "message": {"role": "user", "content": PROMPT}},
        {
            "type": "control_request",
            "request_id": "title-1",
            "request": {
                "subtype": "generate_session_title",
                "description": PROMPT,
                "persist": False,
            },
        },
    ]
    command = [
        str(exe),
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--allowedTools",
        "Bash",
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    return run_agent(stack, command, env, stdin, stack.tmp / f"claude-work-{tag}", "/v1/messages")


def run_codex(stack: Stack, model: str | None, tag: str) -> Run:
    """`codex exec` with a custom Responses provider. The default model offers a JavaScript
    `exec` tool in an `additional_tools` input item; gpt-5.1-codex a function `exec_command`."""
    exe = agent("codex")
    name = f"{model or 'default'}-{tag}"
    home = stack.tmp / f"codex-home-{name}"
    env = agent_env(stack, home, CODEX_HOME=str(home), FAKE_KEY=CODEX_KEY)
    (home / "config.toml").write_text(
        CODEX_CONFIG.format(model=f'model = "{model}"' if model else "", url=stack.proxy.url)
    )
    command = [
        str(exe),
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--sandbox",
        "danger-full-access",
        PROMPT,
    ]
    return run_agent(stack, command, env, "", stack.tmp / f"codex-work-{name}", "/v1/responses")


def run_gemini(stack: Stack, tag: str, session: str | None) -> Run:
    """`gemini -p --yolo` with API-key auth against the proxy root; `session` goes out as
    `X-Session-Id` through GEMINI_CLI_CUSTOM_HEADERS, or the key names the session."""
    exe = agent("gemini")
    home = stack.tmp / f"gemini-home-{tag}"
    extra = {"GEMINI_CLI_CUSTOM_HEADERS": f"X-Session-Id: {session}"} if session else {}
    env = agent_env(
        stack, home, GOOGLE_GEMINI_BASE_URL=stack.proxy.url, GEMINI_API_KEY=GEMINI_KEY, **extra
    )
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(GEMINI_SETTINGS))
    command = [str(exe), "-p", PROMPT, "--yolo"]
    return run_agent(stack, command, env, "", stack.tmp / f"gemini-work-{tag}", GEMINI)


RUNNERS = {
    "claude": lambda stack: run_claude(stack, "main"),
    "codex": lambda stack: run_codex(stack, None, "main"),
    "codex-gpt-5.1-codex": lambda stack: run_codex(stack, "gpt-5.1-codex", "main"),
    "gemini": lambda stack: run_gemini(stack, "main", "gem-session-main"),
    "gemini-keyed": lambda stack: run_gemini(stack, "keyed", None),
}
RESUMED = {
    "claude-resumed": lambda stack: run_claude(stack, "resumed"),
    "codex-resumed": lambda stack: run_codex(stack, None, "resumed"),
    "gemini-resumed": lambda stack: run_gemini(stack, "resumed", "gem-session-resumed"),
}
SECOND_PROMPT = "now say bye"
RESUME_ARGS = {  # a second prompt in the same session
    "/v1/messages": ["-p", "--continue", SECOND_PROMPT, "--allowedTools", "Bash"],
    "/v1/responses": [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--sandbox",
        "danger-full-access",
        "resume",
        "--last",
        SECOND_PROMPT,
    ],
    GEMINI: ["-p", SECOND_PROMPT, "--resume", "latest", "--yolo"],
}


def agent_run(request: pytest.FixtureRequest, name: str) -> Run:
    """Each agent runs once per module; the tests read the same run. A missing agent skips
    before the proxy starts."""
    agent(name.split("-")[0])
    stack: Stack = request.getfixturevalue("stack")
    if name not in stack.runs:
        stack.runs[name] = (RUNNERS | RESUMED)[name](stack)
    return stack.runs[name]


@pytest.fixture(scope="module", params=list(RUNNERS))
def run(request: pytest.FixtureRequest) -> Run:
    return agent_run(request, request.param)


@pytest.fixture(scope="module")
def claude(request: pytest.FixtureRequest) -> Run:
    return agent_run(request, "claude")


@pytest.fixture(scope="module", params=["codex", "codex-gpt-5.1-codex"])
def codex(request: pytest.FixtureRequest) -> Run:
    return agent_run(request, request.param)


@pytest.fixture(scope="module", params=["gemini", "gemini-keyed"])
def gemini(request: pytest.FixtureRequest) -> Run:
    return agent_run(request, request.param)


def stream_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_claude_code_runs_its_tool_and_finishes_through_the_proxy(claude: Run) -> None:
    events = stream_events(claude.stdout)
    results = [e for e in events if e.get("type") == "result"]
    assert results and results[-1]["subtype"] == "success", events[-3:]
    assert results[-1]["result"] == FINAL_TEXT
    assert TOOL_OUTPUT in json.dumps([e for e in events if e.get("type") == "user"])
    titles = [e for e in events if e.get("type") == "control_response"]
    assert titles and titles[0]["response"]["response"]["title"], titles


def test_codex_runs_its_tool_and_finishes_through_the_proxy(codex: Run) -> None:
    events = stream_events(codex.stdout)
    texts = [e["item"].get("text") for e in events if e.get("type") == "item.completed"]
    assert FINAL_TEXT in texts, events
    assert TOOL_OUTPUT in json.dumps(events)
    assert any(e.get("type") == "turn.completed" for e in events)


def is_router_call(body: dict[str, Any]) -> bool:
    """Gemini CLI's side call before each prompt: JSON asked for, no tools."""
    config = body.get("generationConfig") or {}
    return config.get("responseMimeType") == "application/json" and not body.get("tools")


def test_gemini_cli_runs_its_tool_and_finishes_through_the_proxy(gemini: Run) -> None:
    assert gemini.stdout.strip() == FINAL_TEXT
    main = [e for e in gemini.seen if not is_router_call(e["body"])]
    routers = [e for e in gemini.seen if is_router_call(e["body"])]
    assert len(main) == 2 and len(routers) == 1, [e["path"] for e in gemini.seen]
    assert all(":streamGenerateContent?alt=sse" in e["path"] for e in main)
    assert routers[0]["path"].endswith(":generateContent")
    assert main[0]["answer"]["candidates"][0]["content"]["parts"][1]["functionCall"]
    results = [p["functionResponse"] for p in main[1]["body"]["contents"][-1]["parts"]]
    assert results[0]["name"] == "run_shell_command"
    assert TOOL_OUTPUT in json.dumps(results[0]["response"])


def test_gemini_cli_session_header_reaches_every_call_or_the_key_names_the_session(
    gemini: Run,
) -> None:
    named = [
        {k.lower(): v for k, v in e["headers"].items()}.get("x-session-id") for e in gemini.seen
    ]
    if gemini.env.get("GEMINI_CLI_CUSTOM_HEADERS"):
        assert named == ["gem-session-main"] * len(gemini.seen), "side calls included"
    else:
        assert named == [None] * len(gemini.seen)
        assert gemini.session == "key-" + hashlib.sha256(GEMINI_KEY.encode()).hexdigest()[:16]


def test_an_agent_session_lands_in_one_file_named_by_its_own_session_id(run: Run) -> None:
    assert [p.name for p in run.files] == [session_file_name(run.session) + ".jsonl"]
    assert len(run.records) == len(run.seen), "one record per model call, side calls included"
    assert {r["session_id"] for r in run.records} == {run.session}


def test_claude_code_title_call_shares_the_main_loops_file(claude: Run) -> None:
    titles = [r for r in claude.records if (r["request"].get("output_config") or {}).get("format")]
    loop = [r for r in claude.records if r["request"].get("tools")]
    assert len(titles) >= 1 and len(loop) == 2
    assert len(titles) + len(loop) == len(claude.records)


def as_sent(response: dict[str, Any]) -> dict[str, Any]:
    """A record's response without the `stop_details: null` that the anthropic SDK's
    accumulation (and so the proxy's, docs/design.md section 9) adds when the stream had none."""
    return {k: v for k, v in response.items() if k != "stop_details" or v is not None}


def test_every_agent_record_is_complete_and_holds_what_the_model_sent(run: Run) -> None:
    assert len(run.records) == len(run.seen)
    ids = {e["answer"].get("id") or e["answer"]["responseId"] for e in run.seen}
    assert len(ids) == len(run.seen), "every answer can be told apart"
    sent = {e["answer"].get("id") or e["answer"]["responseId"]: e for e in run.seen}
    for record in run.records:
        assert (record["status"], record["complete"], record["error"]) == (200, True, None)
        response = record["response"]
        seen = sent[response.get("id") or response["responseId"]]
        assert as_sent(response) == seen["answer"]
        assert record["request"] == seen["body"], "the request is logged as the model got it"
        if run.endpoint == GEMINI:  # the model is in the path, and the endpoint names no model
            path = seen["path"].split("?")[0]
            assert record["endpoint"].replace("{model}", record["model"]) == path
            assert record["stream"] is path.endswith(":streamGenerateContent")
        else:
            assert record["endpoint"] in seen["path"]
            assert record["stream"] is True


def test_no_agent_key_is_written_under_the_log_root_or_to_the_proxy_stderr(run: Run) -> None:
    assert run.records
    relayed = json.dumps([e["headers"] for e in run.seen])
    assert any(key in relayed for key in KEYS), "the key reached the model"
    stack = run.stack
    written = b"".join(p.read_bytes() for p in stack.log_root.rglob("*") if p.is_file())
    stderr = stack.proxy.stderr().encode()
    for key in KEYS:
        assert key.encode() not in written
        assert key.encode() not in stderr
        assert key[-12:].encode() not in written


def test_the_agents_reach_nothing_but_the_proxy(run: Run) -> None:
    assert run.seen
    assert (run.stack.sink.connections, run.stack.sink.received[:300]) == (0, b"")
    # Every call the proxy logged reached a fake model: none went anywhere else.
    logged = sum(len(p.read_text().splitlines()) for p in run.stack.log_root.rglob("*.jsonl"))
    calls = [
        e
        for e in run.stack.model.log
        if e["method"] == "POST" and e["path"].split("?")[0].endswith(("/messages", "/responses"))
    ]
    assert logged == len(calls) + len(run.stack.gemini.log)


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_the_converter_turns_an_agent_session_into_its_tool_call_conversation(
    run: Run, fmt: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(BIN / "albicilla-conv"),
            "--logs",
            str(run.stack.log_root),
            "--output",
            str(out),
            "--format",
            fmt,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (path,) = run.files
    lines = (out / path.parent.name / path.name).read_text().splitlines()
    conversations = [json.loads(line)["messages"] for line in lines]
    routers = [c for c in conversations if is_router_line(c)]
    loop = [c for c in conversations if any(m["role"] == "tool" for m in c) and c not in routers]
    assert len(loop) == 1, conversations
    assert loop[0][-1] == {**loop[0][-1], "role": "assistant", "content": FINAL_TEXT}
    assert TOOL_OUTPUT in json.dumps(next(m for m in loop[0] if m["role"] == "tool"))
    if run.endpoint == GEMINI:  # the rest: the router call, a side line of its own
        assert len(conversations) == 2 and len(routers) == 1, conversations


def is_router_line(messages: list[dict[str, Any]]) -> bool:
    """A conversation ending in the router's JSON answer (Gemini CLI's side call)."""
    content = messages[-1].get("content")
    return (
        isinstance(content, str)
        and content.startswith("{")
        and ("complexity_score" in json.loads(content))
    )


@pytest.mark.parametrize("name", list(RESUMED))
def test_a_resumed_agent_session_appends_to_its_own_file(
    name: str, request: pytest.FixtureRequest
) -> None:
    first = agent_run(request, name)
    again = run_agent(
        first.stack,
        [str(first.exe), *RESUME_ARGS[first.endpoint]],
        first.env,
        "",
        first.cwd,
        first.endpoint,
    )
    assert again.session == first.session
    assert again.files == first.files
    assert len(again.records) == len(first.records) + len(again.seen)
    assert all(r["complete"] for r in again.records)
    assert PROMPT in json.dumps(again.records[-1]["request"]), "the whole history is resent"
    if first.endpoint == GEMINI:
        assert_resumed_gemini_folds(again)


def assert_resumed_gemini_folds(again: Run) -> None:
    """Gemini CLI resends the saved session changed (placeholder signatures, its ids on the
    calls, the earlier tool result twice): it still folds into one conversation, both prompts
    and both tool results in it, plus one router line per prompt."""
    for fmt in ("json_tool_call", "native", "hf"):
        out = again.stack.tmp / f"resumed-{fmt}"
        report = out.with_suffix(".report.json")
        done = subprocess.run(
            [
                str(BIN / "albicilla-conv"),
                "--logs",
                str(again.stack.log_root),
                "--output",
                str(out),
                "--format",
                fmt,
                "--report",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        (path,) = again.files
        lines = (out / path.parent.name / path.name).read_text().splitlines()
        conversations = [json.loads(line)["messages"] for line in lines]
        routers = [c for c in conversations if is_router_line(c)]
        loop = [c for c in conversations if c not in routers]
        assert len(loop) == 1, [[m["role"] for m in c] for c in conversations]
        text = json.dumps(loop[0])
        assert PROMPT in text and SECOND_PROMPT in text and loop[0][-1]["content"] == FINAL_TEXT
        tools = [m for m in loop[0] if m["role"] == "tool"]
        assert len(tools) == 2, "one result per call (two calls), the repeated one counted once"
        assert len(routers) == 2, "one router call per prompt"
        counts = json.loads(report.read_text())["records"]
        assert counts["dropped_items"].get("repeated tool result", 0) >= 1
