"""Reading conversations: the thread that holds a completion, its nodes in conversation order,
the per-thread summaries the conversation list shows, their cost and token totals, and the
threads that hold a search's matches (tables: `store/threads.py`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ccbrowser.errors import NotFound
from ccbrowser.store.labels import Label
from ccbrowser.store.reader import body_json, message_id


@dataclass(frozen=True, slots=True)
class Node:
    """One completion's place in its thread, with what a transcript line needs."""

    id: str
    thread: str
    parent: str | None
    parent_choice: int | None
    turn: int
    branch: int
    continues: str | None
    tool_step: bool
    created: int | None
    model: str | None
    total_tokens: int | None
    input_count: int | None
    cost_usd: float | None = None
    depth: int = 0  # distance from the root in the tree
    siblings: int = 1  # how many children its parent has (branches at this point)


@dataclass(frozen=True, slots=True)
class Totals:
    """What a whole thread used. A completion whose cost (or token count) is unknown is counted
    as unknown, never as 0: `cost_usd` is the sum of the known costs (None when none is known)."""

    completions: int = 0
    total_tokens: int | None = None
    tokens_unknown: int = 0
    cost_usd: float | None = None
    cost_unknown: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    """One conversation as the list shows it."""

    thread: str
    root: str
    completions: int
    turns: int
    branches: int
    first_created: int | None
    last_created: int | None
    total_tokens: int | None
    models: str | None
    preview: str | None
    totals: Totals | None = None  # cost and tokens of the whole thread (`with_totals`)
    matches: int | None = None  # how many of a search's matches it holds (`matching`)
    first_match: str | None = None  # the first of them in the search's order
    label: Label | None = None  # the labels on every completion of it (`with_totals`; no note)


_NODE_SQL = """
SELECT n.id, n.thread, n.parent, n.parent_choice, n.turn, n.branch, n.continues, n.tool_step,
    c.created, c.model, c.total_tokens, c.input_count, c.cost_usd
FROM thread_nodes n JOIN completions c ON c.id = n.id
"""
_SUMMARY_COLS = (
    "thread, root, completions, turns, branches, first_created, last_created, total_tokens, models, preview"
)


def thread_of(conn: sqlite3.Connection, completion_id: str) -> str:
    row = conn.execute("SELECT thread FROM thread_nodes WHERE id = ?", (completion_id,)).fetchone()
    if row is None:
        raise NotFound(f"no conversation holds {completion_id!r} in the local database")
    return str(row[0])


def nodes(conn: sqlite3.Connection, thread: str) -> list[Node]:
    """Every completion of `thread` in conversation order: depth first from the root, each
    parent before its children and the children in branch order (regenerations after the
    original), so reading down follows one line of the chat, then the next branch."""
    rows = conn.execute(_NODE_SQL + " WHERE n.thread = ?", (thread,)).fetchall()
    children: dict[str | None, list[Any]] = {}
    ids = {r[0] for r in rows}
    for r in rows:
        parent = r[2] if r[2] in ids else None
        children.setdefault(parent, []).append(r)
    for members in children.values():
        members.sort(key=lambda r: (r[5], r[8] or 0, r[0]))  # branch, created, id
    out: list[Node] = []
    stack = [(r, 0, len(children[None])) for r in reversed(children.get(None, []))]
    while stack:
        r, depth, siblings = stack.pop()
        (
            cid,
            thread_,
            parent,
            choice,
            turn,
            branch,
            continues,
            tool_step,
            created,
            model,
            tokens,
            inputs,
            cost,
        ) = r
        out.append(
            Node(
                cid,
                thread_,
                parent,
                choice,
                turn,
                branch,
                continues,
                bool(tool_step),
                created,
                model,
                tokens,
                inputs,
                cost,
                depth,
                siblings,
            )  # fmt: skip
        )
        kids = children.get(str(r[0]), [])
        stack.extend((k, depth + 1, len(kids)) for k in reversed(kids))
    return out


