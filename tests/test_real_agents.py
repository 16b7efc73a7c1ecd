"""Claude Code and Codex CLI, run for real through gunicorn against the fake model, and their logs.

The agents come from `node_modules/.bin` under `$ALBICILLA_AGENTS` or the repo's `.agents`
(`.ci/install-agents` fills it); without them these tests skip and say so. The agents get an
empty HOME, fake keys and a local sink as their HTTP(S) proxy, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

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
from support.fake_model import FINAL_TEXT, FakeModel, serving
from support.need import missing
from support.procs import BIN, ROOT, Running, Watched, gunicorn, watched_server

pytestmark = [pytest.mark.e2e, pytest.mark.agents]

AGENTS_ENV = "ALBICILLA_AGENTS"
CAPTURE_ENV = "ALBICILLA_AGENTS_CAPTURE"  # a directory: the run's log tree is copied there
CLAUDE_KEY = "sk-ant-fake-7d41c9e0b2a84f3e9a11"
CODEX_KEY = "sk-fake-codex-5b8e2f10c7d94a61be07"
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
    missing(f"{name} is not installed: run .ci/install-agents, or set {AGENTS_ENV} to a "
            f"directory holding node_modules/.bin/{name}")


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
    sink: Watched
    proxy: Running
    log_root: Path
    tmp: Path
    runs: dict[str, Run] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("agents")
    log_root = tmp / "logs"
    with serving() as model, watched_server() as sink, gunicorn(
        model.url, log_root, tmp, workers=2
    ) as proxy:
        yield Stack(model, sink, proxy, log_root, tmp)
    if capture := os.environ.get(CAPTURE_ENV):  # refresh tests/fixtures/real_agents with these
        shutil.copytree(log_root, capture, dirs_exist_ok=True)


def agent_env(stack: Stack, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of this machine's config, every proxy pointing at the sink."""
    home.mkdir(parents=True)
    sink = f"http://127.0.0.1:{stack.sink.port}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "TMPDIR": str(home), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = sink
    return env | extra


