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
       coalesce(sum(cached_tokens), 0) AS cached,
       sum(cost_usd) AS cost_usd, coalesce(sum(cost_source = 'estimate'), 0) AS estimated,
       coalesce(sum(cost_source = 'reported'), 0) AS reported, count(*) - count(cost_usd) AS unknown
FROM completions
"""
# Costs are sums of estimates (NULL when none is known); `unknown_price` counts what they leave out.
_USAGE = """count(*) AS completions, coalesce(sum(total_tokens), 0) AS total_tokens,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
       sum(cost_usd) AS cost_usd, count(*) - count(cost_usd) AS unknown_price"""
_MODELS = f"""
SELECT coalesce(model, '(none)') AS model, {_USAGE}
FROM completions GROUP BY model ORDER BY 2 DESC
"""
_TIERS = f"""
SELECT coalesce(service_tier, 'default') AS tier, {_USAGE}
FROM completions GROUP BY 1 ORDER BY 2 DESC
"""
_FINISH = """
SELECT coalesce(finish_reason, '(none)') AS finish_reason, count(*) AS completions
FROM completions GROUP BY finish_reason ORDER BY 2 DESC
"""
_DAYS = f"""
SELECT date(created, 'unixepoch', 'localtime') AS day, {_USAGE}
FROM completions WHERE created IS NOT NULL GROUP BY day ORDER BY day DESC LIMIT :days
"""
_TOOLS = """
SELECT coalesce(name, '(none)') AS name, count(*) AS calls, count(DISTINCT completion) AS completions,
       coalesce(sum(valid_json = 0 AND coalesce(type, '') != 'custom'), 0) AS invalid_json
FROM tool_calls GROUP BY name ORDER BY 2 DESC LIMIT :top
"""
# What the completions that called each tool cost (each completion once per tool).
_TOOL_COSTS = """
SELECT t.name AS name, sum(c.cost_usd) AS cost_usd, count(*) - count(c.cost_usd) AS unknown_price
FROM (SELECT DISTINCT completion, name FROM tool_calls) t JOIN completions c ON c.pk = t.completion
GROUP BY t.name
"""
_SOURCES = "SELECT coalesce(cost_source, 'unknown') AS source, count(*) AS n FROM completions GROUP BY 1"
COST_LABEL = "estimate"  # every cost figure is one (or a cost the server reported), never an invoice
_TOKENS = ("prompt", "completion", "total", "reasoning", "cached")
_COST = ("cost_usd", "estimated", "reported", "unknown")


def cache_hit_rate(cached: int | None, prompt: int | None) -> float | None:
    """Cached prompt tokens / prompt tokens (None without prompt tokens)."""
    return round((cached or 0) / prompt, 4) if prompt else None


def cost_sources(conn: sqlite3.Connection) -> dict[str, int]:
    """How many completions have an estimated, a reported and an unknown cost."""
    out = dict.fromkeys(("estimate", "reported", "unknown"), 0)
    for source, n in conn.execute(_SOURCES):
        out[source if source in out else "unknown"] += n
    return out


def collect(conn: sqlite3.Connection, days: int = 30) -> dict[str, Any]:
    """Counts by model, finish reason and day; token totals; the most called tools."""
    db = sqlite_utils.Database(conn)
    totals = next(db.query(_TOTALS))
    tokens = {name: totals.pop(name) for name in _TOKENS}
    cost = {name: totals.pop(name) for name in _COST}
    tools = list(db.query(_TOOLS, {"top": TOP}))
    tool_costs = {r["name"]: r for r in db.query(_TOOL_COSTS)}
    for tool in tools:
        spent = tool_costs.get(None if tool["name"] == "(none)" else tool["name"], {})
        tool["cost_usd"] = spent.get("cost_usd")
        tool["unknown_price"] = spent.get("unknown_price", 0)
    usage_rows = [*db.query(_MODELS), *db.query(_TIERS)]
    for row in usage_rows:
        row["cache_hit_rate"] = cache_hit_rate(row["cached_tokens"], row["prompt_tokens"])
    return {
        **totals,
        "messages": db["messages"].count,
        "distinct_message_bodies": db["bodies"].count,
        "tokens": tokens,
        "cache_hit_rate": cache_hit_rate(tokens["cached"], tokens["prompt"]),
        "cost": {**cost, "label": COST_LABEL},
        "models": [r for r in usage_rows if "model" in r],
        "tiers": [r for r in usage_rows if "tier" in r],
        "finish_reasons": list(db.query(_FINISH)),
        "days": list(db.query(_DAYS, {"days": max(0, days)})),
        "tools": tools,
    }
