"""The converter gives the same bytes from compacted logs as from the plain logs they replaced."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import zstandard

from albicilla.conv.cli import main as conv
from albicilla.logs.compact import main as compact

BENCH = Path(__file__).resolve().parent.parent / "bench"
RUNS = {
    "json_tool_call": ["--format", "json_tool_call"],
    "native": ["--format", "native"],
    "hf": ["--format", "hf"],
    "jobs": ["--jobs", "2"],
    "single": ["--single-file", "--jobs", "2"],
}


def generated(root: Path, seed: int) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from gen_agent_logs import generate
    finally:
        sys.path.pop(0)
    generate(str(root), 1.5, seed=seed, days=2, max_steps=14, result_words=80)
    for day in root.iterdir():  # closed days whatever the clock says
        day.rename(root / day.name.replace("2026-", "2020-"))


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def convert_all(tmp_path: Path, label: str, roots: list[Path]) -> dict[str, dict[str, bytes]]:
    results = {}
    logs = [arg for root in roots for arg in ("--logs", str(root))]
    for name, flags in RUNS.items():
        out = tmp_path / f"{label}-{name}"
        report = tmp_path / f"{label}-{name}.report.json"
        assert conv([*logs, "--output", str(out), "--report", str(report), *flags]) == 0
        results[name] = {**tree(out), "report": report.read_bytes()}
    return results


@pytest.mark.parametrize("two_roots", [False, True])
def test_conversion_is_byte_identical_after_compaction(tmp_path, two_roots, capsys):
    roots = [tmp_path / "host1"] + ([tmp_path / "host2"] if two_roots else [])
    for seed, root in enumerate(roots, 5):
        generated(root, seed)
    before = convert_all(tmp_path, "plain", roots)

    first = roots[0]
    sessions = sorted(first.glob("*/*.jsonl"))
    assert len(sessions) >= 3
    # A day split between the two forms: the first half compacted, the rest a new `.jsonl`.
    split = sessions[-1]
    lines = split.read_bytes().splitlines(keepends=True)
    split.write_bytes(b"".join(lines[: len(lines) // 2]))
    for root in roots:
        assert compact(["--logs", str(root), "--idle", "0"]) == 0
    split.write_bytes(b"".join(lines[len(lines) // 2 :]))
    # A run killed between its rename and its removal: the `.jsonl` repeats the last frame.
    doubled = sessions[0]
    packed = doubled.with_name(doubled.name + ".zst").read_bytes()
    doubled.write_bytes(zstandard.ZstdDecompressor().decompressobj().decompress(packed))
    assert {p.name.endswith(".zst") for p in first.glob("*/*")} == {True, False}

    capsys.readouterr()
    after = convert_all(tmp_path, "compacted", roots)
    for name in RUNS:
        assert after[name] == before[name], name
    assert all(before[name] for name in RUNS)

    for root in roots:  # and once everything is compacted
        assert compact(["--logs", str(root), "--idle", "0"]) == 0
        assert not any(p.suffix == ".jsonl" for p in root.glob("*/*"))
    again = convert_all(tmp_path, "all", roots)
    for name in RUNS:
        assert again[name] == before[name], name
    assert os.listdir(tmp_path)
