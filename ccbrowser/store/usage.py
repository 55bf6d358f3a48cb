"""What the usage screen shows: costs and tokens of a set of completions, aggregated in SQL.

The set is everything, or the primary keys of the current query's matches (bound as one JSON
array). Every result is bounded whatever the data holds: the newest ``days`` days, the ``top``
models (the rest summed as "other"), the ``top`` tools and metadata values, the ``expensive`` most
expensive completions. Costs are sums of the stored estimates; unknown prices are counted apart,
never as 0. Days are local dates, as in `stats`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class Ranked:
    """One model, tool or metadata value, by what its completions cost."""

    name: str
    completions: int
    cost_usd: float | None
    tokens: int
    unknown: int  # completions whose price is unknown (left out of cost_usd)


@dataclass(frozen=True, slots=True)
class Expensive:
    pk: int
    id: str
    created: int | None
    model: str | None
    cost_usd: float
    total_tokens: int | None
    source: str | None  # estimate | reported


@dataclass
class Usage:
    completions: int = 0
    cost_usd: float | None = None
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    unknown: int = 0
    reported: int = 0
    days: list[str] = field(default_factory=list)  # oldest first
    models: list[str] = field(default_factory=list)  # the series of the per-day charts
    day_cost: dict[str, list[float]] = field(default_factory=dict)  # model -> one value per day
    day_tokens: dict[str, list[int]] = field(default_factory=dict)
    day_cache_rate: list[float | None] = field(default_factory=list)  # cached / prompt tokens
    top_models: list[Ranked] = field(default_factory=list)
    expensive: list[Expensive] = field(default_factory=list)

    @property
    def cache_rate(self) -> float | None:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None


# Every read of the cost columns goes through `completions_pk_cost` (see schema v7): the table row
# holds them after the raw JSON, and reaching them there costs the row's overflow pages. A set of
# matches is bound once as a JSON array and drives lookups in that index by pk.
_INDEX = "completions c INDEXED BY completions_pk_cost"
_SUMS = "count(*), sum(c.cost_usd), coalesce(sum(c.total_tokens), 0), count(*) - count(c.cost_usd)"
_MAX_GROUPS = 100_000  # bounds any result, whatever the data holds


@dataclass(frozen=True, slots=True)
class _Scope:
    """`FROM` clauses over everything or over the matches bound to `?`."""

    pks: str | None  # the JSON array, or None: everything

    @property
    def params(self) -> list[object]:
        return [] if self.pks is None else [self.pks]

    def completions(self) -> str:
        if self.pks is None:
            return _INDEX
        return f"(SELECT value AS pk FROM json_each(?)) s JOIN {_INDEX} ON c.pk = s.pk"

    def joined(self, table: str, alias: str) -> str:
        """`table` rows of the scope's completions, with their costs as `c`."""
        if self.pks is None:
            return f"{table} {alias} JOIN {_INDEX} ON c.pk = {alias}.completion"
        return (
            f"(SELECT value AS pk FROM json_each(?)) s JOIN {table} {alias} ON {alias}.completion = s.pk "
            f"JOIN {_INDEX} ON c.pk = s.pk"
        )


def _ranked(rows: Sequence[Sequence[Any]]) -> list[Ranked]:
    return [Ranked(str(r[0]), int(r[1]), r[2], int(r[3]), int(r[4])) for r in rows]


def usage(
    conn: sqlite3.Connection,
    pks: Sequence[int] | None = None,
    *,
    days: int = 30,
    top: int = 8,
    series: int = 6,
    expensive: int = 20,
) -> Usage:
    """The usage of everything (``pks`` None) or of the completions ``pks``: ``top`` models,
    per-day series for the ``series - 1`` costliest models and the rest as one (each series costs
    the chart a pass over its canvas), the ``expensive`` costliest completions."""
    scope = _Scope(None if pks is None else json.dumps(sorted(pks)))  # index order: page locality
    out = Usage()
    rows = _hour_rows(conn, scope, None)  # one pass: the per-hour sums add up to the totals
    if len(rows) < _MAX_GROUPS:
        models = _model_totals(rows)
    else:  # years of hours and models: the totals in a pass of their own, the hours of the window
        models = conn.execute(
            f"SELECT coalesce(c.model, '(none)'), {_SUMS}, coalesce(sum(c.prompt_tokens), 0), "
            f"coalesce(sum(c.cached_tokens), 0), coalesce(sum(c.cost_source = 'reported'), 0) "
            f"FROM {scope.completions()} GROUP BY c.model LIMIT {_MAX_GROUPS}",
            scope.params,
        ).fetchall()
        rows = _hour_rows(conn, scope, _since(conn, scope, days))
    if not models:
        return out
    out.completions = sum(r[1] for r in models)
    costs = [r[2] for r in models if r[2] is not None]
    out.cost_usd = sum(costs) if costs else None
    out.tokens = sum(r[3] for r in models)
    out.unknown = sum(r[4] for r in models)
    out.prompt_tokens = sum(r[5] for r in models)
    out.cached_tokens = sum(r[6] for r in models)
    out.reported = sum(r[7] for r in models)
    models.sort(key=lambda r: (-(r[2] or 0.0), -r[1], r[0]))
    out.top_models = _ranked(models[:top])
    _per_day(out, rows, days, series)
    where = "1" if scope.pks is None else "c.pk IN (SELECT value FROM json_each(?))"
    out.expensive = [
        Expensive(*r)
        for r in conn.execute(
            "SELECT c.pk, c.id, c.created, c.model, c.cost_usd, c.total_tokens, c.cost_source "
            f"FROM completions c WHERE c.cost_usd IS NOT NULL AND {where} "
            "ORDER BY c.cost_usd DESC, c.pk DESC LIMIT ?",
            [*scope.params, expensive],
        )
    ]
    return out


