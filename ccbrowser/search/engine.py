"""Running a plan: ranked hits, exact snapshots, counts. The SQL text comes from `plan.py`.

Two ways to answer, chosen per query:

- Exact (`_exact_pks`): one SQL statement with every predicate; the matching set, ordered by
  time. Used for counts, snapshots, `newest`/`oldest` and queries without text.
- Ranked (`_ranked`): messages that hold every word are ranked by bm25 (weighted columns,
  system/developer prompts counted half), then walked best first; each message's completions are
  fetched through the `messages(body)` index (with the filters), deduplicated, so a system prompt
  shared by 5,000 completions is one ranked item, not 5,000 rows to sort. The cost of common
  terms is bounded: the matching messages are first counted up to `COUNT_CAP`; when there are
  more than `RANK_LIMIT`, only the newest `RANK_LIMIT` (by FTS rowid, which is cheap) are ranked,
  and past `COUNT_CAP` they are taken newest first without bm25 at all. When the walk runs out
  (words spread over several messages, strict filters), the exact set fills the rest, newest first.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from ccbrowser.errors import UsageError
from ccbrowser.search.plan import (
    BODY_COUNT_SQL,
    EXCLUDE_SQL,
    HITS_SQL,
    MAX_PK_SQL,
    MESSAGE_KIND_SQL,
    NEWEST_BODIES_SQL,
    RANGE_MATCH_SQL,
    Plan,
    body_texts_sql,
    budgeted,
    build,
    count_sql,
    pks_sql,
    ranked_bodies_sql,
)
from ccbrowser.search.query import Query, highlight_terms, parse
from ccbrowser.search.text import Matcher, make_snippet, one_line
from ccbrowser.store.schema import FTS_COLUMNS

Sort = Literal["relevance", "newest", "oldest", "tokens", "cost"]
SORTS: tuple[str, ...] = ("relevance", "newest", "oldest", "tokens", "cost")

RANK_LIMIT = 1000
COUNT_CAP = 20_000
SNIPPET_CHARS = 20_000  # how much of one message is scanned for a snippet
SNIPPET_WIDTH = 160


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching completion.

    `snippet` is one display line, control characters already made visible, with the matches
    between `MARK_START` and `MARK_END` (see `ccbrowser.search.text.split_marked`). `score` is
    higher-is-better (the negated, weighted bm25 of the best message), None when the hit was not
    ranked by text (no text, a time sort, or a term too common to rank). `source` says where the
    snippet comes from (`output`, `user`, `system`, `tool`, `assistant`, ...).
    """

    pk: int
    id: str
    created: int | None
    model: str | None
    snippet: str
    score: float | None
    finish_reason: str | None
    total_tokens: int | None
    tool_call_count: int
    has_refusal: bool
    removed: bool
    source: str | None
    cost_usd: float | None = None  # an estimate (or reported by the server); None: unknown
    cost_source: str | None = None  # estimate | reported | unknown

    @property
    def snippet_text(self) -> str:
        """The snippet without match marks."""
        from ccbrowser.search.text import plain

        return plain(self.snippet)


def as_query(query_or_text: Query | str, now: float | None = None) -> Query:
    if isinstance(query_or_text, Query):
        return query_or_text
    return parse(query_or_text, now=now)


def _check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)} (got {sort!r})")


# -- exact ---------------------------------------------------------------------------------------
#
# Two ways to get the exact set in time order, chosen per statement from cheap bounded counts:
#
# - Sets: `c.pk IN (matches of a clause)`. SQLite builds each set once (cost: its size), then sorts.
#   Best when some clause is rare. The rarest text clause drives; when it is small, the other
#   clauses are checked per candidate (`EXISTS` probes) instead of being built as sets too: the
#   words `weather tok` cost the two completions that hold `tok`, not the 40k that hold `weather`.
# - Walk: the time index newest first, every predicate a per-row probe, stopped at `limit`. Best for
#   a first page when every clause is common (`meta:env`, `tool:refund_order A`): the newest rows
#   match, so it stops after a few hundred rows. A probe of FTS5 costs ~20-150 us, so a walk whose
#   matches turn out to be sparse is abandoned after WALK_BUDGET seconds for the set plan.

