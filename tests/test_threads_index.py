"""The store's `Index` (`store.threads.SqliteIndex`) over its own tables: a fresh index and
`Threader` per batch, so every bit of state lives in the database file, and the results must
equal the in-memory index's."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from test_threads import check, full_corpus, run

from ccbrowser.store import threads
from ccbrowser.threads import Assignment, Threader, keys_of


def test_sqlite_index_gives_the_memory_index_results(tmp_path: Path) -> None:
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    db = tmp_path / "threads.db"
    setup = sqlite3.connect(db)
    setup.executescript(threads.DDL)
    setup.close()
    shuffled = list(corpus.calls)
    random.Random(7).shuffle(shuffled)
    view: dict[str, Assignment] = {}
    for start in range(0, len(shuffled), 4):
        conn = sqlite3.connect(db)  # nothing survives between batches but the file
        with conn:
            index = threads.SqliteIndex(conn)
            batch = [keys_of(c) for c in shuffled[start : start + 4]]
            index.prefetch(batch)
            for row in Threader(index).add(batch):
                view[row.id] = row
            index.flush()
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
