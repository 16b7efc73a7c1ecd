"""CPU to rebuild one stream of each logged API from its bytes, beside `json` alone on its events.

    uv run python bench/bench_rebuild.py [--tokens 50] [--rounds 7] [--streams 300]
                                         [--chunk N | --as-written]

The streams are the proxy benchmark's own (bench/api_bodies.py: what nginx serves in
`bench/run proxy` phase 4). For each API it times, in this process, the whole record-side work
of a stream (the API's accumulator fed the body, closed, asked for its response, which is
serialised as the record's line), the logging floor's work on the same reads (each line parsed
once with msgspec, the text joined and serialised: bench/logging_floor.py) and, for scale, one
`json.loads` per event and one `json.loads` of all the events joined into a list.
Microseconds per stream, the minimum over rounds: other load only ever adds to it. To compare
two checkouts side by side, run it twice with `PYTHONPATH=<checkout>`, alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import api_bodies  # noqa: E402
import logging_floor  # noqa: E402

from albicilla.apis import LoggedApi, api_for_path  # noqa: E402
from albicilla.logs.store import serialize_record  # noqa: E402


def rebuild(api: LoggedApi, chunks: list[bytes]) -> object:
    """What the proxy does with a stream's bytes for its record: rebuilt, then serialised."""
    stream = api.new_stream()
    for chunk in chunks:
        stream.feed(chunk)
    stream.close()
    return serialize_record({"response": stream.response()})


def floor_parse(path: str, chunks: list[bytes]) -> object:
    """What the logging floor does with the same reads for its record."""
    texts: list[str] = []
    held = b""
    for chunk in chunks:
        held, _ = logging_floor.read_chunk(path, held, chunk, texts)
    return logging_floor.serialize_reply(texts)


def parse_each(events: list[bytes]) -> object:
    return [json.loads(event) for event in events]


def best_us(work: Callable[[], object], rounds: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            work()
        best = min(best, (time.process_time() - start) / repeat * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50, help="text deltas per stream")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--streams", type=int, default=300, help="streams per round")
    parser.add_argument(
        "--chunk",
        type=int,
        default=0,
        help="feed the body in pieces of this many bytes, cut anywhere, as "
        "reads may arrive (default 0: the whole body at once)",
    )
    parser.add_argument(
        "--as-written",
        action="store_true",
        help="feed the body as the benchmark's upstream writes it: one read per event write "
        "(what a model streaming tokens over time gives the proxy)",
    )
    args = parser.parse_args(argv)
    if args.chunk < 0:
        parser.error("--chunk must be 0 or more")
    if args.chunk and args.as_written:
        parser.error("--chunk and --as-written exclude each other")
    fed = f", fed in {args.chunk}-byte pieces" if args.chunk else ""
    fed = ", fed as written (one read per write)" if args.as_written else fed
    print(f"us per stream, minimum over {args.rounds} rounds of {args.streams}{fed}:")
    print(
        f"{'api':10s} {'events':>6s} {'rebuild':>8s} {'log floor':>9s} {'json/event':>10s} "
        f"{'json joined':>11s} {'/ joined':>10s}"
    )
    for name in api_bodies.NAMES:
        body = api_bodies.stream_body(name, args.tokens)
        path = api_bodies.url_path(name, "bench-sse", stream=True).split("?")[0]
        api = api_for_path(path)
        assert api is not None, name
        events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: {")]
        joined = b"[" + b",".join(events) + b"]"

        size = args.chunk or len(body)
        chunks = [body[start : start + size] for start in range(0, len(body), size)]
        if args.as_written:
            chunks = api_bodies.stream_writes(name, args.tokens)
        rebuilt = best_us(partial(rebuild, api, chunks), args.rounds, args.streams)
        floor = best_us(partial(floor_parse, path, chunks), args.rounds, args.streams)
        per_event = best_us(partial(parse_each, events), args.rounds, args.streams)
        at_once = best_us(partial(json.loads, joined), args.rounds, args.streams)
        print(
            f"{name:10s} {len(events):6d} {rebuilt:8.0f} {floor:9.0f} {per_event:10.0f} "
            f"{at_once:11.0f} {rebuilt / at_once:9.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
