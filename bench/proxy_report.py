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


def verify_streams(records: list[dict], expected: str) -> dict:
    """Count records rebuilt exactly (complete, content, finish reason, usage) and the rest."""
    correct = wrong = cut = other = 0
    for r in records:
        if not r["complete"]:
            if r["error"] == "client disconnected":
                cut += 1
            else:
                other += 1
            continue
        choices = (r["response"] or {}).get("choices") or [{}]
        message = choices[0].get("message") or {}
        if (r["status"] == 200 and r["stream"] and message.get("content") == expected
                and choices[0].get("finish_reason") == "stop"
                and (r["response"].get("usage") or {}).get("completion_tokens")
                == expected.count("tok")):
            correct += 1
        else:
            wrong += 1
    return {"records": len(records), "correct": correct, "wrong": wrong,
            "cut_by_client_stop": cut, "other_incomplete": other}


# -- reporting -----------------------------------------------------------------------------

def summarize(runs: dict[str, list[dict]]) -> dict:
    """Median over rounds of each target's rate and latency percentiles."""
    out = {}
    for name, results in runs.items():
        if results:
            out[name] = {key: statistics.median(r[key] for r in results)
                         for key in ("rps", "p50_us", "p99_us", "cpu_us_per_request")}
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


def profile_top(raw: str, top: int) -> list[str]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
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
    return (f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
            f"{platform.platform()}, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.2f} at start")


def table(results: dict, args: argparse.Namespace) -> list[str]:
    rows = ["| measure | direct | Albicilla | LiteLLM | Albicilla vs direct | goal |",
            "|---|---|---|---|---|---|"]

    def cell(group: dict, name: str, key: str, scale: float = 1.0, fmt: str = "{:.0f}") -> str:
        value = group.get(name, {}).get(key)
        return fmt.format(value * scale) if value is not None else "-"

    lat = results.get("latency_c1")
    if lat:
        for key, label in (("p50_us", "median"), ("p99_us", "p99")):
            added = (lat["albicilla"][key] - lat["direct"][key]) / 1000
            goal = "<= 1 ms added" if key == "p50_us" else ""
            rows.append(f"| non-streaming latency {label}, 1 connection (ms) | "
                        f"{cell(lat, 'direct', key, 1e-3, '{:.3f}')} | "
                        f"{cell(lat, 'albicilla', key, 1e-3, '{:.3f}')} | "
                        f"{cell(lat, 'litellm', key, 1e-3, '{:.3f}')} | "
                        f"+{added:.3f} ms | {goal} |")
        rows.append(f"| requests/s, 1 connection | {cell(lat, 'direct', 'rps')} | "
                    f"{cell(lat, 'albicilla', 'rps')} | {cell(lat, 'litellm', 'rps')} | "
                    f"{lat['albicilla']['rps'] / lat['direct']['rps']:.2f}x | |")
    thr = results.get("throughput_c64")
    if thr:
        exact = thr["exact_count"]
        rows.append(f"| requests/s, {args.connections} connections, all logged | "
                    f"{cell(thr, 'direct', 'rps')} | {cell(thr, 'albicilla', 'rps')} | "
                    f"{cell(thr, 'litellm', 'rps')} | "
                    f"{thr['albicilla']['rps'] / thr['direct']['rps']:.2f}x | >= 1,500 req/s |")
        rows.append(f"| latency p50 / p99, {args.connections} connections (ms) | "
                    + " | ".join(
                        f"{cell(thr, n, 'p50_us', 1e-3, '{:.1f}')} / "
                        f"{cell(thr, n, 'p99_us', 1e-3, '{:.1f}')}"
                        for n in ("direct", "albicilla", "litellm"))
                    + " | | |")
        rows.append(f"| exact count: {exact['sent']} requests -> log lines | | "
                    f"{exact['logged']} | | {'equal' if exact['ok'] else 'MISMATCH'} | "
                    "every request logged |")
    ttft = results.get("ttft")
    if ttft:
        for key, label in (("median_ms", "median"), ("p99_ms", "p99")):
            added = ttft["albicilla"][key] - ttft["direct"][key]
            goal = "<= 2 ms added" if key == "median_ms" else ""
            rows.append(f"| time to first token {label} (ms) | "
                        f"{cell(ttft, 'direct', key, 1, '{:.3f}')} | "
                        f"{cell(ttft, 'albicilla', key, 1, '{:.3f}')} | "
                        f"{cell(ttft, 'litellm', key, 1, '{:.3f}')} | +{added:.3f} ms | {goal} |")
    sse = results.get("sse50_c32")
    if sse:
        rec = sse["records"]
        rows.append(f"| {args.sse_tokens}-chunk streams/s, {args.sse_connections} connections | "
                    f"{cell(sse, 'direct', 'rps')} | {cell(sse, 'albicilla', 'rps')} | "
                    f"{cell(sse, 'litellm', 'rps')} | "
                    f"{sse['albicilla']['rps'] / sse['direct']['rps']:.2f}x | report |")
        rows.append(f"| streams rebuilt correctly in the log | | {rec['correct']} of "
                    f"{rec['client_completed']} completed | | "
                    f"{'all' if rec['ok'] else 'MISMATCH'} | every record |")
    many = results.get("many_streams")
    if many:
        peak = max(w["vmhwm_mb"] for w in many["workers"])
        rows.append(f"| {many['streams']} concurrent slow streams: complete / logged right | | "
                    f"{many['complete']} / {many['records']['correct']} | | "
                    f"{'all' if many['ok'] else 'FAILED'} | all |")
        rows.append("| peak RSS per worker (VmHWM, MB) | | "
                    + ", ".join(f"{w['vmhwm_mb']:.0f}" for w in many["workers"])
                    + f" | | max {peak:.0f} MB | < 300 MB |")
    return rows
