"""What the commands print: local ISO times and strict JSON.

Strict JSON: Python's `json` reads `NaN`, `Infinity` and `1e999` and writes them back as `NaN` and
`Infinity`, which other parsers (jq, JavaScript, Go, the `openai` SDKs) reject. Every JSON the CLI
writes goes through here, and a non-finite number is written as the string of its text
(`"Infinity"`, `"-Infinity"`, `"NaN"`, or `"1e999"` where the literal text was kept: `import`
and `api.jsonio` keep it). `import` reads those strings back as strings: an export of an export
is identical.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

_NON_FINITE = ("NaN", "Infinity")
_STORED_DEPTH = 10_000  # stored text was written by json.dumps, which recursed that far


def iso_time(ts: int | float | None) -> str | None:
    """A Unix time as local ISO 8601, or None when there is none or it is out of range."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts).astimezone().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, *, indent: int | None = None, ensure_ascii: bool = True, compact: bool = False) -> str:
    """`json.dumps` that never writes NaN/Infinity (they become strings, see above)."""
    separators = (",", ":") if compact else None
    try:
        return json.dumps(
            value, ensure_ascii=ensure_ascii, allow_nan=False, indent=indent, separators=separators
        )
    except ValueError:  # a non-finite float somewhere: rare, so only then walk the value
        return json.dumps(
            _finite(value), ensure_ascii=ensure_ascii, allow_nan=False, indent=indent, separators=separators
        )


def strict(text: str) -> str:
    """Stored JSON text as strict JSON: unchanged (byte for byte) unless it holds NaN or Infinity.

    Decoded with `api.jsonio` (non-finite numbers become their text); written back ASCII-escaped
    like the stored text (`jsonio.encode` keeps UTF-8 as is, and a C1 control must not reach a
    terminal raw).
    """
    if not any(token in text for token in _NON_FINITE):
        return text
    from ccbrowser.api.jsonio import BadJSON, decode

    try:
        value = decode(text.encode("utf-8", "surrogatepass"), max_depth=_STORED_DEPTH)
    except BadJSON:  # deeper than anything sync or import stores now: fall back to the slow walk
        value = json.loads(text)
    return dumps(value, compact=True)
