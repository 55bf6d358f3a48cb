"""`ccbrowser search QUERY [--limit N] [--sort relevance|newest|oldest|cost] [--json]`.

Human output: one line per completion (local time, model, id, snippet); matches are bold and
reversed on a terminal only. `--json`: JSON Lines, one hit per line, plain-text snippet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ccbrowser.argtypes import number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        nargs="+",
        metavar="QUERY",
        help="the query (several words are joined), e.g. 'tool:refund_order A-8812 since:7d'; -word excludes; see the README's query language",
    )
    parser.add_argument(
        "--limit",
        type=number(int, low=0, high=1_000_000_000),
        default=50,
        metavar="N",
        help="at most N hits (default 50; 0 = all)",
    )
    parser.add_argument(
        "--sort",
        choices=("relevance", "newest", "oldest", "cost"),
        default="relevance",
        help="order of hits (default: relevance when the query has words, else newest; cost: most expensive first)",
    )
    parser.add_argument("--json", action="store_true", help="JSON Lines: one hit per line")


def hit_json(hit: Any, tools: list[str]) -> dict[str, Any]:
    from ccbrowser.commands.formats import iso_time

    return {
        "id": hit.id,
        "created": hit.created,
        "created_local": iso_time(hit.created),
        "model": hit.model,
        "snippet": hit.snippet_text,
        "score": None if hit.score is None else round(hit.score, 4),
        "finish_reason": hit.finish_reason,
        "total_tokens": hit.total_tokens,
        "tool_calls": tools,
        "removed": hit.removed,
        "matched_in": hit.source,
        "cost_usd": hit.cost_usd,
        "cost_source": hit.cost_source or "unknown",
    }


def render_snippet(snippet: str, color: bool) -> str:
    from ccbrowser.search import split_marked

    if not color:
        return "".join(text for text, _ in split_marked(snippet))
    return "".join(f"\x1b[1;7m{text}\x1b[0m" if hit else text for text, hit in split_marked(snippet))


def write_hits(
    out: TextIO, hits: Sequence[Any], tools: dict[int, list[str]], *, as_json: bool, color: bool
) -> None:
    from ccbrowser.commands.formats import dumps
    from ccbrowser.render import REMOVED_MARK, local_time
    from ccbrowser.safe import one_line

    for hit in hits:
        if as_json:
            out.write(dumps(hit_json(hit, tools.get(hit.pk, []))) + "\n")
            continue
        when = local_time(hit.created)[:16]
        model = one_line(hit.model or "?", 18)
        marks = ""
        if hit.tool_call_count:
            marks += " ⚙"
        if hit.has_refusal:
            marks += " ⊘"
        if hit.removed:
            marks += f" {REMOVED_MARK}"
        out.write(f"{when}  {model:<18}  {one_line(hit.id)}{marks}  {render_snippet(hit.snippet, color)}\n")


def run(args: argparse.Namespace) -> int:
    from ccbrowser import search
    from ccbrowser.commands.prices import open_priced
    from ccbrowser.commands.view import expand_query
    from ccbrowser.errors import UsageError
    from ccbrowser.safe import one_line
    from ccbrowser.store.reader import tool_names

    text = expand_query(args, " ".join(args.query))
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    query = search.parse(text)  # a bad query is a usage error before the database is opened
    conn = open_priced(args)
    for hint in search.hints(conn, query):
        sys.stderr.write(f"ccbrowser: note: {hint}\n")
    out = sys.stdout
    color = out.isatty() and not args.json
    if args.limit:
        hits = search.search(conn, query, sort=args.sort, limit=args.limit)
        write_hits(
            out,
            hits,
            tool_names(conn, [h.pk for h in hits]) if args.json else {},
            as_json=args.json,
            color=color,
        )
        total = len(hits)
    else:
        pks = search.matching_pks(conn, query, sort=args.sort)
        total = len(pks)
        for start in range(0, len(pks), 500):
            chunk = pks[start : start + 500]
            hits = search.hits_for(conn, query, chunk)
            write_hits(
                out, hits, tool_names(conn, chunk) if args.json else {}, as_json=args.json, color=color
            )
    if total == 0:  # stderr: a script reading stdout still gets nothing at all
        sys.stderr.write(f"ccbrowser: no matches for {one_line(text)}\n")
    return 0