WALK_BUDGET = 0.012
SMALL_DRIVER = 300  # message rows: at most this many candidates are checked clause by clause
TEXT_DRIVER = 20_000  # the same for the rarest of several text clauses (checked in batches)
# The batched walk (filters drive, text checked a batch at a time, see `_batched_walk`).
BATCH_FIRST = 64  # candidates in the first batch; each next one is twice as big
BATCH_MAX = 2048
BATCH_GAP = 4096  # body ids: candidates' bodies closer than this are read as one FTS range
BATCH_BUDGET = 0.030
# Past BATCH_BUDGET the walk goes on while its projected cost to the page stays under what the set
# plan would cost: about this much CPU per body of the rarest text clause (a phrase of 30k bodies
# joined to its messages took ~350 ms at 1M).
SET_SECONDS_PER_BODY = 5e-6
# A filter with at most FILTER_DRIVER completions, FILTER_RATIO times fewer than the rarest text
# clause has bodies, drives the batched walk even when that text is rare enough to be a set.
FILTER_DRIVER = 5000
FILTER_RATIO = 4
# A text clause with at most this many matching bodies per candidate is checked as one set
# (reading its doclist costs ~0.1 us a body inside SQLite, a candidate's messages ~1 us each in
# Python).
SET_PER_CANDIDATE = 40


def _body_count(conn: sqlite3.Connection, plan: Plan, expr: str, cap: int = COUNT_CAP) -> int:
    """Matching bodies for an FTS expression, counted up to `cap + 1` (memoised on the plan)."""
    key = (expr, cap)
    n = plan.counts.get(key)
    if n is None:
        n = plan.counts[key] = _bounded_count(conn, expr, cap)
    return n


def _message_count(conn: sqlite3.Connection, plan: Plan, expr: str, cap: int) -> int:
    """Messages (of the plan's kinds) whose body matches, counted up to `cap + 1`."""
    row = conn.execute(plan.message_count_sql(), (expr, cap + 1)).fetchone()
    return int(row[0])


def _rarest_text(conn: sqlite3.Connection, plan: Plan) -> int | None:
    """Index of the rarest positive text clause when it is rare enough to drive (else None)."""
    if not plan.text_sets:
        return None
    n, i = min((_body_count(conn, plan, e), i) for i, e in enumerate(plan.text_sets))
    return i if n <= COUNT_CAP else None


def _small_driver(conn: sqlite3.Connection, plan: Plan, rarest: int | None) -> tuple[str, int] | None:
    """The clause with at most SMALL_DRIVER candidates, if any: ("text", i) or ("pred", i)."""
    best: tuple[int, str, int] | None = None
    if rarest is not None:
        # With other words to check, a text clause drives up to TEXT_DRIVER messages: they are
        # checked a batch at a time, a rare word as one set (`_text_matches`), which is far
        # cheaper than building the set of a common word (`refund timeout`: the few thousand messages
        # that hold `timeout`, not the 100,000 that hold `refund`).
        cap = TEXT_DRIVER if len(plan.text_sets) > 1 else SMALL_DRIVER
        n = _message_count(conn, plan, plan.text_sets[rarest], cap)
        if n <= cap:
            best = (n, "text", rarest)
    for i, p in enumerate(plan.preds):
        if p.count_sql is None:
            continue
        key = (p.count_sql, i)
        if key not in plan.counts:
            plan.counts[key] = int(conn.execute(p.count_sql, [*p.params, SMALL_DRIVER + 1]).fetchone()[0])
        n = plan.counts[key]
        if n <= SMALL_DRIVER and (best is None or n < best[0]):
            best = (n, "pred", i)
    return None if best is None else (best[1], best[2])


