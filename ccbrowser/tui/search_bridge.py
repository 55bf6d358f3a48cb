"""The TUI's bridge to `ccbrowser.search`: parse on the UI thread, run on the search thread.

Kept in one place so that the rest of the TUI sees four things: `parse_query` (raises a
`UsageError` with a message for the line under the search bar), `answer` (runs a query on the
search thread and posts the matches as messages), `snapshot` (the primary keys of the matches,
in display order) and `matcher` (spans to highlight in the detail pane).
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual.message import Message

from ccbrowser import search
from ccbrowser.errors import CCBrowserError, UsageError
from ccbrowser.safe import one_line
from ccbrowser.search.views import expand
from ccbrowser.store import reader
from ccbrowser.tui.document import Matcher
from ccbrowser.tui.messages import Matches, SearchFailed
from ccbrowser.tui.reads import Cancelled, Reads

FIRST_RESULTS = 100  # a screenful and then some: a walk that stops early stops sooner


def parse_query(text: str, now: float | None = None, views: Mapping[str, str] | None = None) -> Any | None:
    """None for an empty query; a parsed query; or UsageError with a clear message. `@NAME`
    words stand for the saved `views` (the box keeps showing `@NAME`)."""
    if not text.strip():
        return None
    try:
        return search.parse(expand(text, views or {}), now=now)
    except UsageError:
        raise
    except Exception as exc:  # a parser bug must not crash the UI: say so under the bar
        raise UsageError(f"cannot parse this query ({type(exc).__name__})") from None


async def answer(
    reads: Reads,
    parsed: Any | None,
    generation: int,
    post: Callable[[Message], Any],
    *,
    keep_cursor: bool,
    sort: str = "relevance",
) -> None:
    """Post the matches of `parsed` (None: everything) as `Matches`, or `SearchFailed`.

    A new query answers in two steps: the first screenful of matches (shown at once), then the
    complete snapshot (the count, and everything to scroll through). Both are in the same order,
    so the rows on screen do not move when the rest arrives. A newer search cancels this one.
    """
    try:
        # A new query also gets the planner's hints (they need the database), with its last answer.
        fresh = parsed is not None and not keep_cursor
        if fresh:
            first = await reads.search(snapshot, parsed, FIRST_RESULTS, sort)
            if len(first) < FIRST_RESULTS:
                notes = tuple(await reads.search(plan_hints, parsed))
                post(Matches(generation, first, partial=False, keep_cursor=False, hints=notes))
                return
            post(Matches(generation, first, partial=True, keep_cursor=False))
            keep_cursor = True
        rest = fresh
        pks = await reads.search(snapshot, parsed, None, sort)
        notes = tuple(await reads.search(plan_hints, parsed)) if fresh else ()
    except Cancelled:
        return
    except Exception as exc:
        text = str(exc) if isinstance(exc, CCBrowserError) else f"search failed: {type(exc).__name__}: {exc}"
        post(SearchFailed(generation, text))
        return
    post(Matches(generation, pks, partial=False, keep_cursor=keep_cursor, hints=notes, rest=rest))


def seek_note(found: str) -> str:
    """What `n` says when the match it found was not in the visible text."""
    return (
        "The match is in the capped text: showing all of it" if found == "expanded" else f"Match in {found}"
    )


def pk_for_id(conn: sqlite3.Connection, id_or_prefix: str) -> int | None:
    """The completion an id or unique prefix names (NotFound / UsageError say why not)."""
    return reader.pk_of(conn, reader.resolve_id(conn, id_or_prefix))


def snapshot(
    conn: sqlite3.Connection, query: Any | None, limit: int | None = None, sort: str = "relevance"
) -> array[int]:
    """Primary keys to list: everything newest first, or the matches in the planner's order
    (the first `limit` of them: the same order, so a short answer is a prefix of the full one);
    `sort` is one of `search.SORTS`. An array (8 bytes a key) is what the list keeps."""
    if query is None and sort in ("relevance", "newest"):
        return reader.all_pks(conn)
    return search.pk_array(conn, query or search.parse(""), sort=sort, limit=limit)


def sort_label(query: Any | None, sort: str) -> str:
    """What the status bar says: relevance means newest first when the query has no words."""
    return "newest" if sort == "relevance" and not has_words(query) else sort


def next_sort(query: Any | None, sort: str) -> str:
    """`o`: the next of `search.SORTS`, skipping relevance when there are no words to rank."""
    order = [s for s in search.SORTS if s != "relevance" or has_words(query)]
    current = sort_label(query, sort)
    return order[(order.index(current) + 1) % len(order)] if current in order else order[0]


def has_words(query: Any | None) -> bool:
    return query is not None and bool(search.highlight_terms(query))


def snippets(conn: sqlite3.Connection, query: Any, pks: list[int]) -> dict[int, str]:
    """The matched snippet of each of `pks` that has one ({} for a query without words)."""
    if not search.highlight_terms(query):
        return {}
    return {h.pk: h.snippet for h in search.hits_for(conn, query, pks) if search.MARK_START in h.snippet}


def plan_hints(conn: sqlite3.Connection, query: Any) -> list[str]:
    """The parser's hints and the planner's, which need the database (a model typed as text)."""
    return [str(h) for h in search.hints(conn, query)]


def kept_note(error: Exception, last_good: str) -> str:
    """A bad query's message: the list still shows the last good query's results."""
    shown = (
        f"the last good results ({one_line(last_good.strip(), 60)})" if last_good.strip() else "everything"
    )
    return f"{error} · showing {shown}"


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