def run_agent(stack: Stack, command: list[str], env: dict[str, str], stdin: str, cwd: Path,
              endpoint: str) -> Run:
    """Run an agent to its end; collect what the fake model saw and its session's records."""
    before = len(stack.model.log)
    cwd.mkdir(exist_ok=True)
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = [e for e in stack.model.log[before:] if e["path"].startswith(endpoint)]
    assert seen, f"the fake model saw no {endpoint} request; agent stderr: {done.stderr[-2000:]}"
    headers = {k.lower(): v for k, v in seen[0]["headers"].items()}
    session = headers.get("x-claude-code-session-id") or seen[0]["body"]["prompt_cache_key"]
    files, records = [], []
    for path in sorted(stack.log_root.glob("*/*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        if any(r["session_id"] == session for r in lines):
            files.append(path)
            records += lines
    return Run(stack, session, done.stdout, seen, files, records, Path(command[0]), env, cwd,
               endpoint)


def run_claude(stack: Stack, tag: str) -> Run:
    """`claude -p` in stream-json mode: the main loop, plus a title call asked on stdin."""
    exe = agent("claude")
    home = stack.tmp / f"claude-home-{tag}"
    env = agent_env(stack, home, ANTHROPIC_BASE_URL=stack.proxy.url,
                    ANTHROPIC_API_KEY=CLAUDE_KEY, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                    DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1", DISABLE_ERROR_REPORTING="1")
    lines = [{"type": "user", "message": {"role": "user", "content": PROMPT}},
             {"type": "control_request", "request_id": "title-1", "request": {
                 "subtype": "generate_session_title", "description": PROMPT, "persist": False}}]
    command = [str(exe), "-p", "--input-format", "stream-json", "--output-format", "stream-json",
               "--verbose", "--allowedTools", "Bash"]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    return run_agent(stack, command, env, stdin, stack.tmp / f"claude-work-{tag}",
                     "/v1/messages")


def run_codex(stack: Stack, model: str | None, tag: str) -> Run:
    """`codex exec` with a custom Responses provider. The default model offers a JavaScript
    `exec` tool in an `additional_tools` input item; gpt-5.1-codex a function `exec_command`."""
    exe = agent("codex")
    name = f"{model or 'default'}-{tag}"
    home = stack.tmp / f"codex-home-{name}"
    env = agent_env(stack, home, CODEX_HOME=str(home), FAKE_KEY=CODEX_KEY)
    (home / "config.toml").write_text(CODEX_CONFIG.format(
        model=f'model = "{model}"' if model else "", url=stack.proxy.url))
    command = [str(exe), "exec", "--json", "--skip-git-repo-check", "--sandbox",
               "danger-full-access", PROMPT]
    return run_agent(stack, command, env, "", stack.tmp / f"codex-work-{name}", "/v1/responses")


RUNNERS = {"claude": lambda stack: run_claude(stack, "main"),
           "codex": lambda stack: run_codex(stack, None, "main"),
           "codex-gpt-5.1-codex": lambda stack: run_codex(stack, "gpt-5.1-codex", "main")}
RESUMED = {"claude-resumed": lambda stack: run_claude(stack, "resumed"),
           "codex-resumed": lambda stack: run_codex(stack, None, "resumed")}
RESUME_ARGS = {  # a second prompt in the same session
    "/v1/messages": ["-p", "--continue", "now say bye", "--allowedTools", "Bash"],
    "/v1/responses": ["exec", "--json", "--skip-git-repo-check", "--sandbox",
                      "danger-full-access", "resume", "--last", "now say bye"]}


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
    sent = {e["answer"]["id"]: e for e in run.seen}
    for record in run.records:
        assert (record["status"], record["complete"], record["error"]) == (200, True, None)
        assert record["stream"] is True
        seen = sent[record["response"]["id"]]
        assert as_sent(record["response"]) == seen["answer"]
        assert record["request"] == seen["body"], "the request is logged as the model got it"
        assert record["endpoint"] in seen["path"]


def test_no_agent_key_is_written_under_the_log_root_or_to_the_proxy_stderr(run: Run) -> None:
    assert run.records
    relayed = json.dumps([e["headers"] for e in run.seen])
    assert CLAUDE_KEY in relayed or CODEX_KEY in relayed, "the key reached the model"
    stack = run.stack
    written = b"".join(p.read_bytes() for p in stack.log_root.rglob("*") if p.is_file())
    stderr = stack.proxy.stderr().encode()
    for key in (CLAUDE_KEY, CODEX_KEY):
        assert key.encode() not in written
        assert key.encode() not in stderr
        assert key[-12:].encode() not in written


def test_the_agents_reach_nothing_but_the_proxy(run: Run) -> None:
    assert run.seen
    assert (run.stack.sink.connections, run.stack.sink.received[:300]) == (0, b"")


@pytest.mark.parametrize("fmt", ["json_tool_call", "native", "hf"])
def test_the_converter_turns_an_agent_session_into_its_tool_call_conversation(
    run: Run, fmt: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [str(BIN / "albicilla-conv"), "--logs", str(run.stack.log_root), "--output", str(out),
         "--format", fmt], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (path,) = run.files
    lines = (out / path.parent.name / path.name).read_text().splitlines()
    conversations = [json.loads(line)["messages"] for line in lines]
    loop = [c for c in conversations if any(m["role"] == "tool" for m in c)]
    assert len(loop) == 1, conversations
    assert loop[0][-1] == {**loop[0][-1], "role": "assistant", "content": FINAL_TEXT}
    assert TOOL_OUTPUT in json.dumps(next(m for m in loop[0] if m["role"] == "tool"))


@pytest.mark.parametrize("name", list(RESUMED))
def test_a_resumed_agent_session_appends_to_its_own_file(
    name: str, request: pytest.FixtureRequest
) -> None:
    first = agent_run(request, name)
    again = run_agent(first.stack, [str(first.exe), *RESUME_ARGS[first.endpoint]], first.env, "",
                      first.cwd, first.endpoint)
    assert again.session == first.session
    assert again.files == first.files
    assert len(again.records) == len(first.records) + len(again.seen)
    assert all(r["complete"] for r in again.records)
    assert PROMPT in json.dumps(again.records[-1]["request"]), "the whole history is resent"
