"""The `stats` figures: aggregate reads over indexed columns, each row already shaped as it is reported.

A cold path (one call per `ccbrowser stats`), so sqlite-utils does the plumbing: `Database.query`
yields each row as a dict keyed by the column aliases, which are the names of the JSON output,
and `Table.count` the table sizes. Days are local dates.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlite_utils

TOP = 30

_TOTALS = """
SELECT count(*) AS completions, count(removed_at) AS removed_upstream,
       coalesce(sum(has_tools), 0) AS with_tool_calls, coalesce(sum(has_refusal), 0) AS with_refusal,
       min(created) AS first_created, max(created) AS last_created,
       coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(completion_tokens), 0) AS completion,
       coalesce(sum(total_tokens), 0) AS total, coalesce(sum(reasoning_tokens), 0) AS reasoning,
       coalesce(sum(cached_tokens), 0) AS cached
FROM completions
"""
_MODELS = """
SELECT coalesce(model, '(none)') AS model, count(*) AS completions, coalesce(sum(total_tokens), 0) AS total_tokens
FROM completions GROUP BY model ORDER BY 2 DESC
"""
_FINISH = """
SELECT coalesce(finish_reason, '(none)') AS finish_reason, count(*) AS completions
FROM completions GROUP BY finish_reason ORDER BY 2 DESC
"""
_DAYS = """
SELECT date(created, 'unixepoch', 'localtime') AS day, count(*) AS completions,
       coalesce(sum(total_tokens), 0) AS total_tokens
FROM completions WHERE created IS NOT NULL GROUP BY day ORDER BY day DESC LIMIT :days
"""
_TOOLS = """
SELECT coalesce(name, '(none)') AS name, count(*) AS calls, count(DISTINCT completion) AS completions,
       coalesce(sum(valid_json = 0 AND coalesce(type, '') != 'custom'), 0) AS invalid_json
FROM tool_calls GROUP BY name ORDER BY 2 DESC LIMIT :top
"""
_TOKENS = ("prompt", "completion", "total", "reasoning", "cached")


def collect(conn: sqlite3.Connection, days: int = 30) -> dict[str, Any]:
    """Counts by model, finish reason and day; token totals; the most called tools."""
    db = sqlite_utils.Database(conn)
    totals = next(db.query(_TOTALS))
    tokens = {name: totals.pop(name) for name in _TOKENS}
    return {
        **totals,
        "messages": db["messages"].count,
        "distinct_message_bodies": db["bodies"].count,
        "tokens": tokens,
        "models": list(db.query(_MODELS)),
        "finish_reasons": list(db.query(_FINISH)),
        "days": list(db.query(_DAYS, {"days": max(0, days)})),
        "tools": list(db.query(_TOOLS, {"top": TOP})),
    }
