"""Time redaction: the proxy's redact + serialise against serialise only, and the converter with
and without `--redact`, on realistic agent logs; results as ratios of CPU seconds.

    uv run python bench/bench_redact.py --mb 50

Proxy side: every record of the corpus (the full resent history each time, as the proxy writes
them), in session order, through `serialize_record` alone and after redacting its request,
response and error as `Exchange.finish` does: with one Redactor per run (its string cache warm, as
in a worker that serves a session's calls) and with the cache off (every string scanned, the cost
of new text). Converter side: `albicilla-conv` in a fresh interpreter per run, with and without
`--redact` (that includes loading detect-secrets, reported on its own). Best of `--repeat` runs,
CPU time (steadier than wall time on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_records(logs: str) -> list[dict]:
    from albicilla.logs.tree import find_session_files

    records = []
    for session in find_session_files(logs):
        with open(session.path, "rb") as handle:
            for line in handle:
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
    return records


def time_records(records: list[dict], cache: bool | None) -> float:
    """CPU seconds to write every record: serialise only (None), or redact then serialise."""
    from albicilla.logs.store import serialize_record
    from albicilla.redact import Redactor

    redact = None
    if cache is not None:
        redact = (Redactor() if cache else Redactor(cache_chars=0)).redact_value
    started = time.process_time()
    for record in records:
        if redact is not None:
            record = {**record}
            for key in ("request", "response", "error"):
                record[key] = redact(record[key])
        serialize_record(record)
    return time.process_time() - started


def time_converter(logs: str, workdir: str, redact: bool) -> float:
    """CPU seconds of one converter run in a fresh interpreter (start-up excluded)."""
    output = tempfile.mkdtemp(prefix="out-", dir=workdir)
    code = (
        "import io, sys, time, contextlib\n"
        "from albicilla.conv.cli import main\n"
        "t = time.process_time()\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        f"    status = main({['--logs', logs, '--output', output] + ['--redact'] * redact!r})\n"
        "print(time.process_time() - t) if status == 0 else sys.exit(status)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return float(done.stdout)


def time_redactor_build() -> float:
    code = (
        "import time\nt = time.process_time()\nfrom albicilla.redact import Redactor\n"
        "Redactor()\nprint(time.process_time() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50, help="corpus size to generate, in MiB")
    parser.add_argument("--logs", help="use this log root instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    workdir = tempfile.mkdtemp(prefix="albicilla-bench-redact-")
    try:
        logs = args.logs
        if logs is None:
            sys.path.insert(0, HERE)
            from gen_agent_logs import generate

            logs = os.path.join(workdir, "logs")
            generate(logs, args.mb, seed=args.seed)
        records = load_records(logs)
        size = sum(len(json.dumps(r, ensure_ascii=False).encode()) for r in records) / 1048576
        runs: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for name, cache in (("serialise", None), ("warm", True), ("cold", False)):
                runs.setdefault(name, []).append(time_records(records, cache))
            for redact in (False, True):
                runs.setdefault(f"conv{redact}", []).append(time_converter(logs, workdir, redact))
            runs.setdefault("build", []).append(time_redactor_build())
        best = {name: min(times) for name, times in runs.items()}
        print(f"corpus: {len(records)} records, {size:.1f} MiB; best of {args.repeat}, CPU s")
        print(f"proxy  serialise only          {best['serialise']:7.2f}")
        for name, label in (("warm", "cache warm"), ("cold", "cache off ")):
            ratio = best[name] / best["serialise"]
            print(f"proxy  redact+serialise, {label} {best[name]:7.2f}  ratio {ratio:5.2f}"
                  f"  ({size / (best[name] - best['serialise']):.0f} MiB/s redacted)")  # fmt: skip
        ratio = best["convTrue"] / best["convFalse"]
        print(f"conv   without --redact         {best['convFalse']:7.2f}")
        print(f"conv   with --redact            {best['convTrue']:7.2f}  ratio {ratio:5.2f}")
        print(f"Redactor build (import detect-secrets, compile) {best['build']:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
