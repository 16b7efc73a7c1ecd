"""Time the converter against a bare `json.loads` of every line, side by side, on agent logs.

    uv run python bench/bench_conv.py --mb 300

Generates a corpus with gen_agent_logs.py (or uses --logs), reads it once to warm the page cache,
then runs each phase in a fresh interpreter, `--repeat` times, interleaved:
- `json.loads`: every line of every session file, in the converter's file order, nothing else;
- `conv json`: `albicilla.conv.cli.main([...])` in the default json_tool_call mode;
- `conv native`: the same with `--no-json-tool-calls`.
Each phase times only its own work (not interpreter start-up) and reports its peak RSS; the table
shows the best and median wall-clock seconds, MiB/s, the ratio of best times against
`json.loads`, the same for CPU time (steadier on a busy machine), and the largest peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PHASES = ("loads", "conv-json", "conv-native")


def corpus_files(logs: str) -> list[str]:
    """The session files in the order the converter reads them."""
    from albicilla.logs.tree import find_session_files

    return [f.path for f in find_session_files(logs)]


def run_phase(phase: str, logs: str, output: str) -> dict[str, float]:
    """Run one phase in this process and measure it."""
    files = corpus_files(logs)
    if phase == "loads":
        loads = json.loads
        started, cpu_started = time.perf_counter(), time.process_time()
        lines = 0
        for path in files:
            with open(path, "rb") as handle:
                for line in handle:
                    lines += 1
                    try:
                        loads(line)
                    except ValueError:
                        pass
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        summary = f"{lines} lines"
    else:
        from albicilla.conv.cli import main

        argv = ["--logs", logs, "--output", output, "--jobs", "1"]  # one process: its CPU time
        if phase == "conv-native":
            argv.append("--no-json-tool-calls")
        errors = io.StringIO()
        started, cpu_started = time.perf_counter(), time.process_time()
        with contextlib.redirect_stderr(errors):
            status = main(argv)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if status != 0:
            raise SystemExit(f"converter exited {status}: {errors.getvalue()}")
        summary = errors.getvalue().strip().splitlines()[-1]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak_kib / 1024, "summary": summary}


def measure(phase: str, logs: str, workdir: str) -> dict[str, float]:
    """One run of a phase in a fresh interpreter, into a fresh output directory."""
    output = tempfile.mkdtemp(prefix="out-", dir=workdir)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--logs", logs, "--output", output],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return json.loads(done.stdout)


def corpus_size(logs: str) -> int:
    return sum(os.path.getsize(p) for p in corpus_files(logs))


def generated_corpus(workdir: str, mb: float, seed: int) -> str:
    """Generate the agent-log corpus under `workdir` (afresh); returns its log root."""
    sys.path.insert(0, HERE)
    from gen_agent_logs import generate

    logs = os.path.join(workdir, "logs")
    shutil.rmtree(logs, ignore_errors=True)
    generate(logs, mb, seed=seed)
    return logs


def warm(logs: str) -> None:
    for path in corpus_files(logs):
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass


def report(results: dict[str, list[dict[str, float]]], size: int) -> str:
    base = min(r["seconds"] for r in results["loads"])
    base_cpu = min(r["cpu"] for r in results["loads"])
    rows = [
        f"corpus: {size / 1048576:.1f} MiB, {len(results['loads'])} runs of each phase",
        f"{'phase':<12} {'best s':>7} {'median s':>9} {'MiB/s':>6} {'ratio':>6} "
        f"{'best CPU s':>11} {'CPU ratio':>10} {'peak RSS MiB':>13}",
    ]
    for phase in PHASES:
        runs = results[phase]
        best = min(r["seconds"] for r in runs)
        median = statistics.median(r["seconds"] for r in runs)
        cpu = min(r["cpu"] for r in runs)
        peak = max(r["peak_mib"] for r in runs)
        rows.append(
            f"{phase:<12} {best:>7.2f} {median:>9.2f} {size / 1048576 / best:>6.0f} "
            f"{best / base:>6.2f} {cpu:>11.2f} {cpu / base_cpu:>10.2f} {peak:>13.0f}"
        )
    for phase in PHASES:
        rows.append(f"{phase}: {results[phase][-1]['summary']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=300, help="corpus size to generate, in MiB")
    parser.add_argument("--logs", help="use this log root instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where to generate (default: a temporary directory)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(run_phase(args.phase, args.logs, args.output)))
        return 0

    workdir = args.workdir or tempfile.mkdtemp(prefix="albicilla-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        logs = args.logs or generated_corpus(workdir, args.mb, args.seed)
        warm(logs)
        results: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
        for _ in range(args.repeat):
            for phase in PHASES:
                results[phase].append(measure(phase, logs, workdir))
        print(report(results, corpus_size(logs)))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