def _filter_beats_text(conn: sqlite3.Connection, plan: Plan, rarest: int) -> bool:
    """Some indexed filter has far fewer completions than the rarest text clause has bodies
    (`finish:content_filter support`): walking the filter beats building the text's set."""
    text = _body_count(conn, plan, plan.text_sets[rarest])
    for p in plan.preds:
        if p.count_sql is None:
            continue
        key = (p.count_sql, FILTER_DRIVER)
        if key not in plan.counts:
            plan.counts[key] = int(conn.execute(p.count_sql, [*p.params, FILTER_DRIVER + 1]).fetchone()[0])
        if plan.counts[key] <= FILTER_DRIVER and FILTER_RATIO * plan.counts[key] < text:
            return True
    return False


def _set_where(conn: sqlite3.Connection, plan: Plan, driver: tuple[str, int] | None) -> tuple[str, list[Any]]:
    """The exact set as SQL. With a small driver, it alone is a set and the rest is probed per
    candidate; otherwise every clause is a set."""
    if driver is None:
        if len(plan.text_sets) < 2:
            return plan.full_where()
        # Several text sets: one INTERSECT, rarest first, is cheaper than an IN list per set.
        where, pred_params = plan.where("exact")
        order = sorted(plan.text_sets, key=lambda e: _body_count(conn, plan, e))
        where += plan.intersect_sql(len(order))
        return where, [*pred_params, *order]
    kind, index = driver
    parts, params = _driver_parts(plan, driver)
    for j, expr in enumerate(plan.text_sets):
        if (kind, index) != ("text", j):
            parts.append(plan.probe_sql())
            params.append(expr)
    return " AND ".join(parts) or "1", params


def _driver_parts(plan: Plan, driver: tuple[str, int]) -> tuple[list[str], list[Any]]:
    """The driving clause as a set and every filter probed per candidate (text clauses left out)."""
    kind, index = driver
    parts: list[str] = []
    params: list[Any] = []
    if kind == "text":
        parts.append(f"c.pk IN ({plan.set_sql()})")
        params.append(plan.text_sets[index])
    for i, p in enumerate(plan.preds):
        parts.append(p.exact if (kind, index) == ("pred", i) else p.probe)
        params.extend(p.params)
    return parts, params


def _ranges(ids: Sequence[int], gap: int) -> list[tuple[int, int]]:
    """Sorted ids grouped into [lo, hi] ranges whose members are at most `gap` apart."""
    out: list[tuple[int, int]] = []
    for i in ids:
        if out and i - out[-1][1] <= gap:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _text_matches(
    conn: sqlite3.Connection, plan: Plan, pks: list[int], skip_text: int | None = None
) -> list[int]:
    """The candidates (kept in order) that match every positive text clause (but `skip_text`,
    one the candidates are known to match).

    The clauses are checked rarest first, each on the candidates the ones before left. A clause
    with few matching bodies (at most `SET_PER_CANDIDATE` per candidate, or COUNT_CAP) is one
    statement: its matches are a set inside SQLite and only the matching messages come back
    (`matching_messages_sql`). A common clause reads the candidates' bodies once and asks FTS5
    for its matches in a few id ranges (`RANGE_MATCH_SQL`) instead of once per message (an
    `EXISTS` probe: FTS5 parses the expression and seeks every segment each time, ~50-200 us).
    A batch's own messages were written together, so their ids are dense; shared system prompts
    are the few far-off ranges.
    """
    exprs = [e for i, e in enumerate(plan.text_sets) if i != skip_text]
    if not pks or not exprs:
        return pks
    exprs.sort(key=lambda e: _body_count(conn, plan, e))
    alive = pks
    bodies_of: dict[int, list[int]] | None = None
    first_hit: dict[int, int] = {}
    for n, expr in enumerate(exprs):
        cap = max(COUNT_CAP, SET_PER_CANDIDATE * len(alive))
        if _body_count(conn, plan, expr, cap) <= cap:
            hit_of: dict[int, int] = {}
            for pk, body in conn.execute(plan.matching_messages_sql(), (json.dumps(alive), expr)):
                hit_of.setdefault(pk, body)  # output first, newest input first
            alive = [pk for pk in alive if pk in hit_of]
        else:
            if bodies_of is None:
                bodies_of = {}
                for pk, body in conn.execute(plan.batch_bodies_sql(), (json.dumps(alive),)):
                    bodies_of.setdefault(pk, []).append(body)  # output first, newest input first
            alive = [pk for pk in alive if pk in bodies_of]
            ids = sorted({b for pk in alive for b in bodies_of[pk]})
            hit: set[int] = set()
            for lo, hi in _ranges(ids, BATCH_GAP):
                inside = ids[bisect.bisect_left(ids, lo) : bisect.bisect_right(ids, hi)]
                hit.update(r[0] for r in conn.execute(RANGE_MATCH_SQL, (json.dumps(inside), expr, lo, hi)))
            alive = [pk for pk in alive if any(b in hit for b in bodies_of[pk])]
            hit_of = {pk: next(b for b in bodies_of[pk] if b in hit) for pk in alive}
        if n == 0:
            first_hit = hit_of
        if not alive:
            break
    plan.snippet_bodies.update((pk, first_hit[pk]) for pk in alive)
    return alive


