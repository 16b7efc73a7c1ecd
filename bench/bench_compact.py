"""Compaction measured: ratio per corpus, throughput, and the converter's CPU on compacted logs.

Corpora: the real agents' captured sessions (`tests/fixtures/real_agents/`), generated Claude
Code-like sessions (`gen_agent_logs.py --apis messages`) and the generated three-API mix. For
each: raw bytes, compacted bytes, ratio, compaction MB/s of raw log (wall clock, one process),
and the converter's user+sys CPU seconds on the plain and on the compacted tree (best of
`--repeat` runs, as child processes).

    uv run python bench/bench_compact.py --mb 40
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "tests" / "fixtures" / "real_agents"


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _generate(out: Path, mb: float, apis: str | None) -> None:
    args = [sys.executable, str(HERE / "gen_agent_logs.py"), "--out", str(out), "--mb", str(mb)]
    if apis:
        args += ["--apis", apis]
    subprocess.run(args, check=True, capture_output=True)


def _close_days(root: Path) -> None:
    """Generated days are dated 2026-11: make them closed whatever the clock says."""
    for day in list(root.iterdir()):
        day.rename(root / day.name.replace("2026-", "2001-"))


def _cpu(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _convert_cpu(root: Path, out: Path, repeat: int) -> float:
    args = [sys.executable, "-m", "albicilla.conv", "--logs", str(root), "--output", str(out)]
    return min(_cpu(args) for _ in range(repeat))


def measure(name: str, root: Path, work: Path, repeat: int) -> dict[str, float | str]:
    plain_cpu = _convert_cpu(root, work / f"{name}-out1", repeat)
    raw = _size(root)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "albicilla.logs.compact", "--logs", str(root), "--idle", "0"],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    packed = _size(root)
    packed_cpu = _convert_cpu(root, work / f"{name}-out2", repeat)
    return {
        "corpus": name,
        "raw_mb": raw / 1e6,
        "packed_mb": packed / 1e6,
        "ratio": raw / packed,
        "mb_s": raw / 1e6 / seconds,
        "conv_plain_s": plain_cpu,
        "conv_packed_s": packed_cpu,
        "conv_x": packed_cpu / plain_cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=40, help="size of each generated corpus")
    parser.add_argument("--repeat", type=int, default=3, help="converter runs, best kept")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-compact-") as tmp:
        work = Path(tmp)
        real = work / "real"
        shutil.copytree(REAL, real, ignore=shutil.ignore_patterns("*.md"))
        _close_days(real)
        rows.append(measure("real agents (fixtures)", real, work, args.repeat))
        claude = work / "claude"
        _generate(claude, args.mb, "messages")
        _close_days(claude)
        rows.append(measure("generated Claude Code-like", claude, work, args.repeat))
        mixed = work / "mixed"
        _generate(mixed, args.mb, None)
        _close_days(mixed)
        rows.append(measure("generated three-API mix", mixed, work, args.repeat))
    print(
        "| corpus | raw MB | compacted MB | ratio | compaction MB/s | conv CPU plain s "
        "| conv CPU compacted s | CPU ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['corpus']} | {r['raw_mb']:.2f} | {r['packed_mb']:.3f} | {r['ratio']:.1f}x "
            f"| {r['mb_s']:.1f} | {r['conv_plain_s']:.2f} | {r['conv_packed_s']:.2f} "
            f"| {r['conv_x']:.2f}x |"
        )
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
