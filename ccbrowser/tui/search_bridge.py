"""The TUI's bridge to `ccbrowser.search`: parse on the UI thread, run on the search thread.

Kept in one place so that the rest of the TUI sees three things: `parse_query` (raises a
`UsageError` with a message for the line under the search bar), `snapshot` (the primary keys of
the matches, in display order) and `matcher` (spans to highlight in the detail pane).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from ccbrowser import search
from ccbrowser.errors import UsageError
from ccbrowser.store import reader
from ccbrowser.tui.document import Matcher


def parse_query(text: str, now: float | None = None) -> Any | None:
    """None for an empty query; a parsed query; or UsageError with a clear message."""
    if not text.strip():
        return None
    try:
        return search.parse(text, now=now)
    except UsageError:
        raise
    except Exception as exc:  # a parser bug must not crash the UI: say so under the bar
        raise UsageError(f"cannot parse this query ({type(exc).__name__})") from None


def snapshot(conn: sqlite3.Connection, query: Any | None, limit: int | None = None) -> list[int]:
    """Primary keys to list: everything newest first, or the matches in the planner's order
    (the first `limit` of them: the same order, so a short answer is a prefix of the full one)."""
    if query is None:
        return reader.all_pks(conn)
    return list(search.matching_pks(conn, query, limit=limit))


def hints(query: Any | None) -> list[str]:
    """Notes the parser left for the user (unknown `field:` searched as text, ...)."""
    return [str(h) for h in getattr(query, "hints", ()) or ()]


def matcher(query: Any | None) -> Matcher | None:
    """Spans of the query's words in a displayed line (accent- and case-insensitive), or None."""
    if query is None:
        return None
    try:
        terms = search.highlight_terms(query)
        compiled = search.Matcher(terms) if terms else None
    except Exception:
        return None
    if not compiled:
        return None

    def spans(text: str) -> Iterable[tuple[int, int]]:
        try:
            return compiled.spans(text)
        except Exception:
            return []

    return spans