def _driven_pks(
    conn: sqlite3.Connection,
    plan: Plan,
    driver: tuple[str, int],
    sort: str,
    exclude: Sequence[int],
    need: int | None = None,
) -> list[int]:
    """Every match, in `sort` order, when one clause has at most SMALL_DRIVER candidates: that
    clause is a set, the filters are probed per candidate, and the other text clauses are read
    for all candidates at once in body-id ranges (`_text_matches`), not by an `EXISTS` probe per
    message (FTS5 parses the expression and seeks every segment each time: ~50-200 us, times
    every message of every candidate)."""
    kind, index = driver
    parts, params = _driver_parts(plan, driver)
    where = _exclude_sql(" AND ".join(parts), params, exclude)
    sql, page = pks_sql(where, sort)
    pks = [r[0] for r in conn.execute(sql, [*params, *page])]
    skip = index if kind == "text" else None
    if need is None:
        return _text_matches(conn, plan, pks, skip_text=skip)
    # The first `need` only: the candidates in order, a batch at a time (each twice the last).
    out: list[int] = []
    start, size = 0, BATCH_FIRST
    while start < len(pks) and len(out) < need:
        out.extend(_text_matches(conn, plan, pks[start : start + size], skip_text=skip))
        start, size = start + size, min(2 * size, BATCH_MAX)
    return out[:need]


def _batched_walk(
    conn: sqlite3.Connection, plan: Plan, sort: str, need: int, exclude: Sequence[int]
) -> list[int] | None:
    """The first `need` matches in time order: candidates from the filters' indexes (a walk that
    stops at the page), the text checked a batch at a time (`_text_matches`). None when that
    takes longer than BATCH_BUDGET (the matches are sparse among the candidates: sets are cheaper).

    This is the plan for a filter with words too common to rank (`finish:length report`): the
    filter drives and the words cost a few FTS range reads, not a set of every completion that
    holds `report`.
    """
    start = time.thread_time()  # CPU time, as `budgeted` counts it
    deadline = start + max(BATCH_BUDGET, _set_cost(conn, plan))
    sql, params = plan.candidates_sql(sort)
    skip = set(exclude)
    out: list[int] = []
    offset, size = 0, BATCH_FIRST
    while len(out) < need:
        left = deadline - time.thread_time()
        pks = budgeted(conn, sql, [*params, size, offset], left) if left > 0 else None
        if pks is None:
            return None
        offset += len(pks)
        out.extend(_text_matches(conn, plan, [pk for pk in pks if pk not in skip]))
        if len(pks) < size:
            break  # every candidate seen
        spent = time.thread_time() - start
        if len(out) < need and spent > BATCH_BUDGET:
            # Over budget: go on only while the pace so far reaches the page before the set
            # plan would have (`tool:refund_order A-8812` at 1M: 1 match in 9 candidates, 160
            # ms walked, where the sets of its phrase and its tool cost 350 ms).
            projected = spent / len(out) * need if out else float("inf")
            if projected > deadline - start:
                return None
        size = min(2 * size, BATCH_MAX)
    return out[:need]


