"""Load clients for bench_proxy.py: keep-alive load, time to first token, many slow streams.

Plain HTTP/1.1 over raw sockets (asyncio, or blocking for the sequential TTFT probe), so the
client's own cost stays small and is the same for every target.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit

HEAD_LIMIT = 65536


def request_bytes(url: str, body: bytes, *, close: bool = False) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n"
    ).encode() + body


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, decoded body, whether the connection can be reused)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    keep = headers.get("connection") != "close"
    if "chunked" in headers.get("transfer-encoding", ""):
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return status, b"".join(parts), keep
            parts.append((await reader.readexactly(size + 2))[:-2])
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), keep
    return status, await reader.read(), False


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": pick(0.99),
        "max": ordered[-1],
    }


async def _load(
    url: str,
    body: bytes,
    connections: int,
    total: int,
    seconds: float,
    check: Callable[[int, bytes], bool] | None,
) -> dict:
    request = request_bytes(url, body)
    host, port = _address(url)
    issued = 0
    ok = errors = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one_connection() -> None:
        nonlocal issued, ok, errors
        reader = writer = None
        while issued < total and time.monotonic() < deadline:
            issued += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
                start = time.perf_counter()
                writer.write(request)
                status, data, keep = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                if check(status, data) if check else status == 200:
                    ok += 1
                else:
                    errors += 1
                if not keep:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(one_connection() for _ in range(connections))), timeout=seconds + 60
    )
    elapsed = time.perf_counter() - started
    stats = percentiles(latencies)
    return {
        "requests": ok,
        "errors": errors,
        "seconds": elapsed,
        "rps": ok / elapsed,
        "p50_us": stats["p50"] * 1e6,
        "p99_us": stats["p99"] * 1e6,
    }


def load(
    url: str,
    body: bytes,
    *,
    connections: int,
    total: int,
    seconds: float,
    check: Callable[[int, bytes], bool] | None = None,
) -> dict:
    """Exactly `total` requests over `connections` keep-alive connections (or until `seconds`)."""
    return asyncio.run(_load(url, body, connections, total, seconds, check))


def time_to_first_token(url: str, body: bytes, marker: bytes, timeout: float = 30.0) -> float:
    """Seconds from sending the request (on an open connection) until `marker` arrives."""
    request = request_bytes(url, body, close=True)
    with socket.create_connection(_address(url), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        received = b""
        start = time.perf_counter()
        sock.sendall(request)
        first = None
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
            if first is None and marker in received:
                first = time.perf_counter() - start
            # The end of the chunked body (some servers are slow to close the connection).
            if first is not None and received.endswith(b"\r\n0\r\n\r\n"):
                break
            received = received[-65536:]
        if first is None:
            raise RuntimeError(f"{url}: the stream ended without {marker!r}")
        return first


Check = Callable[[int, bytes], bool]


async def _many_streams(
    kinds: list[tuple[str, bytes, Check]],
    count: int,
    seconds: float,
    sample: Callable[[], None] | None,
) -> dict:
    durations: list[float] = []
    failures: list[str] = []
    opened = 0

    async def one_stream(url: str, body: bytes, check: Check) -> None:
        nonlocal opened
        request = request_bytes(url, body, close=True)
        start = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(*_address(url), limit=HEAD_LIMIT)
        except OSError as exc:
            failures.append(f"connect: {exc}")
            return
        opened += 1
        try:
            writer.write(request)
            status, data, _ = await read_response(reader)
            if not check(status, data):
                failures.append(f"{urlsplit(url).path}: status {status}, {len(data)} bytes")
            else:
                durations.append(time.perf_counter() - start)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()

    async def sampler() -> None:
        while True:
            sample()
            await asyncio.sleep(0.5)

    sampling = asyncio.create_task(sampler()) if sample else None
    started = time.perf_counter()
    streams = [one_stream(*kinds[i % len(kinds)]) for i in range(count)]
    try:
        await asyncio.wait_for(asyncio.gather(*streams), timeout=seconds)
    except TimeoutError:
        failures.append(f"not all streams ended within {seconds:g}s")
    finally:
        if sampling:
            sampling.cancel()
    stats = percentiles(durations)
    return {
        "streams": count,
        "opened": opened,
        "complete": len(durations),
        "failures": failures[:10],
        "failed": len(failures),
        "wall_s": time.perf_counter() - started,
        "stream_p50_s": stats["p50"],
        "stream_max_s": stats["max"],
    }


def many_streams(
    kinds: list[tuple[str, bytes, Check]],
    *,
    count: int,
    seconds: float,
    sample: Callable[[], None] | None = None,
) -> dict:
    """`count` concurrent streams, dealt round-robin over `kinds` (URL, body, response check)."""
    return asyncio.run(_many_streams(kinds, count, seconds, sample))
