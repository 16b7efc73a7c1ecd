"""JSON text read into the values a record holds: one rule for requests, answers and events.

Python's json reads NaN, Infinity and -Infinity, and turns a float too large for a double
(1e999) into inf; written back, each of them makes the record's line something JavaScript's
JSON.parse, jq and serde_json refuse. In a record they are all null. Only the record changes:
the bytes relayed to the upstream and to the client are never rewritten.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


RECORD_JSON = json.JSONDecoder(parse_constant=lambda _: None, parse_float=_finite_float)


def loads_for_record(data: str | bytes) -> Any:
    """`json.loads` (str, or bytes in UTF-8/16/32 as it detects), with NaN, Infinity, -Infinity
    and overflowing floats read as None; ValueError when `data` is not JSON."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    return RECORD_JSON.decode(data)