def _set_cost(conn: sqlite3.Connection, plan: Plan) -> float:
    """A rough CPU cost of the set plan: its rarest text clause's bodies (counted up to COUNT_CAP)."""
    if not plan.text_sets:
        return 0.0
    return SET_SECONDS_PER_BODY * min(_body_count(conn, plan, e) for e in plan.text_sets)


def _cost_walk(conn: sqlite3.Connection, plan: Plan, need: int, exclude: Sequence[int]) -> list[int] | None:
    """The `need` most expensive matches by a budgeted walk of the cost index (None: too sparse)."""
    where, params = plan.probe_where()
    where = _exclude_sql(where, params, exclude)
    sql, page = pks_sql(where, "cost", need, walk=True)
    return budgeted(conn, sql, [*params, *page], WALK_BUDGET)


def _exclude_sql(where: str, params: list[Any], exclude: Sequence[int]) -> str:
    if exclude:
        where += EXCLUDE_SQL
        params.append(json.dumps(list(exclude)))
    return where


def _exact_pks(
    conn: sqlite3.Connection,
    plan: Plan,
    sort: str,
    limit: int | None = None,
    offset: int = 0,
    exclude: Sequence[int] = (),
    into: array[int] | None = None,
) -> array[int]:
    """The exact matches in `sort` order (a page of them with `limit`), appended to `into`.

    An array filled straight from the cursor: a common word's whole set (`refund` at 1M: 840k
    keys) is 8 bytes a key, never a list of ints (~40 bytes a key) on its way to becoming one."""
    out = array("q") if into is None else into
    rarest = _rarest_text(conn, plan)
    driver = _small_driver(conn, plan, rarest)
    if driver is not None and plan.has_text:
        driven = _driven_pks(conn, plan, driver, sort, exclude, None if limit is None else offset + limit)
        out.extend(driven[offset:] if limit is None else driven[offset : offset + limit])
        return out
    if sort == "cost" and limit is not None and not plan.has_text and driver is None:
        # Filters only: the cost index walked backwards with per-row probes stops at the page
        # (~1-2 ms at 100k, where a sort of every match costs ~25 ms); sparse matches give up
        # after WALK_BUDGET for the set plan. (With words the batched walk below is cheaper: it
        # also finds the bodies the snippets come from.)
        walked = _cost_walk(conn, plan, limit + offset, exclude)
        if walked is not None:
            out.extend(walked[offset:])
            return out
    elif (
        limit is not None
        and driver is None
        and plan.has_text
        and plan.filters_only
        and (rarest is None or _filter_beats_text(conn, plan, rarest))
    ):
        batched = _batched_walk(conn, plan, sort, limit + offset, exclude)
        if batched is not None:
            out.extend(batched[offset:])
            return out
    elif (
        limit is not None and rarest is None and driver is None and not (sort == "cost" and not plan.has_text)
    ):
        where, params = plan.probe_where()
        where = _exclude_sql(where, params, exclude)
        sql, page = pks_sql(where, sort, limit + offset)
        walked = budgeted(conn, sql, [*params, *page], WALK_BUDGET)
        if walked is not None:
            out.extend(walked[offset:])
            return out
    where, params = _set_where(conn, plan, driver)
    where = _exclude_sql(where, params, exclude)
    sql, page = pks_sql(where, sort, limit, offset)
    out.extend(map(_first, conn.execute(sql, [*params, *page])))
    return out


_first = itemgetter(0)


