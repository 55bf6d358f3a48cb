"""The `Index` protocol over SQLite tables shaped as the package docstring says the store will keep
them: a fresh `Threader` per batch, so every bit of state lives in the database file, and the
results must equal the in-memory index's."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from test_threads import check, full_corpus, run

from ccbrowser.threads import Assignment, Keys, Threader

SCHEMA = """
CREATE TABLE thread_nodes (
    id TEXT PRIMARY KEY, created INTEGER, grp TEXT, prefix_key BLOB, anchor_key BLOB,
    tool_step INTEGER, length INTEGER,
    thread TEXT, parent TEXT, parent_choice INTEGER, turn INTEGER, branch INTEGER, continues TEXT
);
CREATE TABLE thread_keys (id TEXT, choice INTEGER, full_key BLOB, tail_key BLOB, PRIMARY KEY (id, choice));
CREATE INDEX thread_keys_full ON thread_keys (full_key);
CREATE INDEX thread_keys_tail ON thread_keys (tail_key) WHERE tail_key IS NOT NULL;
CREATE INDEX thread_nodes_prefix ON thread_nodes (prefix_key) WHERE prefix_key IS NOT NULL;
CREATE INDEX thread_nodes_anchor ON thread_nodes (anchor_key) WHERE anchor_key IS NOT NULL;
CREATE INDEX thread_nodes_parent ON thread_nodes (parent) WHERE parent IS NOT NULL;
CREATE INDEX thread_nodes_roots ON thread_nodes (grp) WHERE parent IS NULL AND grp IS NOT NULL;
CREATE INDEX thread_nodes_thread ON thread_nodes (thread);
"""


class SqliteIndex:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def keys(self, cid: str) -> Keys | None:
        row = self.conn.execute(
            "SELECT created, grp, prefix_key, anchor_key, tool_step, length FROM thread_nodes WHERE id = ?",
            (cid,),
        ).fetchone()
        if row is None:
            return None
        pairs = self.conn.execute(
            "SELECT full_key, tail_key FROM thread_keys WHERE id = ? ORDER BY choice", (cid,)
        ).fetchall()
        created, grp, prefix, anchor, tool_step, length = row
        return Keys(
            cid,
            created,
            grp,
            prefix,
            tuple(f for f, _ in pairs),
            tuple(t for _, t in pairs),
            anchor,
            bool(tool_step),
            length,
        )

    def assignment(self, cid: str) -> Assignment | None:
        row = self.conn.execute(
            "SELECT thread, parent, parent_choice, turn, branch, continues FROM thread_nodes WHERE id = ?",
            (cid,),
        ).fetchone()
        return None if row is None or row[0] is None else Assignment(cid, *row)

    def put_keys(self, keys: Keys) -> None:
        self.conn.execute(
            "INSERT INTO thread_nodes (id, created, grp, prefix_key, anchor_key, tool_step, length) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET created = excluded.created, "
            "grp = excluded.grp, prefix_key = excluded.prefix_key, anchor_key = excluded.anchor_key, "
            "tool_step = excluded.tool_step, length = excluded.length",
            (
                keys.id,
                keys.created,
                keys.group,
                keys.prefix_key,
                keys.anchor_key,
                keys.tool_step,
                keys.length,
            ),
        )
        self.conn.execute("DELETE FROM thread_keys WHERE id = ?", (keys.id,))
        self.conn.executemany(
            "INSERT INTO thread_keys (id, choice, full_key, tail_key) VALUES (?, ?, ?, ?)",
            [(keys.id, j, f, t) for j, (f, t) in enumerate(zip(keys.full_keys, keys.tail_keys, strict=True))],
        )

    def put_assignment(self, a: Assignment) -> None:
        self.conn.execute(
            "UPDATE thread_nodes SET thread = ?, parent = ?, parent_choice = ?, turn = ?, branch = ?, "
            "continues = ? WHERE id = ?",
            (a.thread, a.parent, a.parent_choice, a.turn, a.branch, a.continues, a.id),
        )

    def _ids(self, sql: str, key: object) -> list[str]:
        return [r[0] for r in self.conn.execute(sql, (key,))]

    def with_full_key(self, key: bytes) -> Iterable[tuple[str, int]]:
        return self.conn.execute("SELECT id, choice FROM thread_keys WHERE full_key = ?", (key,)).fetchall()

    def with_tail_key(self, key: bytes) -> Iterable[str]:
        return self._ids("SELECT DISTINCT id FROM thread_keys WHERE tail_key = ?", key)

    def with_prefix_key(self, key: bytes) -> Iterable[str]:
        return self._ids("SELECT id FROM thread_nodes WHERE prefix_key = ?", key)

    def with_anchor_key(self, key: bytes) -> Iterable[str]:
        return self._ids("SELECT id FROM thread_nodes WHERE anchor_key = ?", key)

    def children(self, cid: str) -> Iterable[str]:
        return self._ids("SELECT id FROM thread_nodes WHERE parent = ?", cid)

    def group_roots(self, group: str) -> Iterable[str]:
        return self._ids(
            "SELECT id FROM thread_nodes WHERE grp = ? AND parent IS NULL AND thread IS NOT NULL", group
        )


def test_sqlite_index_gives_the_memory_index_results(tmp_path: Path) -> None:
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    db = tmp_path / "threads.db"
    setup = sqlite3.connect(db)
    setup.executescript(SCHEMA)
    setup.close()
    shuffled = list(corpus.calls)
    random.Random(7).shuffle(shuffled)
    view: dict[str, Assignment] = {}
    for start in range(0, len(shuffled), 4):
        conn = sqlite3.connect(db)  # nothing survives between batches but the file
        with conn:
            for row in Threader(SqliteIndex(conn)).add_completions(shuffled[start : start + 4]):
                view[row.id] = row
        conn.close()
    assert view == expected
    check(corpus, view)
    conn = sqlite3.connect(db)
    stored = {
        r[0]: Assignment(*r)
        for r in conn.execute(
            "SELECT id, thread, parent, parent_choice, turn, branch, continues FROM thread_nodes"
        )
    }
    conn.close()
    assert stored == expected
