"""JSON in and out at native speed (msgspec), with the standard library for what msgspec refuses.

Every value reads and writes exactly as `json` would: msgspec is only the fast path. It refuses
(and `json` then does the work) lone surrogates, NaN and Infinity, numbers past a double, a
byte order mark and nesting past its limit; integers of any size it reads and writes itself.
`orjson` was measured too (bench/RESULTS.md) and left out: it reads an integer past 64 bits as
a float without a word, so a record's meaning could change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

# What msgspec raises for input it will not read (a str with lone surrogates is not UTF-8) or
# values it will not write; the standard library then decides (it reads more, and raises what
# it raised before for the rest).
_REFUSED_READ = (msgspec.MsgspecError, RecursionError, UnicodeEncodeError)
_REFUSED_WRITE = (TypeError, UnicodeEncodeError, OverflowError, RecursionError)


class NonFinite(float):
    """NaN or +-Infinity as the standard library read it: msgspec would write it as null (a
    changed value), but refuses this subclass, so the standard library writes it back as read."""

    __slots__ = ()


_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode
_stdlib_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_stdlib_ascii = json.JSONEncoder(separators=(",", ":")).encode
_stdlib_sorted = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_stdlib_strict = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


# msgspec alone, for hot loops (no Python frame of ours): for UTF-8 bytes it reads, the value
# `loads` and `loads_for_record` return; for anything else ValueError (msgspec.DecodeError) or
# RecursionError, and the caller reads those the full way.
loads_native = _decode


# For hot loops that read one usual shape: a Struct subclass names the fields they use, and
# `native_reader` reads JSON bytes into it with msgspec (other fields skipped), raising
# ValueError (msgspec.ValidationError, DecodeError) for any other shape or for what msgspec
# refuses; the caller then reads those the full way.
Struct = msgspec.Struct
# A Struct field's default for "not in the object": a field typed `X | UnsetType` set to UNSET.
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType
_T = TypeVar("_T")


def native_reader(shape: type[_T]) -> Callable[[bytes], _T]:
    return msgspec.json.Decoder(shape).decode


def loads(data: bytes | str) -> Any:
    """`json.loads(data)`: the same value, or the same exception (NaN and Infinity as
    `NonFinite`, so that `dumps` writes them back as they were read)."""
    try:
        return _decode(data)
    except _REFUSED_READ:
        # Rare: a decoder built per call. A number past a double reads as infinity: NonFinite too.
        return json.loads(data, parse_constant=NonFinite, parse_float=_float)


def loads_for_record(data: bytes | str) -> Any:
    """JSON read into a value a record may hold: `json.loads`, with NaN, Infinity, -Infinity and
    floats past a double read as None (they are not JSON: written back, JavaScript's JSON.parse,
    jq and serde_json would refuse the line). One rule for requests, non-streamed answers and
    stream events; the bytes relayed to the upstream and the client are never rewritten.
    ValueError when `data` is not JSON."""
    try:
        return _decode(data)
    except _REFUSED_READ:
        if isinstance(data, (bytes, bytearray)):
            data = data.decode(json.detect_encoding(data), "surrogatepass")
        return json.loads(data, parse_constant=_null, parse_float=_finite_or_null)


def _null(_: str) -> None:
    return None


def _finite_or_null(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else NonFinite(value)


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8, what `json.dumps(value, ensure_ascii=False, separators=(",",
    ":"))` reads back equal from; a string with lone surrogates makes the whole text ASCII
    (escaped), since such text is not UTF-8."""
    try:
        return _encode(value)
    except _REFUSED_WRITE:
        pass
    try:
        return _stdlib_compact(value).encode("utf-8")
    except UnicodeEncodeError:
        return _stdlib_ascii(value).encode("ascii")


def dumps_line(value: Any) -> bytes:
    """`dumps(value)` and a line break: one JSONL line."""
    return dumps(value) + b"\n"


def dumps_text(value: Any) -> str:
    """Compact JSON as text, lone surrogates kept (as `json.dumps` with ensure_ascii=False)."""
    try:
        return _encode(value).decode("utf-8")
    except _REFUSED_WRITE:
        return _stdlib_compact(value)


def dumps_sorted(value: Any) -> str:
    """Compact JSON text with every object's keys sorted: a canonical form for comparing."""
    try:
        return _encode_sorted(value).decode("utf-8")
    except _REFUSED_WRITE:
        return _stdlib_sorted(value)


def dumps_strict(value: Any) -> str:
    """Compact JSON text that is strict JSON: NaN and Infinity raise ValueError."""
    try:
        return _encode(value).decode("utf-8")
    except _REFUSED_WRITE:
        return _stdlib_strict(value)