def summary(conn: sqlite3.Connection, thread: str) -> Summary | None:
    """One thread's summary with its totals."""
    row = conn.execute(f"SELECT {_SUMMARY_COLS} FROM threads WHERE thread = ?", (thread,)).fetchone()
    return with_totals(conn, [Summary(*row)])[0] if row else None


def summaries(conn: sqlite3.Connection, *, limit: int, offset: int = 0) -> list[Summary]:
    """Conversations, the most recently active first (index `threads_last`), with their totals."""
    sql = f"SELECT {_SUMMARY_COLS} FROM threads ORDER BY last_created DESC, thread DESC LIMIT ? OFFSET ?"
    return with_totals(conn, [Summary(*r) for r in conn.execute(sql, (limit, offset))])


def totals(conn: sqlite3.Connection, threads: Sequence[str]) -> dict[str, Totals]:
    """Cost and tokens of each of these threads, summed over its completions (index
    `thread_nodes_thread`, then one completion by id each: a page of the list reads only its rows).
    SQL's `sum` of nothing but NULLs is NULL: an all-unknown thread stays unknown."""
    out: dict[str, Totals] = {}
    unique = list(dict.fromkeys(threads))
    for start in range(0, len(unique), 900):
        chunk = unique[start : start + 900]
        sql = (
            "SELECT n.thread, count(*), sum(c.total_tokens), sum(c.total_tokens IS NULL), "
            "sum(c.cost_usd), sum(c.cost_usd IS NULL) "
            "FROM thread_nodes n JOIN completions c ON c.id = n.id "
            f"WHERE n.thread IN ({','.join('?' * len(chunk))}) GROUP BY n.thread"
        )
        for thread, *row in conn.execute(sql, chunk):
            out[thread] = Totals(*row)
    return out


def thread_labels(conn: sqlite3.Connection, threads: Sequence[str]) -> dict[str, Label]:
    """The labels of each of these threads: a star when every completion of it is starred, the
    tags every completion carries (what labelling a thread writes, `labels.thread_members`).
    Threads without such a label are left out."""
    out: dict[str, Label] = {}
    unique = list(dict.fromkeys(threads))
    for start in range(0, len(unique), 900):
        chunk = unique[start : start + 900]
        marks = ",".join("?" * len(chunk))
        members = dict(
            conn.execute(
                f"SELECT thread, count(*) FROM thread_nodes WHERE thread IN ({marks}) GROUP BY thread", chunk
            )
        )
        starred = {
            t
            for t, n in conn.execute(
                "SELECT n.thread, count(*) FROM thread_nodes n JOIN labels l ON l.id = n.id "
                f"WHERE n.thread IN ({marks}) AND l.starred = 1 GROUP BY n.thread",
                chunk,
            )
            if n == members.get(t)
        }
        tags: dict[str, list[str]] = {}
        for t, tag, n in conn.execute(
            "SELECT n.thread, g.tag, count(*) FROM thread_nodes n JOIN label_tags g ON g.id = n.id "
            f"WHERE n.thread IN ({marks}) GROUP BY n.thread, g.tag ORDER BY n.thread, g.tag",
            chunk,
        ):
            if n == members.get(t):
                tags.setdefault(t, []).append(tag)
        for t in dict.fromkeys([*starred, *tags]):
            out[t] = Label(t in starred, tuple(tags.get(t, ())))
    return out


def with_totals(conn: sqlite3.Connection, rows: Sequence[Summary]) -> list[Summary]:
    """`rows` with each thread's totals and labels."""
    ids = [s.thread for s in rows]
    found, labelled = totals(conn, ids), thread_labels(conn, ids)
    return [replace(s, totals=found.get(s.thread, Totals()), label=labelled.get(s.thread)) for s in rows]


@dataclass(frozen=True, slots=True)
class Matching:
    """The threads that hold a search's matches, in the order of each one's first match."""

    threads: list[str]
    matches: dict[str, int]  # thread -> how many matches it holds
    first: dict[str, str]  # thread -> the id of its first match