def top_values(
    conn: sqlite3.Connection, pks: Sequence[int] | None = None, *, top: int = 8
) -> tuple[list[Ranked], list[Ranked]]:
    """The tools and metadata values whose completions cost most: (tools, metadata values).

    Apart from `usage` because it reads every tool call and metadata row (400k at 100k
    completions): the usage screen draws its charts first and fills these in after."""
    scope = _Scope(None if pks is None else json.dumps(sorted(pks)))  # index order: page locality
    tools = _ranked(
        conn.execute(
            f"SELECT name, count(*), sum(cost), coalesce(sum(tokens), 0), count(*) - count(cost) FROM ("
            f"SELECT t.name AS name, c.cost_usd AS cost, c.total_tokens AS tokens "
            f"FROM {scope.joined('tool_calls', 't')} WHERE t.name IS NOT NULL "
            "GROUP BY t.completion, t.name) GROUP BY name ORDER BY 3 DESC, 2 DESC LIMIT ?",
            [*scope.params, top],
        ).fetchall()
    )
    meta = _ranked(
        conn.execute(
            f"SELECT m.key || '=' || coalesce(m.value, ''), {_SUMS} "
            f"FROM {scope.joined('completion_metadata', 'm')} "
            "GROUP BY m.key, m.value ORDER BY 3 DESC, 2 DESC LIMIT ?",
            [*scope.params, top],
        ).fetchall()
    )
    return tools, meta


# Per hour and model: the hour, the model, then what `_SUMS` and the usage totals need.
_HOUR_SUMS = (
    "SELECT c.created / 3600 AS hour, coalesce(c.model, '(none)'), count(*), sum(c.cost_usd), "
    "coalesce(sum(c.total_tokens), 0), count(*) - count(c.cost_usd), coalesce(sum(c.prompt_tokens), 0), "
    "coalesce(sum(c.cached_tokens), 0), coalesce(sum(c.cost_source = 'reported'), 0)"
)


def _since(conn: sqlite3.Connection, scope: _Scope, days: int) -> int | None:
    """The first hour's start of a window that holds the newest ``days`` local days (and a day more
    for the time zone), or None when there is nothing."""
    if scope.pks is None:  # the created index answers at once
        newest = conn.execute("SELECT max(created) FROM completions").fetchone()[0]
    else:
        newest = conn.execute(f"SELECT max(c.created) FROM {scope.completions()}", scope.params).fetchone()[0]
    return None if newest is None else (int(newest) // 3600 - (days + 1) * 24) * 3600


def _hour_rows(conn: sqlite3.Connection, scope: _Scope, since: int | None) -> list[Any]:
    """Sums per hour and model (hour None: no `created`), since the hour `since` or all of them."""
    cond, params = ("1", scope.params) if since is None else ("c.created >= ?", [*scope.params, since])
    return conn.execute(
        f"{_HOUR_SUMS} FROM {scope.completions()} WHERE {cond} GROUP BY hour, c.model LIMIT {_MAX_GROUPS}",
        params,
    ).fetchall()


def _model_totals(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Per-hour rows summed per model, in the shape of the per-model query."""
    by: dict[str, list[Any]] = {}
    for _, model, n, cost, tokens, unknown, prompt, cached, reported in rows:
        t = by.get(model)
        if t is None:
            by[model] = [model, n, cost, tokens, unknown, prompt, cached, reported]
            continue
        t[1] += n
        t[2] = cost if t[2] is None else t[2] if cost is None else t[2] + cost
        t[3] += tokens
        t[4] += unknown
        t[5] += prompt
        t[6] += cached
        t[7] += reported
    return list(by.values())


def _per_day(out: Usage, rows: Sequence[Sequence[Any]], days: int, series: int) -> None:
    """Cost and tokens per local day for the top models (the others as one series) and the cache-hit
    rate per day, over the newest ``days`` days of `rows` that hold data. SQL sums per hour (integer
    arithmetic); the hours become local dates here (a time-zone conversion per row costs more)."""
    rows = [r for r in rows if r[0] is not None]
    day_of = {h: _local_day(h * 3600) for h in {r[0] for r in rows}}
    all_days = sorted(set(day_of.values()))[-days:]
    index = {d: i for i, d in enumerate(all_days)}
    named = [m.name for m in out.top_models[: max(1, series - 1)]]
    own = set(named)
    out.days = all_days
    out.models = [*named, OTHER] if any(r[1] not in own for r in rows) else named
    out.day_cost = {m: [0.0] * len(all_days) for m in out.models}
    out.day_tokens = {m: [0] * len(all_days) for m in out.models}
    prompt = [0] * len(all_days)
    cached = [0] * len(all_days)
    for hour, model, _, cost, tokens, _, p, k, _ in rows:
        i = index.get(day_of[hour])
        if i is None:
            continue
        name = model if model in own else OTHER
        out.day_cost[name][i] += cost or 0.0
        out.day_tokens[name][i] += tokens
        prompt[i] += p
        cached[i] += k
    out.day_cache_rate = [k / p if p else None for p, k in zip(prompt, cached, strict=True)]


def _local_day(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return "?"
