"""The TUI's bridge to `ccbrowser.search`: parse on the UI thread, run on the search thread.

Kept in one place so that the rest of the TUI sees three things: `parse_query` (raises a
`UsageError` with a message for the line under the search bar), `snapshot` (the primary keys of
the matches, in display order) and `matcher` (spans to highlight in the detail pane).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from typing import Any

from ccbrowser.errors import UsageError
from ccbrowser.store import reader
from ccbrowser.tui.document import Matcher

try:  # the search package is built alongside; without it the list still browses everything
    from ccbrowser import search as _search
except ImportError:  # pragma: no cover - only while the package is missing
    _search = None  # type: ignore[assignment]


def available() -> bool:
    return _search is not None and hasattr(_search, "parse")


def parse_query(text: str, now: float | None = None) -> Any | None:
    """None for an empty query; a parsed query; or UsageError with a clear message."""
    if not text.strip():
        return None
    if not available():
        raise UsageError("search is not available in this build")
    try:
        return _search.parse(text, now=now)
    except UsageError:
        raise
    except Exception as exc:  # a parser bug must not crash the UI: say so under the bar
        raise UsageError(f"cannot parse this query ({type(exc).__name__})") from None


def snapshot(conn: sqlite3.Connection, query: Any | None) -> list[int]:
    """Primary keys to list: everything newest first, or the matches in the planner's order."""
    if query is None:
        return reader.all_pks(conn)
    return list(_search.matching_pks(conn, query))


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).casefold()


def _terms(query: Any) -> list[str]:
    try:
        terms = _search.highlight_terms(query)
    except Exception:
        return []
    return [t for t in (str(x) for x in terms or ()) if t.strip()]


def matcher(query: Any | None) -> Matcher | None:
    """Spans of the query's words in a displayed line (case-insensitive), or None."""
    if query is None or _search is None:
        return None
    finder = getattr(_search, "find_matches", None)
    if finder is not None:

        def find(text: str) -> Iterable[tuple[int, int]]:
            try:
                return [(int(a), int(b)) for a, b in finder(text, query)]
            except Exception:
                return []

        return find
    terms = _terms(query)
    if not terms:
        return None
    pattern = re.compile("|".join(re.escape(t.rstrip("*")) for t in sorted(terms, key=len, reverse=True)), re.I)

    def find_re(text: str) -> Iterable[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text)]

    return find_re
