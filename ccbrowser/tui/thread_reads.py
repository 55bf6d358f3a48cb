"""The TUI's reads of conversations (run on `reads.Reads` threads) and the view of one thread.

`ThreadView` is the thread of the completion under the cursor: all of its turns, the path the
Thread tab shows (from the root through that completion, then on along each first branch), and
where the branch and turn keys lead. Moving is always by completion: the list cursor goes to
the completion a key names, so the view follows the cursor and holds no state but the fold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ccbrowser.errors import NotFound
from ccbrowser.store import conversation, reader, threads
from ccbrowser.store.conversation import Matching, Summary, Turn
from ccbrowser.store.reader import Detail
from ccbrowser.tui.curation_io import labelled
from ccbrowser.tui.usage_reads import Prices, priced


@dataclass
class ThreadView:
    turns: list[Turn]  # every completion of the thread, in conversation order
    selected: str
    summary: Summary | None
    unfolded: bool = False  # tool loops shown step by step

    def __post_init__(self) -> None:
        self._by_id = {t.node.id: t for t in self.turns}
        self._children: dict[str, list[Turn]] = {}
        for t in self.turns:
            if t.node.parent in self._by_id:
                self._children.setdefault(str(t.node.parent), []).append(t)

    def has(self, cid: str) -> bool:
        return cid in self._by_id

    def children(self, cid: str) -> list[Turn]:
        return self._children.get(cid, [])

    def path(self) -> list[Turn]:
        """Root to the selected completion, then on through each first child."""
        up: list[Turn] = []
        cur = self._by_id.get(self.selected)
        while cur is not None:
            up.append(cur)
            cur = self._by_id.get(cur.node.parent) if cur.node.parent else None
        line = up[::-1]
        while line and (kids := self.children(line[-1].node.id)):
            line.append(kids[0])
        return line

    def siblings(self, turn: Turn) -> list[Turn]:
        parent = turn.node.parent
        if parent in self._by_id:
            return self.children(str(parent))
        return [turn]

    def branch_target(self, step: int) -> str | None:
        """`b` / `B`: the next / previous branch at the nearest branch point at or above the
        selected completion (wrapping round); None when its line never branched."""
        path = self.path()
        here = next((i for i, t in enumerate(path) if t.node.id == self.selected), len(path) - 1)
        for t in reversed(path[: here + 1]):
            sibs = self.siblings(t)
            if len(sibs) > 1:
                i = sibs.index(t)
                return sibs[(i + step) % len(sibs)].node.id
        return None

    def turn_target(self, step: int) -> str | None:
        """`{` / `}`: the first completion of the previous / next turn on the path."""
        path = self.path()
        firsts: list[Turn] = []
        for t in path:
            if not firsts or t.node.turn != firsts[-1].node.turn:
                firsts.append(t)
        current = self._by_id.get(self.selected)
        if current is None:
            return None
        i = next(n for n, t in enumerate(firsts) if t.node.turn == current.node.turn)
        j = i + step
        if step < 0 and firsts[i].node.id != self.selected:
            j = i  # within a tool loop, `{` goes to the start of this turn first
        return firsts[j].node.id if 0 <= j < len(firsts) else None


def detail(
    conn: sqlite3.Connection, pk: int, unfolded: bool = False, prices: Prices | None = None
) -> Detail | None:
    """`reader.detail_by_pk` with the completion's conversation (tool loops `unfolded` or not)
    and its price breakdown."""
    return with_thread(conn, labelled(conn, priced(reader.detail_by_pk(conn, pk), prices)), unfolded)


def detail_by_id(
    conn: sqlite3.Connection, completion_id: str, unfolded: bool = False, prices: Prices | None = None
) -> Detail | None:
    return with_thread(conn, labelled(conn, priced(reader.detail(conn, completion_id), prices)), unfolded)


def with_thread(conn: sqlite3.Connection, d: Detail | None, unfolded: bool) -> Detail | None:
    if d is None or not threads.present(conn):
        return d
    try:
        thread = conversation.thread_of(conn, d.row.id)
    except NotFound:
        return d
    turns = conversation.turns(conn, thread)
    return replace(d, thread=ThreadView(turns, d.row.id, conversation.summary(conn, thread), unfolded))


def summary(conn: sqlite3.Connection, thread: str) -> Summary | None:
    return conversation.summary(conn, thread)


def summaries(conn: sqlite3.Connection, limit: int, offset: int) -> list[Summary]:
    return conversation.summaries(conn, limit=limit, offset=offset)


def grouped(conn: sqlite3.Connection, pks: Sequence[int]) -> Matching:
    """A search's matches grouped by conversation (see `conversation.group_matches`)."""
    return conversation.group_matches(conn, pks)


def matching(conn: sqlite3.Connection, found: Matching, limit: int, offset: int) -> list[Summary]:
    return conversation.matching(conn, found, limit=limit, offset=offset)
