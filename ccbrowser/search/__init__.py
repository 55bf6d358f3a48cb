"""Search over the local mirror: one query language for the TUI and the CLI.

No Textual here, no global state; every function takes the caller's own `sqlite3.Connection`
(each thread opens its own).

    from ccbrowser import search

    q = search.parse("tool:refund_order A-8812 since:7d")      # QueryError (exit 2) if bad
    q.hints                                                   # notes to show under the box
    hits = search.search(conn, q, sort="relevance", limit=50, offset=0)
    hits[0].pk, hits[0].id, hits[0].created, hits[0].model, hits[0].score
    for text, is_match in search.split_marked(hits[0].snippet): ...   # style matches safely
    pks = search.matching_pks(conn, q, sort="newest")          # id snapshot for a virtual list
    rows = search.hits_for(conn, q, pks[1000:1050])           # snippets for the visible page
    n = search.count(conn, q)
    search.highlight_terms(q)        # ["A-8812"]: what the detail pane highlights
    search.find_matches(text, q)     # [(start, end)] accent/case-insensitive spans in `text`

- `parse(text, *, now=None) -> Query`: pure; `now` (datetime or Unix time) fixes `since:` and
  date words for tests. Unknown `field:` is searched as text and noted in `Query.hints`.
- `search(conn, query_or_text, *, sort="relevance"|"newest"|"oldest"|"tokens", limit=50, offset=0)
  -> list[Hit]`: relevance ranks by weighted bm25 of the best message when there is text,
  newest first otherwise. Each completion appears once.
- `matching_pks(conn, query_or_text, *, sort=..., limit=None) -> list[int]`: the same order as
  `search`, every match (or the first `limit`). Without text it is an index walk.
  `pk_array(...)` is the same as an `array('q')` built straight from the cursor (8 bytes a key:
  what a virtual list over a million matches keeps).
- `count(conn, query_or_text) -> int`; `hints(conn, query_or_text) -> list[str]` (the parser's
  hints plus what needs the database, e.g. a model name typed as text).
- `highlight_terms(query) -> list[str]`, `find_matches(text, query) -> list[tuple[int, int]]`,
  `Matcher(terms)` (compile once, `.spans(text)` many times).
- Snippets are one line with controls already made visible; matches sit between `MARK_START`
  (`\\x02`) and `MARK_END` (`\\x03`); `split_marked` / `plain` take them apart. Never markup.

Every free-text token is quoted before FTS5 sees it; any string typed as a query yields results
or a `QueryError`, never an SQLite error (a property-based test holds this).
"""

from __future__ import annotations

from ccbrowser.search.engine import SORTS, Hit, count, hints, hits_for, matching_pks, pk_array, search
from ccbrowser.search.query import Clause, Filter, Query, QueryError, Term, highlight_terms, parse
from ccbrowser.search.text import MARK_END, MARK_START, Matcher, find_matches, plain, split_marked

__all__ = [
    "MARK_END",
    "MARK_START",
    "SORTS",
    "Clause",
    "Filter",
    "Hit",
    "Matcher",
    "Query",
    "QueryError",
    "Term",
    "count",
    "find_matches",
    "highlight_terms",
    "hints",
    "hits_for",
    "matching_pks",
    "parse",
    "pk_array",
    "plain",
    "search",
    "split_marked",
]
