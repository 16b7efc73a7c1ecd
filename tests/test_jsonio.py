"""The fast JSON helpers read and write every value exactly as the standard library does."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albicilla import jsonio

# Lone surrogates included: a client's JSON may carry "\ud800", which is not UTF-8.
_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()))
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: well past 64 bits
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


def _nested(depth: int) -> object:
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


# Values compared by repr: NaN is never equal to itself, and its repr is all there is to it.
def _stdlib_read(data: bytes | str) -> tuple[str, object]:
    try:
        return "value", repr(json.loads(data))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)


def _ours_read(data: bytes | str) -> tuple[str, object]:
    try:
        return "value", repr(jsonio.loads(data))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)


@settings(max_examples=400)
@given(_VALUES)
def test_a_written_line_reads_back_equal_with_the_standard_library(value):
    line = jsonio.dumps_line(value)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == value


@settings(max_examples=400)
@given(_VALUES)
def test_text_the_standard_library_wrote_reads_the_same(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert _ours_read(text) == _stdlib_read(text)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates written raw: not UTF-8, not a line we read
            continue
        assert _ours_read(data) == _stdlib_read(data)


@settings(max_examples=300)
@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_any_bytes_read_the_same_or_fail_the_same(data):
    assert _ours_read(data) == _stdlib_read(data)


@pytest.mark.parametrize("depth", [10, 500, 2000, 20000])
def test_deep_nesting_reads_and_writes_as_the_standard_library(depth):
    value = _nested(depth)
    try:
        text = json.dumps(value)
    except RecursionError:
        text = "[" * depth + "]" * depth
    assert _ours_read(text.encode()) == _stdlib_read(text.encode())
    if depth <= 500:
        assert json.loads(jsonio.dumps_line(value)) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"18446744073709551616", 2**64),
        (b"-9223372036854775809", -(2**63) - 1),
        (b"1" * 60, int("1" * 60)),
        (b'"\\ud800x"', "\ud800x"),
        (b"1e400", math.inf),
        (b"\xef\xbb\xbf{}", {}),
    ],
)
def test_values_the_fast_path_refuses_are_read_as_the_standard_library_reads_them(text, expected):
    got = jsonio.loads(text)
    assert got == expected and type(got) is type(json.loads(text)) or isinstance(got, float)
    assert json.loads(jsonio.dumps_line(got)) == expected


def test_nan_and_infinity_are_written_back_as_read_not_as_null():
    value = jsonio.loads(b'{"a": NaN, "b": Infinity, "c": -Infinity}')
    line = jsonio.dumps_line(value)
    assert line == b'{"a":NaN,"b":Infinity,"c":-Infinity}\n'


def test_an_event_reads_nan_as_null_so_a_rebuilt_response_stays_json():
    assert jsonio.loads_for_record('{"a": NaN, "b": [Infinity]}') == {"a": None, "b": [None]}
    with pytest.raises(ValueError):
        jsonio.loads_for_record("{not json")


def test_a_record_with_a_lone_surrogate_is_written_escaped_and_stays_exact():
    line = jsonio.dumps_line({"text": "a\ud800b", "big": 2**70})
    assert line.isascii()
    assert json.loads(line) == {"text": "a\ud800b", "big": 2**70}


@settings(max_examples=200)
@given(_VALUES)
def test_sorted_text_is_canonical_and_reads_back_equal(value):
    assert json.loads(jsonio.dumps_sorted(value)) == value
    if isinstance(value, dict):
        again = dict(reversed(list(value.items())))
        assert jsonio.dumps_sorted(again) == jsonio.dumps_sorted(value)


class _Shape(jsonio.Struct):
    name: str
    index: int


def test_native_reader_reads_its_fields_skips_others_and_refuses_other_shapes():
    read = jsonio.native_reader(_Shape)
    got = read(b'{"index": 2, "other": [1, {"x": null}], "name": "caf\xc3\xa9", "index": 3}')
    assert (got.name, got.index) == ("café", 3)  # the last of a repeated key, as json.loads
    for refused in (
        b'{"name": "a", "index": true}',
        b'{"name": "a", "index": 1.0}',
        b'{"name": "a"}',
        b'{"name": "\xff", "index": 1}',
        b'{"name": "a", "index": 1',
        b"[]",
    ):
        with pytest.raises(ValueError):
            read(refused)
