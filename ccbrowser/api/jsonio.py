"""One JSON decoder for everything a server (or an import file) sends, and one strict encoder.

``json.loads`` alone is not safe on untrusted bytes: it recurses (``RecursionError`` around 100k
levels, and anything that walks the result later recurses too), it accepts ``NaN`` and
``Infinity``, it turns ``1e999`` into ``inf`` (which ``json.dumps`` then writes back as
non-standard JSON), and it guesses UTF-16/32 from bytes. :func:`decode` fixes all of that and
raises one exception type, :class:`BadJSON`, with a short reason:

- **UTF-8 only**: invalid UTF-8 is refused (with the byte offset), never replaced.
- **Depth** is checked before parsing, without recursion, on a skeleton of the brackets that are
  not inside strings: deeper than ``max_depth`` is refused.
- **Non-finite numbers** (``NaN``, ``Infinity``, ``-Infinity`` and floats that overflow, such as
  ``1e999``) decode to a ``str`` holding the literal text as received (``"NaN"``, ``"1e999"``), so
  nothing becomes a Python ``inf``/``nan`` and every value encodes back to strict JSON. Integers of
  any size stay Python ``int`` (range checks belong to whoever stores them), except beyond
  Python's 4300-digit conversion limit, where they too decode to their literal text.
- Lone surrogate escapes (``"\\ud800"``) are valid JSON and are kept; :func:`encode` writes them
  back as ASCII escapes, the way the store's ``dumps`` does.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["BadJSON", "count_values", "decode", "encode"]


class BadJSON(ValueError):
    """The bytes are not strict, reasonably nested UTF-8 JSON; the message is a short reason."""


# Brackets and string delimiters only; braces become brackets (one kind to pair).
_NOT_SKELETON = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_ESCAPED_QUOTE_OR_BACKSLASH = re.compile(rb'\\[\\"]')


def _depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth`` (no recursion, C-speed passes).

    Escaped backslashes and quotes are dropped first, so every ``"`` left delimits a string; the
    brackets inside strings are dropped; then each pass removes the innermost ``[]`` pairs, i.e.
    exactly one level. Unbalanced input stops early and is left to the parser.
    """
    if b'\\"' in data:
        data = _ESCAPED_QUOTE_OR_BACKSLASH.sub(b"", data)
    skeleton = data.translate(_ONE_KIND, _NOT_SKELETON)
    quotes = skeleton.count(b'"')
    if len(skeleton) - quotes <= max_depth:
        return False
    if quotes:
        # Dropping two adjacent quotes keeps every bracket's side (in or out of a string), and
        # leaves only the quotes around strings that hold brackets to split on.
        skeleton = skeleton.replace(b'""', b"")
        if b'"' in skeleton:
            skeleton = b"".join(skeleton.split(b'"')[::2])
    for _ in range(max_depth):
        shorter = skeleton.replace(b"[]", b"")
        if not shorter or len(shorter) == len(skeleton):
            return False  # balanced within max_depth, or unbalanced (the parser says how)
        skeleton = shorter
    return True


# Where a float might overflow: a 3-digit positive exponent, or 100+ digits in a row. Found with
# C-speed finds on a copy where digits, "." and "-" are 0, e/E is e, "+" is dropped, what may
# precede a value (":,[") is ":", whitespace stays " " and the rest is "x": a match inside a
# string (an id such as "a1e389", "[E0502]") is told apart by what precedes it.
_NUMBER_CLASS = {**dict.fromkeys(b"0123456789.-", 48), 69: 101, 101: 101, **dict.fromkeys(b":,[", 58)}
_NUMBER_MAP = bytes(_NUMBER_CLASS.get(b, 32 if b in b" \t\r\n" else 120) for b in range(256))
_CANDIDATES = (b"0e000", b"0" * 100)


def _may_overflow(data: bytes) -> bool:
    """Whether some number may overflow a float; then decoding pays for a Python float hook."""
    mapped = data.translate(_NUMBER_MAP, b"+")
    for needle in _CANDIDATES:
        i = mapped.find(needle)
        while i >= 0:
            # The run of digits and spaces before it; longer than the window only inside a
            # digit run that the second needle finds from its start anyway.
            window = mapped[max(0, i - 4096) : i]
            start = i - len(window) + len(window.rstrip(b"0e").rstrip(b" "))
            if start == 0 or mapped[start - 1] == 58:  # ":" (or "," or "[")
                return True
            i = mapped.find(needle, i + len(needle))
    return False


_NOT_VALUE_MARKS = bytes(b for b in range(256) if b not in b'"[{,')


def count_values(data: bytes) -> int:
    """About how many values ``data`` holds (containers and commas outside strings, plus one).

    What decoding costs is mostly per value (an empty dict is 64 bytes for 3 bytes of JSON), so a
    caller bounds this count to bound memory; C-speed passes like the depth scan.
    """
    if b'\\"' in data:
        data = _ESCAPED_QUOTE_OR_BACKSLASH.sub(b"", data)
    marks = data.translate(None, _NOT_VALUE_MARKS).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    return len(marks) + 1


def _constant(literal: str) -> str:
    return literal  # NaN, Infinity, -Infinity: kept as the text received


def _float(literal: str) -> float | str:
    value = float(literal)
    return value if value - value == 0.0 else literal  # inf - inf is nan


def _int(literal: str) -> int | str:
    try:
        return int(literal)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return literal


def decode(data: bytes | bytearray | memoryview, *, max_depth: int) -> Any:
    """Strict JSON from UTF-8 bytes; :class:`BadJSON` with a short reason for anything else."""
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJSON(f"invalid UTF-8 at byte {exc.start}") from None
    if _depth_exceeds(raw, max_depth):
        raise BadJSON(f"JSON nested deeper than {max_depth} levels")
    hook = _float if _may_overflow(raw) else None
    try:
        return json.loads(text, parse_constant=_constant, parse_float=hook)
    except json.JSONDecodeError as exc:
        raise BadJSON(f"invalid JSON at byte {_byte_offset(text, exc.pos)}: {exc.msg}") from None
    except ValueError:  # an integer beyond the digit limit: decode those to their text
        try:
            return json.loads(text, parse_constant=_constant, parse_float=hook, parse_int=_int)
        except ValueError as exc:
            raise BadJSON(f"invalid JSON: {exc}") from None
    except RecursionError:  # unbalanced brackets past the pre-scan; belt and braces
        raise BadJSON(f"JSON nested deeper than {max_depth} levels") from None


def _byte_offset(text: str, pos: int) -> int:
    return pos if text.isascii() else len(text[:pos].encode("utf-8", "surrogatepass"))


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_ENCODE_SORTED = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
).encode


def encode(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact strict JSON (no NaN/Infinity: ``ValueError``), UTF-8 text kept as is.

    A value holding lone surrogates cannot be written as UTF-8, so then the whole text falls back
    to ASCII escapes, exactly like ``ccbrowser.store.extract.dumps``.
    """
    text = (_ENCODE_SORTED if sort_keys else _ENCODE)(obj)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys)
    return text
