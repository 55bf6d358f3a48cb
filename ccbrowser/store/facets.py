"""Facet counts: how the completions of a result split by model, finish reason, tool, metadata and tag.

The TUI holds every result as a snapshot of primary keys, and the facets panel counts that set on
each keystroke. Grouping in SQL over the set (a temp table of the keys joined to each table)
measured 0.7 to 2.5 s at 100k completions on a loaded 2-core machine, most of it in the
per-row joins. So the facets are counted from a `FacetIndex` instead: for each primary key its
model, its finish reason, its distinct tools and its metadata pairs as small integers in arrays
(compressed sparse rows for the lists), read once from the store. Counting a set is then a
C-speed `Counter` over array lookups (tens of milliseconds at 100k). The index is rebuilt when
the store's completions change (`stamp`); tags change as the user labels and are few, so they
are read from `label_tags` each time. `bench/bench_facets.py` measures it against the SQL way.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

TOP = 12  # values kept per facet


@dataclass(frozen=True)
class Facets:
    """Each facet: (value, completions) most common first; `total` is the size of the set."""

    total: int
    model: list[tuple[str | None, int]] = field(default_factory=list)
    finish: list[tuple[str | None, int]] = field(default_factory=list)
    tool: list[tuple[str | None, int]] = field(default_factory=list)
    metadata: list[tuple[tuple[str, str | None], int]] = field(default_factory=list)
    tag: list[tuple[str, int]] = field(default_factory=list)


Stamp = tuple[int, int | None, float | None]


def stamp(conn: sqlite3.Connection) -> Stamp:
    """Changes whenever a completion is added, rewritten (`fetched_at`) or deleted."""
    n, top, fetched = conn.execute("SELECT count(*), max(pk), max(fetched_at) FROM completions").fetchone()
    return int(n), top, fetched


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


def _lists(conn: sqlite3.Connection, sql: str, size: int, values: _Values) -> tuple[array[int], array[int]]:
    """(offsets, items) of per-pk lists from `sql` (pk, value...) ordered by pk."""
    offsets = array("i", [0]) * (size + 1)
    items = array("i")
    last = -1
    for row in conn.execute(sql):
        pk = row[0]
        if pk != last:
            for p in range(last + 1, pk + 1):
                offsets[p] = len(items)
            last = pk
        items.append(values.id(row[1] if len(row) == 2 else row[1:]))
    for p in range(last + 1, size + 1):
        offsets[p] = len(items)
    return offsets, items


@dataclass
class FacetIndex:
    stamp: Stamp
    size: int  # max pk + 1
    models: list[object]
    model_of: array[int]
    finishes: list[object]
    finish_of: array[int]
    tools: list[object]
    tool_offsets: array[int]
    tool_items: array[int]
    pairs: list[object]
    meta_offsets: array[int]
    meta_items: array[int]

    @classmethod
    def build(cls, conn: sqlite3.Connection) -> FacetIndex:
        mark = stamp(conn)
        size = (mark[1] or 0) + 1
        models, finishes = _Values(), _Values()
        model_of = array("i", [-1]) * size
        finish_of = array("i", [-1]) * size
        for pk, model, finish in conn.execute("SELECT pk, model, finish_reason FROM completions"):
            model_of[pk] = models.id(model)
            finish_of[pk] = finishes.id(finish)
        tools, pairs = _Values(), _Values()
        tool_offsets, tool_items = _lists(
            conn, "SELECT DISTINCT completion, name FROM tool_calls ORDER BY completion", size, tools
        )
        meta_offsets, meta_items = _lists(
            conn, "SELECT completion, key, value FROM completion_metadata ORDER BY completion", size, pairs
        )
        return cls(
            mark, size, models.values, model_of, finishes.values, finish_of,
            tools.values, tool_offsets, tool_items, pairs.values, meta_offsets, meta_items,
        )  # fmt: skip

    def count(
        self, pks: Iterable[int] | None
    ) -> tuple[int, Counter[int], Counter[int], Counter[int], Counter[int]]:
        """(total, model ids, finish ids, tool ids, metadata pair ids) of the completions `pks`."""
        if pks is None:
            known = [p for p in range(self.size) if self.model_of[p] >= 0]
        else:
            size = self.size
            known = [p for p in pks if 0 <= p < size and self.model_of[p] >= 0]
        mo, fo = self.model_of, self.finish_of
        to, ti, mo_, mi = self.tool_offsets, self.tool_items, self.meta_offsets, self.meta_items
        return (
            len(known),
            Counter(map(mo.__getitem__, known)),
            Counter(map(fo.__getitem__, known)),
            Counter(chain.from_iterable(ti[to[p] : to[p + 1]] for p in known if to[p] != to[p + 1])),
            Counter(chain.from_iterable(mi[mo_[p] : mo_[p + 1]] for p in known if mo_[p] != mo_[p + 1])),
        )


def _top(counts: Counter[int], values: list[object], top: int) -> list[tuple[object, int]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(values[kv[0]])))
    return [(values[i], n) for i, n in ranked[:top]]


def _tags(conn: sqlite3.Connection, pks: Sequence[int] | None, top: int) -> list[tuple[str, int]]:
    rows = conn.execute("SELECT c.pk, t.tag FROM label_tags t JOIN completions c ON c.id = t.id")
    if pks is None:
        counts = Counter(tag for _pk, tag in rows)
    else:
        wanted = set(pks)
        counts = Counter(tag for pk, tag in rows if pk in wanted)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def facet_counts(
    conn: sqlite3.Connection, pks: Sequence[int] | None, index: FacetIndex | None = None, top: int = TOP
) -> tuple[Facets, FacetIndex]:
    """The facets of the completions `pks` (None: the whole store), and the index it used: pass it
    back next time (it is rebuilt only when the completions changed)."""
    if index is None or index.stamp != stamp(conn):
        index = FacetIndex.build(conn)
    total, model, finish, tool, meta = index.count(pks)
    facets = Facets(
        total,
        _top(model, index.models, top),  # type: ignore[arg-type]
        _top(finish, index.finishes, top),  # type: ignore[arg-type]
        _top(tool, index.tools, top),  # type: ignore[arg-type]
        _top(meta, index.pairs, top),  # type: ignore[arg-type]
        _tags(conn, pks, top),
    )
    return facets, index
