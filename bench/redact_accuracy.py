"""Measure `albicilla-conv --redact`: false positives per kind, and planted secrets found per kind.

    uv run python bench/redact_accuracy.py --mb 50

False positives: every redaction in a corpus without secrets is one: the realistic agent logs of
gen_agent_logs.py (--mb MiB), plus sessions whose tool output is HARD_NEGATIVES (git SHAs, UUIDs,
tool-call ids, model names, digests, code and placeholders) and base64 images. Goal: none.
True positives: every secret of redact_corpus.py planted in each place it occurs (user text,
system prompt, tool description, tool output, tool-call arguments, reply, user text parts, and
`\\u`-escaped in the log line and inside the arguments' JSON). A secret is found when no trace of
it is left in the output (arguments and other JSON strings are decoded before looking) and
`[REDACTED:<its kind>]` stands in its conversation. Goal: all. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redact_corpus import HARD_NEGATIVES, Planted, base64_image, planted_secrets  # noqa: E402

PLACES = (
    "user", "system", "tool_description", "tool_output", "arguments", "reply", "user_parts",
    "escaped_in_log", "escaped_in_arguments",
)  # fmt: skip


def _escape(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def session_record(place: str, text: str) -> str:
    """One log line of a tool-calling exchange with `text` in `place`."""
    arguments = json.dumps({"command": "ls -la", "path": "."})
    if place == "arguments":
        arguments = json.dumps({"command": f"cat <<'EOF' > .env\n{text}\nEOF", "path": ".env"})
    elif place == "escaped_in_arguments":
        arguments = '{"command": "' + _escape(text) + '"}'
    user: Any = f"Please set this up:\n{text}\n" if place in ("user", "escaped_in_log") else "Hi"
    if place == "user_parts":
        user = [{"type": "text", "text": "Please set this up:"}, {"type": "text", "text": text}]
    system = "You are a coding agent." + (f"\n{text}" if place == "system" else "")
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_Jk8sP2mQ7rT4vX9z", "type": "function",
             "function": {"name": "run_shell", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_Jk8sP2mQ7rT4vX9z",
         "content": f"$ cat .env\n{text}\n" if place == "tool_output" else "done"},
    ]  # fmt: skip
    description = "Run a shell command."
    if place == "tool_description":
        description += f" Auth: {text}"
    parameters = {"type": "object", "properties": {"command": {"type": "string"}}}
    tools = [{"type": "function", "function": {"name": "run_shell", "description": description,
              "parameters": parameters}}]  # fmt: skip
    reply = f"I used {text} as asked." if place == "reply" else "Done."
    record = {
        "timestamp": "2026-11-26T10:00:00.000000Z", "session_id": "s",
        "request": {"model": "gpt-4.1", "messages": messages, "tools": tools},
        "response": {"object": "chat.completion", "choices": [{
            "index": 0, "message": {"role": "assistant", "content": reply},
            "finish_reason": "stop"}]},
        "status": 200, "stream": False, "complete": True, "error": None, "duration_ms": 1.0,
        "endpoint": "/v1/chat/completions", "schema_version": 1,
    }  # fmt: skip
    line = json.dumps(record, ensure_ascii=False)
    if place == "escaped_in_log":
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]
        assert escaped in line
        line = line.replace(escaped, _escape(text))
    return line + "\n"


def decoded_strings(value: Any) -> Iterator[str]:
    """Every string in a value, and the strings inside any string that is itself JSON."""
    if type(value) is str:
        yield value
        if value.lstrip()[:1] in ("{", "["):
            try:
                yield from decoded_strings(json.loads(value))
            except ValueError:
                pass
    elif type(value) is dict:
        for item in value.values():
            yield from decoded_strings(item)
    elif type(value) is list:
        for item in value:
            yield from decoded_strings(item)


def convert(logs: str, output: str, *extra: str) -> tuple[Counter[str], str]:
    """Run the converter in this process; its redaction counts and its summary line."""
    return run_converter(logs, output, "--redact", *extra)


def run_converter(logs: str, output: str, *extra: str) -> tuple[Counter[str], str]:
    from albicilla.conv.cli import main

    err = io.StringIO()
    stderr, sys.stderr = sys.stderr, err
    try:
        status = main(["--logs", logs, "--output", output, *extra])
    finally:
        sys.stderr = stderr
    summary = err.getvalue().strip().splitlines()[-1]
    if status != 0:
        raise SystemExit(f"converter failed: {summary}")
    counts: Counter[str] = Counter()
    part = summary.partition(" redactions")[2].strip()
    for item in part.strip("()").split(", ") if part else ():
        kind, _, n = item.partition(": ")
        counts[kind] = int(n)
    return counts, summary


def measure_planted(root: str, seed: int, redact: bool = True) -> dict[str, Counter[str]]:
    """Per kind: how many were planted, found (no trace left), and labelled with their kind.

    `redact=False` runs the converter without --redact: the measure must then find nothing.
    """
    logs, output = os.path.join(root, "planted"), os.path.join(root, "planted-out")
    cases: dict[str, tuple[Planted, str]] = {}
    os.makedirs(os.path.join(logs, "2026-11-26"))
    for number, planted in enumerate(planted_secrets(random.Random(seed))):
        for place in PLACES:
            name = f"s{number:03d}-{place}"
            cases[name] = (planted, place)
            with open(os.path.join(logs, "2026-11-26", name + ".jsonl"), "w") as handle:
                handle.write(session_record(place, planted.text))
    run_converter(logs, output, "--no-json-tool-calls", *(["--redact"] if redact else []))
    result: dict[str, Counter[str]] = {}
    for name, (planted, place) in cases.items():
        with open(os.path.join(output, "2026-11-26", name + ".jsonl"), encoding="utf-8") as f:
            strings = list(decoded_strings(json.loads(f.read())))
        left = [t for t in planted.traces if any(t in s for s in strings)]
        tally = result.setdefault(planted.kind, Counter())
        tally["planted"] += 1
        tally["found"] += not left
        tally["labelled"] += any(f"[REDACTED:{planted.kind}]" in s for s in strings)
        if left:
            tally[f"missed in {place}"] += 1
    return result


def write_negatives(logs: str, seed: int) -> None:
    """Sessions whose user text and tool output are look-alikes and images, not secrets."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(logs, "2026-11-30"), exist_ok=True)
    for number in range(20):
        image = base64_image(rng)
        text = HARD_NEGATIVES if number % 2 else f"see {image}\n{HARD_NEGATIVES}"
        with open(os.path.join(logs, "2026-11-30", f"negatives-{number}.jsonl"), "w") as handle:
            handle.write(session_record("tool_output", text))


