"""Facet counts: how the completions of a result split by model, finish reason, tool, metadata and tag.

The TUI holds every result as a snapshot of primary keys, and the facets panel counts that set on
each keystroke. Grouping in SQL over the set (a temp table of the keys joined to each table)
measured 0.7 to 2.5 s at 100k completions on a loaded 2-core machine, most of it in the
per-row joins. So the facets are counted from a `FacetIndex` instead: for each primary key its
model and finish reason as small integers in arrays, and for each tool and metadata pair the
primary keys that have it, read once from the store. Counting a set is then a byte mask over the
keys and C-speed `compress` / `Counter` / `sum` over arrays, with the long tail of metadata
values (one `user=...` per completion) never counted once it cannot reach the top. The index is rebuilt when
completions or tool calls are added or removed (`stamp`, three index-only look-ups); a sync that
rewrote metadata in place is not seen by it, so the TUI drops the index after each sync. Tags
change as the user labels and are few: they are read from `label_tags` each time. Building reads
indexes, not the rows (whose raw JSON is most of the file). `bench/bench_facets.py` measures it
against the SQL way.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from array import array
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import Any

TOP = 12  # values kept per facet
SMALL = 5_000  # a set this small is counted in SQL: proportional to the set, not to the store


@dataclass(frozen=True)
class Facets:
    """Each facet: (value, completions) most common first; `total` is the size of the set."""

    total: int
    model: list[tuple[str | None, int]] = field(default_factory=list)
    finish: list[tuple[str | None, int]] = field(default_factory=list)
    tool: list[tuple[str | None, int]] = field(default_factory=list)
    metadata: list[tuple[tuple[str, str | None], int]] = field(default_factory=list)
    tag: list[tuple[str, int]] = field(default_factory=list)


Stamp = tuple[int, int | None, int]


def stamp(conn: sqlite3.Connection) -> Stamp:
    """Changes whenever a completion (or a tool call) is added or deleted."""
    n, top, calls = conn.execute(
        "SELECT (SELECT count(*) FROM completions), (SELECT max(pk) FROM completions), "
        "(SELECT count(*) FROM tool_calls)"
    ).fetchone()
    return int(n), top, int(calls)


class _Values:
    """Distinct values <-> small integers."""

    def __init__(self) -> None:
        self.ids: dict[object, int] = {}
        self.values: list[object] = []

    def id(self, value: object) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


def _postings(rows: Iterable[tuple[int, object]], values: _Values) -> list[array[int]]:
    """For each value id, the distinct primary keys having it; ids renumbered most common first."""
    lists: list[dict[int, None]] = []
    for pk, value in rows:
        vid = values.id(value)
        if vid == len(lists):
            lists.append({})
        lists[vid][pk] = None
    order = sorted(range(len(lists)), key=lambda v: -len(lists[v]))
    values.values[:] = [values.values[v] for v in order]
    return [array("i", lists[v]) for v in order]


def _top_postings(
    postings: list[array[int]], values: list[object], mask: bytearray, top: int
) -> list[tuple[object, int]]:
    """The `top` values with the most completions in `mask`. Postings come most common first and a
    value can count no more completions than it has: once the next one has no more than the
    current `top`-th best count, none after it can enter."""
    best: list[tuple[int, int]] = []  # a min-heap of (count, -value id)
    get = mask.__getitem__
    for vid, owners in enumerate(postings):
        if len(best) == top and len(owners) <= best[0][0]:
            break
        n = sum(map(get, owners))
        if not n:
            continue
        if len(best) < top:
            heapq.heappush(best, (n, -vid))
        elif n > best[0][0]:
            heapq.heapreplace(best, (n, -vid))
    return [(values[-v], n) for n, v in sorted(best, key=lambda item: (-item[0], -item[1]))]


@dataclass
class FacetIndex:
    """Model and finish reason ids per primary key (-1: no such completion); for tools and
    metadata pairs, the primary keys having each value."""

    stamp: Stamp
    size: int  # max pk + 1
    models: list[object]
    model_of: array[int]
    finishes: list[object]
    finish_of: array[int]
    tools: list[object]
    tool_postings: list[array[int]]
    pairs: list[object]
    meta_postings: list[array[int]]
    # (data_version, [(pk, tag)]): the labels as last read; read again when the file changed
    tags: tuple[int, list[tuple[int, str]]] | None = None

    @classmethod
    def build(cls, conn: sqlite3.Connection) -> FacetIndex:
        mark = stamp(conn)
        size = (mark[1] or 0) + 1
        models, finishes = _Values(), _Values()
        model_of = array("i", [-1]) * size
        finish_of = array("i", [-1]) * size
        for pk, model in conn.execute("SELECT pk, model FROM completions INDEXED BY completions_model"):
            model_of[pk] = models.id(model)
        for pk, finish in conn.execute(
            "SELECT pk, finish_reason FROM completions INDEXED BY completions_finish"
        ):
            finish_of[pk] = finishes.id(finish)
        tools, pairs = _Values(), _Values()
        tool_postings = _postings(
            conn.execute("SELECT completion, name FROM tool_calls INDEXED BY tool_calls_name"), tools
        )
        meta_postings = _postings(
            (
                (r[0], (r[1], r[2]))
                for r in conn.execute("SELECT completion, key, value FROM completion_metadata")
            ),
            pairs,
        )
        return cls(
            mark, size, models.values, model_of, finishes.values, finish_of,
            tools.values, tool_postings, pairs.values, meta_postings,
        )  # fmt: skip

    def mask(self, pks: Iterable[int] | None) -> bytearray:
        """One byte per primary key: 1 for the completions of the set."""
        if pks is None:
            return bytearray(b"\x01") * self.size
        mask = bytearray(self.size)
        try:
            deque(map(mask.__setitem__, pks, repeat(1)), maxlen=0)
        except IndexError:  # a completion newer than the index: counted once it is rebuilt
            deque(map(mask.__setitem__, (p for p in pks if 0 <= p < self.size), repeat(1)), maxlen=0)
        return mask


def _top(counts: Counter[int], values: list[object], top: int) -> list[tuple[object, int]]:
    counts.pop(-1, None)
    return [(values[i], n) for i, n in counts.most_common(top)]


def _tags(conn: sqlite3.Connection, index: FacetIndex, mask: bytearray, top: int) -> list[tuple[str, int]]:
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    if index.tags is None or index.tags[0] != version:
        # CROSS JOIN keeps this order: the few labels, each looking its completion up by id.
        sql = "SELECT c.pk, t.tag FROM label_tags t CROSS JOIN completions c ON c.id = t.id"
        index.tags = (version, conn.execute(sql).fetchall())
    rows = index.tags[1]
    size = len(mask)
    counts = Counter(tag for pk, tag in rows if pk < size and mask[pk])
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def facet_counts(
    conn: sqlite3.Connection, pks: Sequence[int] | None, index: FacetIndex | None = None, top: int = TOP
) -> tuple[Facets, FacetIndex]:
    """The facets of the completions `pks` (None: the whole store), and the index it used: pass it
    back next time (it is rebuilt only when completions were added or removed)."""
    if index is None or index.stamp != stamp(conn):
        index = FacetIndex.build(conn)
    mask = index.mask(pks)
    model = Counter(compress(index.model_of, mask))
    model.pop(-1, None)
    if pks is not None and len(pks) <= SMALL:
        tool, meta = _small(conn, pks, top)
    else:
        tool = _top_postings(index.tool_postings, index.tools, mask, top)
        meta = _top_postings(index.meta_postings, index.pairs, mask, top)
    facets = Facets(
        sum(model.values()),
        _top(model, index.models, top),  # type: ignore[arg-type]
        _top(Counter(compress(index.finish_of, mask)), index.finishes, top),  # type: ignore[arg-type]
        tool,  # type: ignore[arg-type]
        meta,  # type: ignore[arg-type]
        _tags(conn, index, mask, top),
    )
    return facets, index


def _small(conn: sqlite3.Connection, pks: Sequence[int], top: int) -> tuple[list[Any], list[Any]]:
    """Tools and metadata of a small set: primary-key look-ups per completion of the set (a few
    milliseconds), where the postings would be walked to the end for lack of big counts."""
    arr = json.dumps(list(pks))
    tools = [
        (r[0], int(r[1]))
        for r in conn.execute(
            "SELECT name, count(DISTINCT completion) FROM tool_calls "
            "WHERE completion IN (SELECT value FROM json_each(?)) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
            (arr, top),
        )
    ]
    meta = [
        ((r[0], r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT key, value, count(*) FROM completion_metadata "
            "WHERE completion IN (SELECT value FROM json_each(?)) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?",
            (arr, top),
        )
    ]
    return tools, meta
