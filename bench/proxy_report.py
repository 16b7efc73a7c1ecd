"""Log checks and reporting for bench_proxy.py: count and verify records, summarise, tabulate."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from collections import Counter
from pathlib import Path

import api_bodies

# -- logs ----------------------------------------------------------------------------------


def log_files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.jsonl")) if root.is_dir() else []


def count_lines(root: Path) -> int:
    total = 0
    for path in log_files(root):
        with open(path, "rb") as f:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return total


def settled_lines(root: Path, quiet: float = 0.5, limit: float = 20.0) -> int:
    """The line count once it has stopped growing (records of cut requests land late)."""
    deadline = time.monotonic() + limit
    last = count_lines(root)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = count_lines(root)
        if now == last:
            return now
        last = now
    return last


def read_records(root: Path) -> list[dict]:
    records = []
    for path in log_files(root):
        with open(path, "rb") as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def endpoint_lines(root: Path, path: str) -> int:
    """How many logged records name this endpoint (0 for an endpoint this build does not log)."""
    marker = b'"endpoint":"' + path.encode() + b'"'
    total = 0
    for file in log_files(root):
        total += file.read_bytes().count(marker)
    return total


def verify_streams(records: list[dict], api: str, tokens: int) -> dict:
    """Count this API's stream records rebuilt exactly (complete, content, end) and the rest.

    Chat records are checked field by field; Gemini's must equal the non-streamed response of the
    same generation (its stream carries every field); the other APIs' records (their shape is
    theirs) must be complete, 200, marked as a stream and hold the whole streamed text.
    """
    path = api_bodies.endpoint(api, stream=True)
    expected = api_bodies.expected_content(tokens)
    whole = api_bodies.rebuilt(api, tokens)
    correct = wrong = cut = other = 0
    for r in records:
        if r.get("endpoint", "/v1/chat/completions") != path or not r["stream"]:
            continue
        if not r["complete"]:
            if r["error"] == "client disconnected":
                cut += 1
            else:
                other += 1
            continue
        if whole is not None:
            right = r["response"] == whole
        elif path == "/v1/chat/completions":
            choices = (r["response"] or {}).get("choices") or [{}]
            message = choices[0].get("message") or {}
            right = (
                message.get("content") == expected
                and choices[0].get("finish_reason") == "stop"
                and (r["response"].get("usage") or {}).get("completion_tokens")
                == expected.count("tok")
            )
        else:
            right = expected in json.dumps(r["response"], ensure_ascii=False)
        if r["status"] == 200 and r["stream"] and right:
            correct += 1
        else:
            wrong += 1
    return {
        "records": correct + wrong + cut + other,
        "correct": correct,
        "wrong": wrong,
        "cut_by_client_stop": cut,
        "other_incomplete": other,
    }


# -- reporting -----------------------------------------------------------------------------


def summarize(runs: dict[str, list[dict]]) -> dict:
    """Median over rounds of each target's rate and latency percentiles."""
    out = {}
    for name, results in runs.items():
        if results:
            out[name] = {
                key: statistics.median(r[key] for r in results)
                for key in ("rps", "p50_us", "p99_us", "cpu_us_per_request")
            }
            out[name]["rounds"] = len(results)
            out[name]["errors"] = sum(r["errors"] for r in results)
    return out


def py_spy_command(explicit: str | None) -> list[str] | None:
    if explicit:
        return [explicit]
    if shutil.which("py-spy"):
        return ["py-spy"]
    if shutil.which("uvx"):
        return ["uvx", "py-spy"]
    return None