def _exact_count(conn: sqlite3.Connection, plan: Plan) -> int:
    if not plan.preds and len(plan.text_sets) == 1:
        # One text clause and nothing else: counting distinct completions of the join is several
        # times cheaper than building the set and scanning the table.
        return int(conn.execute(plan.distinct_count_sql(), (plan.text_sets[0],)).fetchone()[0])
    if not plan.text_sets and len(plan.preds) == 1 and (only := plan.preds[0]).count_sql is not None:
        # One filter with an index of its own (`cost:`, `tool:`, `has:`): count in that index.
        return int(conn.execute(only.count_sql, [*only.params, -1]).fetchone()[0])
    driver = _small_driver(conn, plan, _rarest_text(conn, plan))
    if driver is not None and plan.has_text:
        return len(_driven_pks(conn, plan, driver, "newest", ()))
    where, params = _set_where(conn, plan, driver)
    return int(conn.execute(count_sql(where), params).fetchone()[0])


# -- ranked --------------------------------------------------------------------------------------


def _bounded_count(conn: sqlite3.Connection, expr: str, cap: int) -> int:
    row = conn.execute(BODY_COUNT_SQL, (expr, cap + 1)).fetchone()
    return int(row[0])


def _ranked_bodies(
    conn: sqlite3.Connection, plan: Plan, expr: str
) -> tuple[list[tuple[int, float | None]], bool]:
    """(body id, score) best first, and whether that list holds every matching body."""
    n = _body_count(conn, plan, expr)
    if n > COUNT_CAP:
        rows = conn.execute(NEWEST_BODIES_SQL, (expr, RANK_LIMIT)).fetchall()
        return [(r[0], None) for r in rows], False
    params: list[Any] = [expr]
    if n > RANK_LIMIT:
        params.append(RANK_LIMIT)
    rows = conn.execute(ranked_bodies_sql(newest_only=n > RANK_LIMIT), params).fetchall()
    return [(r[0], -r[1] if r[1] is not None else None) for r in rows], n <= RANK_LIMIT


def _ranked(
    conn: sqlite3.Connection, plan: Plan, need: int | None
) -> tuple[list[tuple[int, float | None, int]], bool]:
    """[(pk, score, body)] best first, and whether that is every match (no exact fill needed)."""
    expr = plan.rank_expr
    assert expr is not None
    bodies, complete = _ranked_bodies(conn, plan, expr)
    where, wparams = plan.where("probe")
    every = plan.completions_of_body_sql(where, limited=False)
    some = plan.completions_of_body_sql(where, limited=True)
    out: list[tuple[int, float | None, int]] = []
    seen: set[int] = set()
    for body, score in bodies:
        if need is not None and len(out) >= need:
            return out, False
        if need is None:
            rows = conn.execute(every, [body, *wparams]).fetchall()
        else:
            rows = conn.execute(some, [body, *wparams, need - len(out)]).fetchall()
        for (pk,) in rows:
            if pk not in seen:
                seen.add(pk)
                out.append((pk, score, body))
                if need is not None and len(out) >= need:
                    break
    # Every matching message was walked; with one clause that is every matching completion.
    return out, complete and len(plan.text_sets) == 1


def _ranked_array(conn: sqlite3.Connection, plan: Plan, need: int | None) -> tuple[array[int], bool]:
    """`_ranked`'s pks alone, as an array: a word shared by a quarter of a million completions
    (`tool` at 1M) is 2 MB of keys and a bitmap of the ones seen, not a tuple, a float and a set
    entry each (~45 MB)."""
    expr = plan.rank_expr
    assert expr is not None
    bodies, complete = _ranked_bodies(conn, plan, expr)
    where, wparams = plan.where("probe")
    every = plan.completions_of_body_sql(where, limited=False)
    some = plan.completions_of_body_sql(where, limited=True)
    out: array[int] = array("q")
    seen = bytearray((int(conn.execute(MAX_PK_SQL).fetchone()[0] or 0) >> 3) + 1)
    for body, _score in bodies:
        if need is not None and len(out) >= need:
            return out, False
        if need is None:
            rows = conn.execute(every, [body, *wparams])
        else:
            rows = conn.execute(some, [body, *wparams, need - len(out)])
        for (pk,) in rows:  # from the cursor: a shared system prompt's 250k rows are never a list
            byte, bit = pk >> 3, 1 << (pk & 7)
            if byte >= len(seen):  # written since the snapshot began
                seen.extend(bytes(byte + 1 - len(seen)))
            if not seen[byte] & bit:
                seen[byte] |= bit
                out.append(pk)
                if need is not None and len(out) >= need:
                    break
    return out, complete and len(plan.text_sets) == 1


