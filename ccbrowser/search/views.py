"""Saved views in a query: `@NAME` stands for the query saved under NAME (the config's `[views]`).

Expansion is text to text, before parsing, so a view means exactly what its query means when typed,
and the rest of the query narrows it (the language ANDs its clauses: `@golden since:7d` is the
view's matches of the last week). A view may name other views; a cycle is an error. `@` inside
quotes, or not at the start of a word (`meta:owner=@bob`, an e-mail address), is text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ccbrowser.search.query import QueryError, parse

_REF = re.compile(r"@([A-Za-z][A-Za-z0-9_-]{0,63})")
MAX_DEPTH = 8


def references(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, name, negated) of each `@NAME` word outside quotes, in order."""
    out: list[tuple[int, int, str, bool]] = []
    i, n = 0, len(text)
    quoted = False
    while i < n:
        ch = text[i]
        if ch == '"':
            quoted = not quoted
            i += 1
            continue
        at_word = i == 0 or text[i - 1].isspace()
        if not quoted and at_word:
            j = i
            while j < n and text[j] == "-":
                j += 1
            m = _REF.match(text, j)
            if m and (m.end() == n or text[m.end()].isspace()):
                out.append((i, m.end(), m[1], j > i))
                i = m.end()
                continue
        i += 1
    return out


def expand(text: str, views: Mapping[str, str], _depth: int = 0, _seen: tuple[str, ...] = ()) -> str:
    """`text` with every `@NAME` replaced by its view's query; QueryError for an unknown view."""
    refs = references(text)
    if not refs:
        return text
    out: list[str] = []
    last = 0
    for start, end, name, negated in refs:
        if negated:
            raise QueryError(f"-@{name}: a view cannot be negated (its query may hold several filters)")
        if name not in views:
            known = ", ".join(f"@{v}" for v in sorted(views)) or "none yet; `ccbrowser view save NAME QUERY`"
            raise QueryError(f"no saved view @{name} (views: {known})")
        if name in _seen or _depth >= MAX_DEPTH:
            raise QueryError(f"view @{name} refers to itself (through {' -> '.join('@' + s for s in _seen)})")
        body = expand(views[name], views, _depth + 1, (*_seen, name))
        before, after = text[:start].split(), text[end:].split()
        if "OR" in (before[-1:] + after[:1]) and len(parse(body).clauses) > 1:
            raise QueryError(f"@{name} holds several terms: it cannot be one side of an OR")
        out.append(text[last:start])
        out.append(body)
        last = end
    out.append(text[last:])
    return "".join(out)
