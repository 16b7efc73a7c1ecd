"""albicilla-compact: closed days into .jsonl.zst, nothing lost or doubled whatever happens."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zstandard

from albicilla.logs import compaction
from albicilla.logs.compact import main
from albicilla.logs.records import iter_lines, line_at
from albicilla.logs.store import append_line
from albicilla.logs.tree import find_session_files, session_records

DAY = "2020-01-02"  # long closed
STEPS = ("compressed", "sealed", "renamed", "removed")


def zstd_binary() -> str:
    found = shutil.which("zstd")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the zstd binary is missing (apt-get install zstd)", pytrace=False)
        pytest.skip("the zstd binary is not installed (apt-get install zstd)")
    return found


def line(n: int, pad: int = 200) -> bytes:
    return json.dumps({"n": n, "timestamp": f"2020-01-02T00:00:{n % 60:02d}Z", "pad": "x" * pad})


def write(root: Path, numbers: range, name: str = "s.jsonl", day: str = DAY) -> None:
    for n in numbers:
        append_line(root, day, name, line(n).encode() + b"\n")


def read_all(root: Path) -> list[int]:
    """Every record's `n` under root, through the readers' path; damage fails the test."""
    seen: list[int] = []

    def damaged(path: str, number: int, reason: str) -> None:
        raise AssertionError(f"{path}:{number}: {reason}")

    def unreadable(path: str, reason: str) -> None:
        raise AssertionError(f"{path}: {reason}")

    for session in find_session_files(str(root)):
        seen.extend(r["n"] for r in session_records(session, damaged, unreadable))
    return seen


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def run_compactor(root: Path, *args: str, kill_at: str = "", env: dict | None = None):
    """The compactor in its own process; `kill_at` makes it SIGKILL itself after that step."""
    code = (
        "import os, signal, sys\n"
        "from albicilla.logs import compaction\n"
        f"if {kill_at!r}:\n"
        "    def checkpoint(step):\n"
        f"        if step == {kill_at!r}:\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        "    compaction.checkpoint = checkpoint\n"
        "from albicilla.logs.compact import main\n"
        "raise SystemExit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "--logs", str(root), "--idle", "0", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_closed_day_becomes_zst_holding_exactly_the_same_bytes(tmp_path, capsys):
    write(tmp_path, range(50))
    original = (tmp_path / DAY / "s.jsonl").read_bytes()
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    assert files(tmp_path) == [f"{DAY}/s.jsonl.zst"]
    packed = tmp_path / DAY / "s.jsonl.zst"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(packed.read_bytes()) == original
    out = capsys.readouterr().out
    assert f"compacted 1 files: {len(original)} bytes -> {packed.stat().st_size} bytes" in out
    assert read_all(tmp_path) == list(range(50))
    assert oct(packed.stat().st_mode & 0o777) == "0o600"


def test_zstd_tool_reads_every_frame_of_a_file_compacted_twice(tmp_path):
    zstd = zstd_binary()
    write(tmp_path, range(10))
    first = (tmp_path / DAY / "s.jsonl").read_bytes()
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    write(tmp_path, range(10, 15))  # a late record: a new .jsonl
    second = (tmp_path / DAY / "s.jsonl").read_bytes()
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    assert files(tmp_path) == [f"{DAY}/s.jsonl.zst"]
    done = subprocess.run([zstd, "-dc", str(tmp_path / DAY / "s.jsonl.zst")], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == first + second
    assert read_all(tmp_path) == list(range(15))


def test_a_3mb_record_fits_the_window_and_zstd_reads_it_with_its_default_limit(tmp_path):
    zstd = zstd_binary()
    big = line(0, pad=3 << 20).encode() + b"\n"
    append_line(tmp_path, DAY, "s.jsonl", big)
    append_line(tmp_path, DAY, "s.jsonl", big)  # the repeat is found only by a window > 3 MB
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    data = (tmp_path / DAY / "s.jsonl.zst").read_bytes()
    window = zstandard.get_frame_parameters(data).window_size
    assert 2 * len(big) <= window <= 1 << 27
    done = subprocess.run([zstd, "-dc", str(tmp_path / DAY / "s.jsonl.zst")], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == big + big


def test_open_day_and_recently_changed_files_are_left_alone(tmp_path):
    today = time.strftime("%Y-%m-%d", time.gmtime())
    write(tmp_path, range(3), day=today)
    write(tmp_path, range(3))
    assert main(["--logs", str(tmp_path), "--idle", "1h"]) == 0
    assert files(tmp_path) == [f"{DAY}/s.jsonl", f"{today}/s.jsonl"]
    old = time.time() - 7200
    os.utime(tmp_path / DAY / "s.jsonl", (old, old))
    assert main(["--logs", str(tmp_path), "--idle", "1h"]) == 0
    assert files(tmp_path) == [f"{DAY}/s.jsonl.zst", f"{today}/s.jsonl"]


def test_dry_run_changes_nothing_and_says_what_it_would_do(tmp_path, capsys):
    write(tmp_path, range(3))
    before = (tmp_path / DAY / "s.jsonl").read_bytes()
    assert main(["--logs", str(tmp_path), "--idle", "0", "--dry-run"]) == 0
    assert (tmp_path / DAY / "s.jsonl").read_bytes() == before
    assert files(tmp_path) == [f"{DAY}/s.jsonl"]
    out = capsys.readouterr().out
    assert f"would compress {tmp_path / DAY / 's.jsonl'} ({len(before)} bytes)" in out


@pytest.mark.parametrize("second_frame", [False, True])
@pytest.mark.parametrize("step", STEPS)
def test_kill_after_any_step_loses_nothing_and_the_next_run_finishes(tmp_path, step, second_frame):
    write(tmp_path, range(20))
    expected = list(range(20))
    if second_frame:
        assert run_compactor(tmp_path).returncode == 0
        write(tmp_path, range(20, 30))
        expected = list(range(30))
    done = run_compactor(tmp_path, kill_at=step)
    assert done.returncode == -signal.SIGKILL
    assert read_all(tmp_path) == expected  # readers count a half-done step's records once
    done = run_compactor(tmp_path)
    assert done.returncode == 0, done.stderr
    assert files(tmp_path) == [f"{DAY}/s.jsonl.zst"]  # no temporary file left either
    assert read_all(tmp_path) == expected


def test_records_written_after_a_kill_between_rename_and_removal_are_kept_once(tmp_path):
    write(tmp_path, range(10))
    assert run_compactor(tmp_path, kill_at="renamed").returncode == -signal.SIGKILL
    write(tmp_path, range(10, 13))  # writers go on appending to the .jsonl still at its path
    assert read_all(tmp_path) == list(range(13))
    assert run_compactor(tmp_path).returncode == 0
    assert files(tmp_path) == [f"{DAY}/s.jsonl.zst"]
    assert read_all(tmp_path) == list(range(13))


def _hammer(root: Path, writer: int, stop: Path) -> int:
    """Append records `writer * 100_000 + n`, n = 0, 1, ..., until `stop` exists; how many."""
    n = 0
    while not stop.exists() and n < 100_000:
        append_line(root, DAY, "s.jsonl", line(writer * 100_000 + n, pad=50).encode() + b"\n")
        n += 1
        time.sleep(0.0005)  # a busy proxy's pace, not a flood that buries the compactor
    return n


def test_writers_appending_during_compaction_lose_no_record(tmp_path):
    # The writers go on until the compactor has run several times, however slow the machine:
    # every run overlaps appends, and each writer's records must all be there, once.
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from tests.test_compact import _hammer\n"
        "print(_hammer(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))\n"
    )
    root = Path(__file__).resolve().parent.parent
    stop = tmp_path / "stop"  # outside the day directory: never a session file
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(w), str(stop)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    counted: list[int] = []
    thread = threading.Thread(target=lambda: counted.append(_hammer(tmp_path, 9, stop)))
    thread.start()
    try:
        while not (tmp_path / DAY / "s.jsonl").exists():
            time.sleep(0.01)
        for _ in range(4):
            done = run_compactor(tmp_path)
            assert done.returncode == 0, done.stderr
    finally:
        stop.touch()
    written = {w: int(p.communicate(timeout=120)[0]) for w, p in enumerate(writers)}
    thread.join()
    written[9] = counted[0]
    assert all(p.returncode == 0 for p in writers)
    assert run_compactor(tmp_path).returncode == 0
    expected = sorted(w * 100_000 + n for w, count in written.items() for n in range(count))
    assert sorted(read_all(tmp_path)) == expected
    assert all(count > 0 for count in written.values()), written


def test_two_compactions_at_once_leave_every_record_once(tmp_path):
    for name in ("a", "b", "c", "d"):
        write(tmp_path, range(200), name=f"{name}.jsonl")
    env = dict(os.environ)
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "albicilla.logs.compact", "--logs", str(tmp_path), "--idle=0"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in both] == [0, 0]
    assert files(tmp_path) == [f"{DAY}/{n}.jsonl.zst" for n in "abcd"]
    assert sorted(read_all(tmp_path)) == sorted(list(range(200)) * 4)


def test_full_disk_leaves_the_source_and_no_temporary_file(tmp_path, monkeypatch, capsys):
    write(tmp_path, range(20))
    original = (tmp_path / DAY / "s.jsonl").read_bytes()
    real_write = os.write

    def full(fd: int, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(compaction.os, "write", full)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert files(tmp_path) == [f"{DAY}/s.jsonl"]
    assert (tmp_path / DAY / "s.jsonl").read_bytes() == original
    monkeypatch.setattr(compaction.os, "write", real_write)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    assert read_all(tmp_path) == list(range(20))


def test_symlink_planted_at_the_output_is_left_alone_and_reported(tmp_path, capsys):
    write(tmp_path, range(5))
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not yours")
    (tmp_path / DAY / "s.jsonl.zst").symlink_to(target)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 1
    assert "is a symlink, left alone" in capsys.readouterr().err
    assert target.read_bytes() == b"not yours"
    assert (tmp_path / DAY / "s.jsonl").read_text().count("\n") == 5


def test_symlink_planted_at_the_temporary_name_is_removed_never_followed(tmp_path):
    write(tmp_path, range(5))
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not yours")
    (tmp_path / DAY / ".s.jsonl.zst.tmp").symlink_to(target)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    assert target.read_bytes() == b"not yours"
    assert read_all(tmp_path) == list(range(5))
    assert not (tmp_path / DAY / ".s.jsonl.zst.tmp").is_symlink()


def test_unwritable_day_is_reported_and_the_other_days_are_compacted(tmp_path):
    write(tmp_path, range(5))
    write(tmp_path, range(5, 8), day="2020-01-03")
    command = [sys.executable, "-m", "albicilla.logs.compact", "--logs", str(tmp_path), "--idle=0"]
    if os.geteuid() == 0:  # root writes anywhere: run the compactor without that capability
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            if os.environ.get("CI") == "true":
                pytest.fail("setpriv (util-linux) is missing", pytrace=False)
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", *command]
    os.chmod(tmp_path / DAY, 0o500)  # read-only: no temporary file can be made there
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(tmp_path / DAY, 0o700)
    assert done.returncode == 1, done.stderr
    assert "Permission denied" in done.stderr and DAY in done.stderr
    assert files(tmp_path) == [f"{DAY}/s.jsonl", "2020-01-03/s.jsonl.zst"]
    assert sorted(read_all(tmp_path)) == list(range(8))


def test_damaged_frame_is_counted_and_the_next_frame_is_read(tmp_path):
    write(tmp_path, range(5))
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    write(tmp_path, range(5, 8))
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    packed = tmp_path / DAY / "s.jsonl.zst"
    data = bytearray(packed.read_bytes())
    data[20:30] = b"\xff" * 10  # inside the first frame's compressed blocks
    packed.write_bytes(bytes(data))
    damage: list[str] = []
    (session,) = find_session_files(str(tmp_path))
    records = list(session_records(session, lambda p, n, r: damage.append(r), print))
    assert [r["n"] for r in records] == [5, 6, 7]
    assert len(damage) == 1 and "damaged zstd frame" in damage[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--idle", "soon"], "not a duration"),
        (["--older-than", "-1"], "--older-than"),
        (["--delete"], "--delete needs --older-than"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert main(["--logs", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_root_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--logs", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and err.count("\n") == 1


def test_retention_lists_without_delete_and_removes_with_it(tmp_path, capsys):
    write(tmp_path, range(2), day="2020-01-01")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    write(tmp_path, range(2), day=today)
    assert main(["--logs", str(tmp_path), "--older-than", "30", "--dry-run"]) == 0
    assert main(["--logs", str(tmp_path), "--older-than", "30", "--idle", "1h"]) == 0
    assert f"older than 30 days: {tmp_path / '2020-01-01'}" in capsys.readouterr().out
    assert (tmp_path / "2020-01-01").is_dir()
    assert main(["--logs", str(tmp_path), "--older-than", "30", "--delete"]) == 0
    assert f"removed {tmp_path / '2020-01-01'}" in capsys.readouterr().out
    assert files(tmp_path) == [f"{today}/s.jsonl"]


def test_writer_that_waited_on_a_file_the_compactor_removed_writes_to_the_new_file(tmp_path):
    write(tmp_path, range(1))
    path = tmp_path / DAY / "s.jsonl"
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what the compactor holds while it renames and removes
    writer = threading.Thread(
        target=append_line, args=(tmp_path, DAY, "s.jsonl", line(1).encode() + b"\n")
    )
    writer.start()
    time.sleep(0.3)  # the writer has opened the file and waits for the lock
    os.rename(path, tmp_path / DAY / "moved-away")
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    writer.join(timeout=30)
    assert json.loads(path.read_bytes())["n"] == 1
    assert (tmp_path / DAY / "moved-away").read_bytes().count(b"\n") == 1


def test_every_line_position_of_a_compacted_file_reads_back_its_line(tmp_path):
    write(tmp_path, range(7))
    plain = tmp_path / DAY / "s.jsonl"
    expected = plain.read_bytes().splitlines(keepends=True)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    write(tmp_path, range(7, 9))
    expected += plain.read_bytes().splitlines(keepends=True)
    assert main(["--logs", str(tmp_path), "--idle", "0"]) == 0
    packed = str(tmp_path / DAY / "s.jsonl.zst")
    found = list(iter_lines(packed))
    assert [raw for _, raw in found] == expected
    assert [line_at(packed, position) for position, _ in found] == expected