# -- hits and snippets ---------------------------------------------------------------------------

_BODY_TEXTS_SQL = body_texts_sql(SNIPPET_CHARS)
_COLUMN_INDEX = {c: i for i, c in enumerate(FTS_COLUMNS)}


def _body_texts(conn: sqlite3.Connection, body: int) -> tuple[str | None, list[str]]:
    """A body's role and its FTS columns' texts, in `FTS_COLUMNS` order."""
    row = conn.execute(_BODY_TEXTS_SQL, (body,)).fetchone()
    if row is None:
        return None, []
    return row[0], [t or "" for t in row[1:]]


def _columns(plan: Plan) -> list[int]:
    if plan.columns is None:
        return list(range(len(FTS_COLUMNS)))
    return [_COLUMN_INDEX[c] for c in plan.columns]


def _snippet_from(texts: list[str], cols: list[int], matcher: Matcher) -> str | None:
    for i in cols:
        text = texts[i] if i < len(texts) else ""
        if not text:
            continue
        spans = matcher.spans(text, limit=50)
        if spans:
            return make_snippet(text, spans, SNIPPET_WIDTH)
    return None


def _source(role: str | None, kind: int | None, col: int | None = None) -> str:
    if kind == 1:
        return "output"
    return role or "message"


def _find_snippet(
    conn: sqlite3.Connection, plan: Plan, pk: int, body: int | None, matcher: Matcher
) -> tuple[str | None, str | None]:
    cols = _columns(plan)
    if body is not None:
        role, texts = _body_texts(conn, body)
        snip = _snippet_from(texts, cols, matcher)
        if snip is not None:
            kind_row = conn.execute(MESSAGE_KIND_SQL, (pk, body)).fetchone()
            return snip, _source(role, kind_row[0] if kind_row else None)
    # Output first, then the input from the newest message back; system prompts last.
    rows = conn.execute(plan.messages_sql(), (pk,)).fetchall()
    for kind, bid, _role in rows[:200]:
        role, texts = _body_texts(conn, bid)
        snip = _snippet_from(texts, cols, matcher)
        if snip is not None:
            return snip, _source(role, kind)
    return None, None


def _hits(
    conn: sqlite3.Connection,
    plan: Plan,
    items: Sequence[tuple[int, float | None, int | None]],
) -> list[Hit]:
    if not items:
        return []
    pks = [pk for pk, _, _ in items]
    rows = {r[0]: r for r in conn.execute(HITS_SQL, (json.dumps(pks),))}
    matcher = Matcher(highlight_terms(plan.query))
    out: list[Hit] = []
    for pk, score, body in items:
        r = rows.get(pk)
        if r is None:
            continue
        snippet: str | None = None
        source: str | None = None
        if matcher:
            where = body if body is not None else plan.snippet_bodies.get(pk)
            snippet, source = _find_snippet(conn, plan, pk, where, matcher)
        if snippet is None:
            snippet = one_line(r[9] or "")[:SNIPPET_WIDTH]
            source = "user" if r[9] else None
        out.append(
            Hit(
                pk=pk,
                id=r[1],
                created=r[2],
                model=r[3],
                snippet=snippet,
                score=score,
                finish_reason=r[4],
                total_tokens=r[5],
                tool_call_count=r[6] or 0,
                has_refusal=bool(r[7]),
                removed=r[8] is not None,
                source=source,
                cost_usd=r[10],
                cost_source=r[11],
            )
        )
    return out


