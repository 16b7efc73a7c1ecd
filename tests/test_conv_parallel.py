"""`--jobs N` writes the same bytes, report and stderr as `--jobs 1`, and Ctrl-C leaves no file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from fcntl import ioctl
from pathlib import Path
from termios import FIONREAD
from typing import Any

import pytest
from conv_support import write_logs
from fixtures.agent_sessions import chained_turn, record

from albicilla.conv import parallel
from albicilla.conv.cli import main
from albicilla.conv.session import Options, SessionConverter
from albicilla.logs.tree import find_session_files

BENCH = Path(__file__).resolve().parent.parent / "bench"
FORMATS = ["json_tool_call", "native", "hf"]


def turn(rid: str, previous: str | None, text: str, day: str, session: str) -> dict[str, Any]:
    return chained_turn(rid, previous, text, session, timestamp=f"{day}T10:00:00Z")


def late_system(day: str, session: str) -> dict[str, Any]:
    """A chat call the report lists as a problem (a system message after the user's)."""
    messages = [{"role": "user", "content": "q"}, {"role": "system", "content": "late"}]
    response = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}}]}
    request = {"model": "m", "messages": messages}
    return record(
        "/v1/chat/completions", request, response, timestamp=f"{day}T11:00:00Z", session=session
    )


# A chain r1 -> r2 -> r3 -> r4 through four files and three days: every child's parent is in
# another file, so with two workers some parent is in a file the other worker converts.
CHAIN = {
    "2026-11-25/chain-a.jsonl": [turn("r1", None, "one", "2026-11-25", "chain-a")],
    "2026-11-26/chain-b.jsonl": [turn("r2", "r1", "two", "2026-11-26", "chain-b")],
    "2026-11-26/chain-c.jsonl": [
        turn("r3", "r2", "three", "2026-11-26", "chain-c"),
        late_system("2026-11-26", "chain-c"),
    ],
    "2026-11-27/chain-d.jsonl": [
        turn("r4", "r3", "four", "2026-11-27", "chain-d"),
        late_system("2026-11-27", "chain-d"),
    ],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated agent sessions of all three APIs over three days, damaged lines included, plus
    a response chain across files and days."""
    logs = tmp_path_factory.mktemp("corpus") / "logs"
    small = ("--mb", "1.5", "--seed", "11", "--days", "3", "--max-steps", "8")
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "gen_agent_logs.py"),
            "--out",
            str(logs),
            *small,
            "--result-words",
            "60",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    write_logs(logs, CHAIN)
    files = find_session_files(str(logs))
    assert len(files) >= 8
    for session in files[2::3]:  # damaged lines, reported by whichever worker reads them
        with open(session.path, "ab") as handle:
            handle.write(b'not json\n\n{"torn')
    return logs


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def run(
    logs: Path, out: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[dict[str, bytes], bytes, str]:
    report = out.with_suffix(".report.json")
    status = main(["--logs", str(logs), "--output", str(out), "--report", str(report), *flags])
    assert status == 0
    return tree(out), report.read_bytes(), capsys.readouterr().err


@pytest.mark.parametrize("layout", [[], ["--single-file"]], ids=["per-day", "single-file"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_two_jobs_write_the_same_bytes_report_and_stderr_as_one(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, layout: list[str]
) -> None:
    flags = ["--format", fmt, "-v", *layout]
    serial = run(corpus, tmp_path / "one", capsys, *flags, "--jobs", "1")
    parallel = run(corpus, tmp_path / "two", capsys, *flags, "--jobs", "2")
    files, report, err = serial
    assert len(files) >= (1 if layout else 8)
    lines = json.loads(report)["lines"]
    assert lines["written"] > 10 and lines["with_problems"] >= 2
    assert "damaged" in err and "warning: " in err and "[1/" in err
    assert parallel == serial


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_forked_and_fork_server_workers_write_the_same_bytes(
    corpus: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    flags = ["--format", "hf", "--single-file", "--redact", "--anonymize-emails"]
    key = ["--redaction-key", "k"]
    serial = run(corpus, tmp_path / "one", capsys, *flags, *key, "--jobs", "1")
    monkeypatch.setattr(parallel, "_start_method", lambda: method)
    assert run(corpus, tmp_path / "two", capsys, *flags, *key, "--jobs", "2") == serial


def test_workers_are_forked_only_from_a_process_without_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:  # as on the command line: earlier tests leave threads
        patch.setattr(threading, "active_count", lambda: 1)
        assert parallel._start_method() == "fork"
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        assert parallel._start_method() == "forkserver"
    finally:
        release.set()
        waiting.join()


def test_chain_across_files_is_rebuilt_with_two_jobs(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, _, _ = run(corpus, tmp_path / "two", capsys, "--jobs", "2", "--format", "native")
    last = json.loads(files[os.path.join("2026-11-27", "chain-d.jsonl")].splitlines()[0])
    assert [m["content"] for m in last["messages"]] == [
        "one",
        "ONE",
        "two",
        "TWO",
        "three",
        "THREE",
        "four",
        "FOUR",
    ]


def test_a_worker_that_never_saw_the_parent_file_gives_the_same_part(tmp_path: Path) -> None:
    logs = write_logs(tmp_path / "logs", CHAIN)
    files = find_session_files(str(logs))
    paths = [f.path for f in files]
    options = Options(logs=(str(logs),), output=str(tmp_path / "out"), report="r.json")
    seen_all = SessionConverter(options, paths)
    parts = [seen_all.convert(session) for session in files]
    fresh = SessionConverter(options, paths).convert(files[-1])  # r3 is only on disk for it
    assert fresh.lines == parts[-1].lines and fresh.stats == parts[-1].stats
    assert fresh.report is not None and parts[-1].report is not None
    assert fresh.report.entries == parts[-1].report.entries
    assert "FOUR" in fresh.lines[0] and "one" in fresh.lines[0]


def test_jobs_must_be_a_positive_number(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--logs", str(corpus), "--output", str(tmp_path / "o"), "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs: not a positive whole number: '0'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    """The converter in a process group of its own, with SIGINT handled as in a terminal even
    when this test runs where SIGINT is ignored (a background job of a non-interactive shell)."""

    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen(
        command, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=default_sigint
    )


def _end(child: subprocess.Popen[bytes]) -> None:
    """Kill whatever is left of the converter's process group, so no test ever waits on it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    if child.stderr is not None:
        child.stderr.close()


def _pipe_filled(fd: int) -> bool:
    pending = bytearray(4)
    ioctl(fd, FIONREAD, pending)
    return int.from_bytes(pending, sys.byteorder) >= 60_000


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        children = set(_children(todo.pop()))
        todo.extend(children - found)
        found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _blocked_converter(corpus: Path, tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    """The converter with `--jobs 2`, running, once its parent is blocked writing warnings.

    The first session warns about 20,000 blank lines: the parent blocks writing them to a stderr
    pipe nobody reads yet, with workers running and the output open.
    """
    logs = tmp_path / "logs"
    write_logs(logs, {"2026-11-20/blank.jsonl": []})
    (logs / "2026-11-20" / "blank.jsonl").write_text("\n" * 20_000)
    for path in corpus.glob("*/*.jsonl"):
        (logs / path.parent.name).mkdir(exist_ok=True)
        (logs / path.parent.name / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    child = _start(
        [
            sys.executable,
            "-m",
            "albicilla.conv",
            "--logs",
            str(logs),
            "--output",
            str(out),
            *flags,
            "--jobs",
            "2",
        ]
    )
    assert child.stderr is not None
    deadline = time.monotonic() + 120
    while not _pipe_filled(child.stderr.fileno()):
        if child.poll() is not None or time.monotonic() > deadline:
            _end(child)
            raise AssertionError("the converter never blocked on its stderr")
        time.sleep(0.01)
    return child


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")
def test_ctrl_c_stops_workers_and_leaves_no_file(corpus: Path, tmp_path: Path) -> None:
    child = _blocked_converter(corpus, tmp_path, "--single-file")
    try:
        workers = _descendants(child.pid)
        assert len(workers) >= 2  # two workers (and the fork server, when there is one)
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1].decode()
        assert child.wait(timeout=60) == 130
    finally:
        _end(child)
    assert err.splitlines()[-1] == "albicilla-conv: error: interrupted"
    assert "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")
def test_a_killed_worker_is_one_line_exit_1_and_no_file(corpus: Path, tmp_path: Path) -> None:
    child = _blocked_converter(corpus, tmp_path)
    try:
        os.kill(_workers(child.pid)[0], signal.SIGKILL)  # as the kernel's out-of-memory killer
        err = child.communicate(timeout=60)[1].decode()
        assert child.wait(timeout=60) == 1
    finally:
        _end(child)
    assert err.splitlines()[-1] == "albicilla-conv: error: a worker process died"
    assert "Traceback" not in err
    assert not list((tmp_path / "out").rglob("*.tmp"))


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            children.extend(int(c) for c in handle.read().split())
    return sorted(children)


def _workers(pid: int) -> list[int]:
    """The worker processes of converter `pid`: its children, or its fork server's."""
    children = _children(pid)
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as handle:
            if b"forkserver" in handle.read():
                return _children(child)
    assert children, "no worker processes"
    return children