def group_matches(conn: sqlite3.Connection, pks: Sequence[int]) -> Matching:
    """Search results grouped by conversation: `pks` in the search's order (best or newest
    first); a thread ranks where its first match does. Completions without a thread (a database
    threaded before they arrived cannot have any: each is its own thread) are left out."""
    thread_of: dict[int, tuple[str, str]] = {}
    wanted = list(pks)
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        sql = (
            "SELECT c.pk, c.id, n.thread FROM completions c JOIN thread_nodes n ON n.id = c.id "
            f"WHERE c.pk IN ({','.join('?' * len(chunk))})"
        )
        for pk, cid, thread in conn.execute(sql, chunk):
            thread_of[pk] = (cid, thread)
    matches: dict[str, int] = {}
    first: dict[str, str] = {}
    for pk in wanted:
        hit = thread_of.get(pk)
        if hit is None:
            continue
        cid, thread = hit
        if thread not in matches:
            matches[thread], first[thread] = 0, cid
        matches[thread] += 1
    return Matching(list(matches), matches, first)


def matching(conn: sqlite3.Connection, found: Matching, *, limit: int, offset: int = 0) -> list[Summary]:
    """One page of `found`'s threads as summaries (with totals, match counts, first match)."""
    page = found.threads[offset : offset + limit]
    if not page:
        return []
    sql = f"SELECT {_SUMMARY_COLS} FROM threads WHERE thread IN ({','.join('?' * len(page))})"
    by_thread = {r[0]: Summary(*r) for r in conn.execute(sql, page)}
    rows = [
        replace(s, matches=found.matches[t], first_match=found.first[t])
        for t in page
        if (s := by_thread.get(t)) is not None
    ]
    return with_totals(conn, rows)


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM threads").fetchone()[0])


@dataclass(frozen=True, slots=True)
class Turn:
    """What one completion adds to its conversation."""

    node: Node
    new: list[Any]  # the input messages it added (every one at a root)
    outputs: list[Any]  # the message of each choice, in choice order
    shown: int  # the choice the conversation goes on from (its first child's), else 0
    finish: str | None


def turns(conn: sqlite3.Connection, thread: str) -> list[Turn]:
    """The thread's completions in conversation order, each with only its new messages: the
    history a completion repeats from its parent (inputs and the output sent back) is left out.
    Reads from each completion's first new input position on, never the repeated history."""
    ordered = nodes(conn, thread)
    by_id = {n.id: n for n in ordered}
    first_child: dict[str, int] = {}
    for n in ordered:
        if n.parent is not None and n.parent not in first_child:
            first_child[n.parent] = n.parent_choice or 0
    raw_of: dict[str, Any] = {}
    for start in range(0, len(ordered), 900):
        chunk = [n.id for n in ordered[start : start + 900]]
        sql = f"SELECT id, raw FROM completions WHERE id IN ({','.join('?' * len(chunk))})"
        for cid, raw in conn.execute(sql, chunk):
            raw_of[cid] = json.loads(raw)
    out: list[Turn] = []
    for n in ordered:
        parent = by_id.get(n.parent) if n.parent else None
        skip = parent.input_count + 1 if parent is not None and parent.input_count is not None else 0
        rows = conn.execute(
            "SELECT m.position, m.msg_id, b.raw, b.content_split, b.content FROM messages m JOIN bodies b ON b.id = m.body "
            "JOIN completions c ON c.pk = m.completion WHERE c.id = ? AND m.kind = 0 AND m.position >= ? "
            "ORDER BY m.position",
            (n.id, skip),
        ).fetchall()
        raw = raw_of.get(n.id)
        choices = raw.get("choices") if isinstance(raw, dict) else None
        listed: list[dict[str, Any]] = sorted(
            (c for c in choices or [] if isinstance(c, dict)), key=_choice_index
        )
        shown = first_child.get(n.id, 0)
        finish = listed[shown].get("finish_reason") if shown < len(listed) else None
        out.append(
            Turn(
                n,
                [body_json(r, s, c, message_id(n.id, p, m)) for p, m, r, s, c in rows],
                [c.get("message") for c in listed],
                shown,
                finish if isinstance(finish, str) else None,
            )
        )
    return out


def _choice_index(choice: dict[str, Any]) -> int:
    index = choice.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0
