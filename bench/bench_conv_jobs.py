"""Time the converter with `--jobs 1` against `--jobs N`, side by side, on agent logs.

    uv run python bench/bench_conv_jobs.py --mb 300 --jobs 2 --repeat 5

Generates a corpus with gen_agent_logs.py (or uses --logs), reads it once to warm the page cache,
then runs `albicilla.conv.cli.main([..., "--jobs", N])` for each N, each run in a fresh
interpreter into a fresh output directory, `--repeat` times, interleaved (1, N, 1, N, ...), so a
busy machine slows both alike. Each run times `main` itself (worker start-up included, not the
interpreter's), and checks that its output has the same bytes as the first `--jobs 1` run. The
table shows the best and median wall-clock seconds, the speedup of each against `--jobs 1` (best
against best, median against median), and the peak RSS of the parent (the workers
are children of the fork server, which `getrusage` does not see).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
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


def run_once(logs: str, output: str, jobs: int, flags: list[str]) -> dict[str, object]:
    """One conversion in this process, timed; the digest of everything it wrote."""
    from albicilla.conv.cli import main

    argv = ["--logs", logs, "--output", output, "--jobs", str(jobs), *flags]
    errors = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(errors):
        status = main(argv)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"converter exited {status}: {errors.getvalue()}")
    digest = hashlib.sha256()
    for directory, subdirectories, names in sorted(os.walk(output)):
        subdirectories.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            digest.update(os.path.relpath(path, output).encode() + b"\0")
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return {
        "seconds": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "digest": digest.hexdigest(),
        "summary": errors.getvalue().strip().splitlines()[-1],
    }


def measure(logs: str, workdir: str, jobs: int, flags: list[str]) -> dict[str, object]:
    output = tempfile.mkdtemp(prefix="out-", dir=workdir)
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(jobs),
                "--logs",
                logs,
                "--output",
                output,
                "--flags",
                json.dumps(flags),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return json.loads(done.stdout)


def report(results: dict[int, list[dict[str, object]]], size: int, flags: list[str]) -> str:
    base = results[1]
    best1 = min(float(r["seconds"]) for r in base)
    median1 = statistics.median(float(r["seconds"]) for r in base)
    rows = [
        f"corpus: {size / 1048576:.1f} MiB, {len(base)} runs of each, interleaved; "
        f"flags: {' '.join(flags) or '(none)'}; CPUs: {os.cpu_count()}; "
        f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"{'jobs':>4} {'best s':>7} {'median s':>9} {'best x':>7} {'median x':>9} "
        f"{'parent MiB':>11}",
    ]
    for jobs, runs in results.items():
        seconds = [float(r["seconds"]) for r in runs]
        best, median = min(seconds), statistics.median(seconds)
        rows.append(
            f"{jobs:>4} {best:>7.2f} {median:>9.2f} {best1 / best:>7.2f} {median1 / median:>9.2f} "
            f"{max(float(r['peak_mib']) for r in runs):>11.0f}"
        )
    rows.append(
        "runs (s): "
        + "; ".join(
            f"jobs {jobs}: " + " ".join(f"{float(r['seconds']):.2f}" for r in runs)
            for jobs, runs in results.items()
        )
    )
    rows.append(f"summary: {base[-1]['summary']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=300, help="corpus size to generate, in MiB")
    parser.add_argument("--logs", help="use this log root instead of generating one")
    parser.add_argument("--jobs", default="2", help="comma-separated N to compare with 1")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--single-file", action="store_true", help="convert with --single-file")
    parser.add_argument("--format", default="json_tool_call", help="convert with this --format")
    parser.add_argument("--workdir", help="where to generate (default: a temporary directory)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--flags", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_once(args.logs, args.output, args.child, json.loads(args.flags))))
        return 0

    flags = ["--format", args.format] + (["--single-file"] if args.single_file else [])
    counts = [1] + [int(n) for n in args.jobs.split(",") if int(n) != 1]
    workdir = args.workdir or tempfile.mkdtemp(prefix="albicilla-bench-jobs-")
    os.makedirs(workdir, exist_ok=True)
    try:
        sys.path.insert(0, HERE)
        from bench_conv import corpus_size, generated_corpus, warm

        logs = args.logs or generated_corpus(workdir, args.mb, args.seed)

        warm(logs)
        results: dict[int, list[dict[str, object]]] = {n: [] for n in counts}
        for _ in range(args.repeat):
            for jobs in counts:
                results[jobs].append(measure(logs, workdir, jobs, flags))
        digests = {r["digest"] for runs in results.values() for r in runs}
        if len(digests) != 1:
            raise SystemExit(f"the runs wrote different bytes: {sorted(digests)}")
        print(report(results, corpus_size(logs), flags))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