def measure_false_positives(root: str, megabytes: float, seed: int) -> Counter[str]:
    from gen_agent_logs import generate

    logs = os.path.join(root, "realistic")
    generate(logs, megabytes, seed=seed)
    write_negatives(logs, seed)
    counts, _ = convert(logs, os.path.join(root, "realistic-out"), "--single-file")
    return counts


def report(fp: Counter[str], tp: dict[str, Counter[str]], out: Callable[[str], None]) -> bool:
    out(
        f"false positives: {sum(fp.values())}"
        + "".join(f"\n  {k}: {n}" for k, n in sorted(fp.items()))
    )
    out(f"{'kind':24} {'planted':>8} {'found':>6} {'labelled':>9}  missed")
    for kind, tally in sorted(tp.items()):
        missed = ", ".join(
            f"{k[10:]}: {n}" for k, n in sorted(tally.items()) if k.startswith("missed")
        )
        out(f"{kind:24} {tally['planted']:8} {tally['found']:6} {tally['labelled']:9}  {missed}")
    total = sum(t["planted"] for t in tp.values())
    found = sum(t["found"] for t in tp.values())
    labelled = sum(t["labelled"] for t in tp.values())
    out(f"{'all':24} {total:8} {found:6} {labelled:9}")
    return not fp and found == total and labelled == total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=20, help="realistic corpus size, MiB")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="redact-accuracy-") as root:
        fp = measure_false_positives(root, args.mb, args.seed)
        tp = measure_planted(root, args.seed)
    return 0 if report(fp, tp, print) else 1


if __name__ == "__main__":
    raise SystemExit(main())
