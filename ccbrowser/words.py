"""Counted nouns for people: "1 match", "2 matches", never "1 matches" or "match(es)"."""

from __future__ import annotations

_IRREGULAR = {"match": "matches", "retry": "retries", "entry": "entries", "this": "these"}


def plural(n: int, noun: str, many: str | None = None) -> str:
    """`n` (with thousands separators) and `noun`, in the plural unless `n` is 1."""
    return f"{n:,} {noun if n == 1 else many or _IRREGULAR.get(noun) or noun + 's'}"