def collapsed_stacks(raw: str) -> tuple[Counter[str], Counter[str], int]:
    """Self and inclusive samples per function, and all samples, from py-spy's raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own, inclusive, total


def profile_top(raw: str, top: int) -> list[str]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own, inclusive, total = collapsed_stacks(raw)
    if not total:
        return ["(no samples)"]
    lines = [f"{total} samples; self time:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines.append("inclusive time:")
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return lines


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )


def _ms(us: float | None, *, added: float | None = None) -> str:
    if us is None:
        return "-"
    return f"{us / 1000:.3f}" + ("" if added is None else f" (+{added / 1000:.3f})")


def _ratio(value: float | None, floor: float | None) -> float | None:
    if value is None or not floor or floor <= 0:
        return None
    return value / floor


def _goal(ratio: float | None, goal: str, meets) -> str:
    if not goal:
        return ""
    if ratio is None:
        return goal
    return f"{goal}: {'met' if meets(ratio) else 'MISSED'}"


def _x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _mark(check: dict) -> str:
    """met / MISMATCH for a logged endpoint; n/a for one this build does not log."""
    if not check["ok"]:
        return "MISMATCH"
    return "met" if check["logging"] else "n/a"


def _get(group: dict, name: str, key: str) -> float | None:
    return (group.get(name) or {}).get(key)


def table(results: dict, args: argparse.Namespace) -> list[str]:
    """One row per measure and API: each target's figure, and Albicilla as a ratio to the bare
    floor and to the logging floor (the goals are set against the logging floor)."""
    rows = [
        "| phase | API | measure | direct | floor | logging floor | Albicilla | LiteLLM "
        "| Albicilla / floor | Albicilla / logging floor | goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def row(
        phase: str,
        api: str,
        measure: str,
        cells: list[str],
        ratios: tuple,
        goal: str = "",
        meets=None,
    ) -> None:
        to_floor, to_logging = ratios
        rows.append(
            f"| {phase} | {api} | {measure} | "
            + " | ".join(cells)
            + f" | {_x(to_floor)} | {_x(to_logging)} | "
            + f"{_goal(to_logging, goal, meets)} |"
        )

    def ratios(values: dict, key: str | None = None) -> tuple:
        get = (lambda n: values.get(n)) if key is None else (lambda n: _get(values, n, key))
        return (_ratio(get("albicilla"), get("floor")), _ratio(get("albicilla"), get("logfloor")))

    names = ("direct", "floor", "logfloor", "albicilla", "litellm")
    for api, g in results.get("latency_c1", {}).items():
        for key, label, goal in (
            ("p50_us", "latency median, 1 conn. (ms, added)", "<= 1.1x"),
            ("p99_us", "latency p99, 1 conn. (ms, added)", ""),
        ):
            direct = _get(g, "direct", key) or 0.0
            added = {n: _get(g, n, key) - direct for n in names[1:] if _get(g, n, key)}
            cells = [_ms(direct)] + [_ms(_get(g, n, key), added=added.get(n)) for n in names[1:]]
            row("1", api, label, cells, ratios(added), goal, lambda r: r <= 1.1)
        cells = [
            f"{_get(g, n, 'cpu_us_per_request'):.0f}" if _get(g, n, "rps") else "-" for n in names
        ]
        row(
            "1", api, "server CPU per request, 1 conn. (us)", cells, ratios(g, "cpu_us_per_request")
        )
    for api, g in results.get("throughput_c64", {}).items():
        cells = [f"{_get(g, n, 'rps'):.0f}" if _get(g, n, "rps") else "-" for n in names]
        row(
            "2",
            api,
            f"requests/s, {args.connections} connections",
            cells,
            ratios(g, "rps"),
            ">= 0.95x",
            lambda r: r >= 0.95,
        )
        cells = [
            f"{_get(g, n, 'cpu_us_per_request'):.0f}" if _get(g, n, "rps") else "-" for n in names
        ]
        row(
            "2",
            api,
            f"server CPU per request, {args.connections} conn. (us)",
            cells,
            ratios(g, "cpu_us_per_request"),
        )
        exact = g["exact_count"]
        logged = (
            f"{exact['logged']} of {exact['sent']}"
            if exact["logging"]
            else f"0 of {exact['sent']} (not logged by this build)"
        )
        rows.append(
            f"| 2 | {api} | log lines for {exact['sent']} requests | | | | {logged} | "
            f"| | | exactly once: {_mark(exact)} |"
        )
    for api, g in results.get("ttft", {}).items():
        for key, label in (
            ("median_ms", "time to first token median (ms, added)"),
            ("p99_ms", "time to first token p99 (ms, added)"),
        ):
            direct = _get(g, "direct", key) or 0.0
            added = {n: _get(g, n, key) - direct for n in names[1:] if _get(g, n, key)}
            cells = [_ms(direct * 1000)] + [
                _ms((_get(g, n, key) or 0) * 1000, added=added[n] * 1000) if n in added else "-"
                for n in names[1:]
            ]
            row("3", api, label, cells, ratios(added))
    for api, g in results.get("sse50_c32", {}).items():
        cells = [f"{_get(g, n, 'rps'):.0f}" if _get(g, n, "rps") else "-" for n in names]
        row(
            "4",
            api,
            f"{args.sse_tokens}-chunk streams/s, {args.sse_connections} connections",
            cells,
            ratios(g, "rps"),
            ">= 0.9x",
            lambda r: r >= 0.9,
        )
        cells = [
            f"{_get(g, n, 'cpu_us_per_request'):.0f}" if _get(g, n, "rps") else "-" for n in names
        ]
        row("4", api, "server CPU per stream (us)", cells, ratios(g, "cpu_us_per_request"))
        rec = g["records"]
        logged = (
            f"{rec['correct']} right, {rec['wrong']} wrong (client completed "
            f"{rec['client_completed']})"
            if rec["logging"]
            else "0 (not logged by this build)"
        )
        rows.append(
            f"| 4 | {api} | streams rebuilt in the log | | | | {logged} | | | | all: {_mark(rec)} |"
        )
    many = results.get("many_streams")
    if many:
        fl, lf, al = many["floor"], many.get("logfloor"), many["albicilla"]
        lf = lf or {
            "complete": "-",
            "ok": True,
            "cpu_us_per_chunk": None,
            "stream_p50_s": None,
            "stream_max_s": None,
            "workers": [],
        }
        both = ", ".join(many["apis"])
        done = fl["ok"] and lf["ok"] and al["ok"]
        rows.append(
            f"| 5 | {both} | {fl['streams']} slow streams complete | | {fl['complete']} | "
            f"{lf['complete']} | {al['complete']} | | | | "
            f"all: {'met' if done else 'FAILED'} |"
        )
        for api, rec in many["records"].items():
            logged = (
                f"{rec['correct']} of {rec['sent']}"
                if rec["logging"]
                else f"0 of {rec['sent']} (not logged by this build)"
            )
            rows.append(
                f"| 5 | {api} | slow streams logged and rebuilt | | | | {logged} | | | | "
                f"all: {_mark(rec)} |"
            )
        per = {"floor": fl, "logfloor": lf, "albicilla": al}

        def num(x: float | None, fmt: str) -> str:
            return "-" if x is None else format(x, fmt)

        cpu = {n: v["cpu_us_per_chunk"] for n, v in per.items()}
        row(
            "5",
            both,
            "CPU per relayed upstream write (us)",
            ["", *(num(cpu[n], ".0f") for n in per), ""],
            ratios(cpu),
        )
        p50 = {n: v["stream_p50_s"] for n, v in per.items()}
        row(
            "5",
            both,
            "stream p50 / max (s)",
            [
                "",
                *(
                    f"{num(v['stream_p50_s'], '.2f')} / {num(v['stream_max_s'], '.2f')}"
                    for v in per.values()
                ),
                "",
            ],
            ratios(p50),
        )
        row(
            "5",
            both,
            "streams per worker (peak sockets / 2)",
            [
                "",
                *(
                    " / ".join(str(w["peak_sockets"] // 2) for w in v["workers"])
                    for v in per.values()
                ),
                "",
            ],
            (None, None),
        )
        peak = max(w["vmhwm_mb"] for w in al["workers"])
        hwm = {n: max((w["vmhwm_mb"] for w in v["workers"]), default=None) for n, v in per.items()}
        row(
            "5",
            both,
            "peak RSS per worker (VmHWM, MB)",
            [
                "",
                *(", ".join(f"{w['vmhwm_mb']:.0f}" for w in v["workers"]) for v in per.values()),
                "",
            ],
            ratios(hwm),
            "< 300 MB",
            lambda r: peak < 300,
        )
    return rows
