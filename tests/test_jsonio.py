"""The one JSON decoder for untrusted bytes, and the strict encoder."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbrowser.api.jsonio import BadJSON, decode, encode
from ccbrowser.emulator.corpus import Corpus, store_messages
from ccbrowser.store.extract import dumps


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def test_real_pages_decode_exactly_like_json_loads() -> None:
    corpus = Corpus(300, seed=7)
    page = {"object": "list", "data": [corpus.completion(i) for i in range(300)], "has_more": True}
    msgs = [m for i in range(100) for m in store_messages(corpus.id_of(i), corpus.input_messages(i))]
    for obj in (page, {"object": "list", "data": msgs, "has_more": False}):
        for raw in (json.dumps(obj).encode(), json.dumps(obj, ensure_ascii=False, indent=2).encode()):
            assert decode(raw, max_depth=32) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [b"1", b'"x"', b"[]", b"{}", b"[[[]]]", b'{"a":{"b":[1]}}', b'["[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]'],
)
def test_within_the_depth(raw: bytes) -> None:
    assert decode(raw, max_depth=3) == json.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[[[[]]]]",
        b'{"a":{"b":{"c":{}}}}',
        b'[{"a":[{}]}]',
        b'["\\"", [[["\\\\"]]]]',  # escaped quote and escaped backslash do not hide a level
        b" [ [ [ [ 1 ] ] ] ] ",
    ],
)
def test_deeper_than_the_limit_is_refused(raw: bytes) -> None:
    with pytest.raises(BadJSON, match="nested deeper than 3 levels"):
        decode(raw, max_depth=3)


def test_brackets_in_strings_do_not_count_and_cannot_hide_levels() -> None:
    # Strings holding "]]" then "[[" would make a bracket count look shallow.
    raw = b'[[ "]]", [[ ]], "[[" ]]'
    assert depth(json.loads(raw)) == 4
    assert decode(raw, max_depth=4) == json.loads(raw)
    with pytest.raises(BadJSON):
        decode(raw, max_depth=3)
    noisy = json.dumps(["]" * 50, "[" * 50, {"k]": "{", "v": '\\"['}]).encode()
    assert decode(noisy, max_depth=2) == json.loads(noisy)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n,:'),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=4)
    ),
    max_leaves=40,
)


@given(json_values, st.integers(min_value=1, max_value=8), st.booleans())
@settings(max_examples=400, deadline=None)
def test_depth_check_agrees_with_the_real_depth(value: Any, limit: int, pretty: bool) -> None:
    raw = json.dumps(value, indent=1 if pretty else None).encode()
    if depth(value) <= limit:
        assert decode(raw, max_depth=limit) == value
    else:
        with pytest.raises(BadJSON, match="nested deeper"):
            decode(raw, max_depth=limit)


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000]
)
def test_hundred_thousand_levels_are_one_bad_json_not_a_recursion_error(raw: bytes) -> None:
    with pytest.raises(BadJSON, match="nested deeper than 128"):
        decode(raw, max_depth=128)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'["caf\xc3"]', "invalid UTF-8 at byte 5"),
        (b"\xff\xfe[\x001\x00]\x00", "invalid UTF-8 at byte 0"),  # UTF-16 is not guessed
        (b'{"a": 1,}', "invalid JSON at byte 8"),
        (b"[1] [2]", "invalid JSON at byte 4: Extra data"),
        (b'["\xc3\xa9", x]', "invalid JSON at byte 7"),  # a byte offset, not a character offset
        (b"", "invalid JSON at byte 0"),
        (b"[undefined]", "invalid JSON"),
        (b"[True]", "invalid JSON"),
    ],
)
def test_bad_input_is_one_exception_with_a_short_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadJSON) as info:
        decode(raw, max_depth=8)
    assert str(info.value).startswith(reason) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[NaN, Infinity, -Infinity]", ["NaN", "Infinity", "-Infinity"]),
        (b'{"t": 1e999, "u": -1E+400, "v": 1e-400}', {"t": "1e999", "u": "-1E+400", "v": 0.0}),
        (b"[" + b"9" * 400 + b".5]", ["9" * 400 + ".5"]),
        (b"[" + b"9" * 300 + b"e10]", ["9" * 300 + "e10"]),
        (b"[1e308, 1.5, 2E+10]", [1e308, 1.5, 2e10]),
    ],
)
def test_non_finite_numbers_become_their_literal_text(raw: bytes, expected: Any) -> None:
    value = decode(raw, max_depth=4)
    assert value == expected
    text = encode(value)  # strict: a non-finite float would raise here
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}")) == expected


def test_lookalikes_of_huge_floats_inside_strings_stay_strings() -> None:
    raw = b'{"id": "chatcmpl-a1e389", "note": "error[E0502]: 1e999", "x": 1.0e+5}'
    assert decode(raw, max_depth=4) == {"id": "chatcmpl-a1e389", "note": "error[E0502]: 1e999", "x": 1.0e5}


def test_integers_of_any_size_stay_ints() -> None:
    assert decode(b'{"created": 1180591620717411303424}', max_depth=2) == {"created": 2**70}
    assert decode(b"[-" + b"9" * 4000 + b"]", max_depth=2) == [-int("9" * 4000)]
    # Beyond Python's int conversion limit only: the literal text, not a ValueError.
    assert decode(b"[" + b"7" * 5000 + b", 1]", max_depth=2) == ["7" * 5000, 1]


@pytest.mark.parametrize(
    "value",
    [
        {"a": "caf\u00e9 \U0001f600", "b": [1, 2.5, None, True]},
        {"lone": "\ud800 x", "ok": "\u00e9"},
        ["\udfff"],
        {"z": 1, "a": {"y": 2, "b": 3}},
        "plain",
    ],
)
def test_encode_matches_the_store_dumps(value: Any) -> None:
    for sort_keys in (False, True):
        text = encode(value, sort_keys=sort_keys)
        assert text == dumps(value, sort_keys=sort_keys)
        text.encode("utf-8")  # always storable as UTF-8
        assert decode(text.encode(), max_depth=8) == value


def test_encode_refuses_non_finite_floats() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            encode({"x": bad})