def _filters_drive(conn: sqlite3.Connection, plan: Plan) -> bool:
    """Filters with words all too common to rank (bm25 would not be used), or an indexed filter
    far more selective than the words (`has:refusal since`, `finish:content_filter support`):
    newest first, the filters driving, instead of walking the best matching messages (one
    statement each, up to RANK_LIMIT of them) for the few that pass the filters."""
    if not plan.preds or not plan.filters_only:
        return False
    rarest = _rarest_text(conn, plan)
    return rarest is None or _filter_beats_text(conn, plan, rarest)


# -- public --------------------------------------------------------------------------------------


def search(
    conn: sqlite3.Connection,
    query_or_text: Query | str,
    *,
    sort: Sort | str = "relevance",
    limit: int = 50,
    offset: int = 0,
) -> list[Hit]:
    """A page of hits: best first (relevance with text), else newest (or oldest) first."""
    _check_sort(sort)
    query = as_query(query_or_text)
    plan = build(query, conn)
    if plan.never or limit <= 0:
        return []
    offset = max(0, offset)
    if sort != "relevance" or not plan.has_text:
        pks = _exact_pks(conn, plan, sort, limit, offset)
        return _hits(conn, plan, [(pk, None, None) for pk in pks])
    need = offset + limit
    if _filters_drive(conn, plan):
        pks = _exact_pks(conn, plan, "newest", limit, offset)
        return _hits(conn, plan, [(pk, None, None) for pk in pks])
    ranked, complete = _ranked(conn, plan, need)
    items: list[tuple[int, float | None, int | None]] = [(pk, s, b) for pk, s, b in ranked]
    if len(items) < need and not complete:
        rest = _exact_pks(conn, plan, "newest", need - len(items), 0, exclude=[pk for pk, _, _ in items])
        items.extend((pk, None, None) for pk in rest)
    return _hits(conn, plan, items[offset:need])


def matching_pks(
    conn: sqlite3.Connection,
    query_or_text: Query | str,
    *,
    sort: Sort | str = "relevance",
    limit: int | None = None,
) -> list[int]:
    """The ordered pks of every match (or the first `limit`), as a list (see `pk_array`)."""
    return pk_array(conn, query_or_text, sort=sort, limit=limit).tolist()


def pk_array(
    conn: sqlite3.Connection,
    query_or_text: Query | str,
    *,
    sort: Sort | str = "relevance",
    limit: int | None = None,
) -> array[int]:
    """The ordered pks of every match (or the first `limit`): the snapshot a virtual list indexes.

    Same order as `search`. Without text this is an index walk (newest first); with text the ranked
    part comes first, then the remaining matches newest first. An `array('q')` filled as the rows
    come (8 bytes a key: a million matches are 8 MB, not a 40 MB list).
    """
    _check_sort(sort)
    query = as_query(query_or_text)
    plan = build(query, conn)
    if plan.never:
        return array("q")
    if sort != "relevance" or not plan.has_text:
        return _exact_pks(conn, plan, sort, limit)
    if _filters_drive(conn, plan):
        return _exact_pks(conn, plan, "newest", limit)
    pks, complete = _ranked_array(conn, plan, limit)
    if complete or (limit is not None and len(pks) >= limit):
        return pks[:limit] if limit is not None else pks
    rest = None if limit is None else limit - len(pks)
    return _exact_pks(conn, plan, "newest", rest, 0, exclude=pks.tolist(), into=pks)


def count(conn: sqlite3.Connection, query_or_text: Query | str) -> int:
    """How many completions match."""
    query = as_query(query_or_text)
    plan = build(query, conn)
    if plan.never:
        return 0
    return _exact_count(conn, plan)


def hints(conn: sqlite3.Connection, query_or_text: Query | str) -> list[str]:
    """Notes worth showing under the search box (unknown fields, a model typed as text, ...)."""
    return build(as_query(query_or_text), conn).hints


def hits_for(conn: sqlite3.Connection, query_or_text: Query | str, pks: Iterable[int]) -> list[Hit]:
    """Hits (with snippets) for given pks, in their order: a virtual list's visible page."""
    query = as_query(query_or_text)
    plan = build(query, conn)
    return _hits(conn, plan, [(pk, None, None) for pk in pks])
