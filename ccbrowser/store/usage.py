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
    top_tools: list[Ranked] = field(default_factory=list)
    top_meta: list[Ranked] = field(default_factory=list)
    expensive: list[Expensive] = field(default_factory=list)

    @property
    def cache_rate(self) -> float | None:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None


def _scope(pks: Sequence[int] | None) -> tuple[str, list[object]]:
    if pks is None:
        return "1", []
    return "c.pk IN (SELECT value FROM json_each(?))", [json.dumps(list(pks))]


# Every read of the cost columns goes through `completions_usage` (see schema v6): the table row
# holds them after the raw JSON, and reaching them there costs the row's overflow pages.
_COVERED = "completions c INDEXED BY completions_usage"
_BY_PK = "completions c INDEXED BY completions_pk_cost"  # one completion's cost, looked up by pk
_SUMS = "count(*), sum(c.cost_usd), coalesce(sum(c.total_tokens), 0), count(*) - count(c.cost_usd)"
_MAX_GROUPS = 100_000  # bounds any result, whatever the data holds


def _ranked(rows: Sequence[Sequence[Any]]) -> list[Ranked]:
    return [Ranked(str(r[0]), int(r[1]), r[2], int(r[3]), int(r[4])) for r in rows]


def usage(
    conn: sqlite3.Connection,
    pks: Sequence[int] | None = None,
    *,
    days: int = 30,
    top: int = 8,
    expensive: int = 20,
) -> Usage:
    """The usage of everything (``pks`` None) or of the completions ``pks``."""
    where, params = _scope(pks)
    out = Usage()
    models = conn.execute(
        f"SELECT coalesce(c.model, '(none)'), {_SUMS}, coalesce(sum(c.prompt_tokens), 0), "
        f"coalesce(sum(c.cached_tokens), 0), coalesce(sum(c.cost_source = 'reported'), 0) "
        f"FROM {_COVERED} WHERE {where} GROUP BY c.model LIMIT {_MAX_GROUPS}",
        params,
    ).fetchall()
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
    _per_day(conn, out, where, params, days, top)
    out.top_tools = _ranked(
        conn.execute(
            f"SELECT name, count(*), sum(cost), coalesce(sum(tokens), 0), count(*) - count(cost) FROM ("
            f"SELECT t.name AS name, c.cost_usd AS cost, c.total_tokens AS tokens FROM tool_calls t "
            f"JOIN {_BY_PK} ON c.pk = t.completion WHERE t.name IS NOT NULL AND {where} "
            "GROUP BY t.completion, t.name) GROUP BY name ORDER BY 3 DESC, 2 DESC LIMIT ?",
            [*params, top],
        ).fetchall()
    )
    out.top_meta = _ranked(
        conn.execute(
            f"SELECT m.key || '=' || coalesce(m.value, ''), {_SUMS} FROM completion_metadata m "
            f"JOIN {_BY_PK} ON c.pk = m.completion WHERE {where} "
            "GROUP BY m.key, m.value ORDER BY 3 DESC, 2 DESC LIMIT ?",
            [*params, top],
        ).fetchall()
    )
    out.expensive = [
        Expensive(*r)
        for r in conn.execute(
            "SELECT c.pk, c.id, c.created, c.model, c.cost_usd, c.total_tokens, c.cost_source "
            f"FROM completions c WHERE c.cost_usd IS NOT NULL AND {where} "
            "ORDER BY c.cost_usd DESC, c.pk DESC LIMIT ?",
            [*params, expensive],
        )
    ]
    return out


def _per_day(
    conn: sqlite3.Connection, out: Usage, where: str, params: list[object], days: int, top: int
) -> None:
    """Cost and tokens per local day for the top models (the others as one series) and the cache-hit
    rate per day, over the newest ``days`` days that hold data. SQL sums per hour (integer
    arithmetic); the hours become local dates here (a time-zone conversion per row costs more)."""
    newest = conn.execute(f"SELECT max(c.created) FROM {_COVERED} WHERE {where}", params).fetchone()[0]
    if newest is None:
        return
    since = (int(newest) // 3600 - (days + 1) * 24) * 3600
    rows = conn.execute(
        "SELECT c.created / 3600 AS hour, c.model, sum(c.cost_usd), coalesce(sum(c.total_tokens), 0), "
        "coalesce(sum(c.prompt_tokens), 0), coalesce(sum(c.cached_tokens), 0) "
        f"FROM {_COVERED} WHERE c.created >= ? AND {where} GROUP BY hour, c.model LIMIT {_MAX_GROUPS}",
        [since, *params],
    ).fetchall()
    day_of = {h: _local_day(h * 3600) for h in {r[0] for r in rows}}
    all_days = sorted(set(day_of.values()))[-days:]
    index = {d: i for i, d in enumerate(all_days)}
    named = [m.name for m in out.top_models[: max(1, top - 1)]]
    series = set(named)
    out.days = all_days
    out.models = [*named, OTHER] if any((r[1] or "(none)") not in series for r in rows) else named
    out.day_cost = {m: [0.0] * len(all_days) for m in out.models}
    out.day_tokens = {m: [0] * len(all_days) for m in out.models}
    prompt = [0] * len(all_days)
    cached = [0] * len(all_days)
    for hour, model, cost, tokens, p, k in rows:
        i = index.get(day_of[hour])
        if i is None:
            continue
        name = model or "(none)"
        name = name if name in series else OTHER
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
