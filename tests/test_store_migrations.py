"""Schema migrations beyond v1 -> v2 (see test_store.py): a v2 database upgrades to v3 in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ccbrowser import search
from ccbrowser.store import open_db, reader
from ccbrowser.store.schema import SCHEMA_VERSION, migrate, version
from ccbrowser.store.writer import Writer

FLAGS = ("has_tools", "has_refusal", "has_audio", "has_annotations", "has_logprobs", "has_images")


def _indexes(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_v2_database_upgrades_to_v3(db_path: Path) -> None:
    assert SCHEMA_VERSION >= 3
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, target=2)
    assert version(conn) == 2
    assert not any(f"completions_{f}" in _indexes(conn) for f in FLAGS)
    conn.execute(
        "INSERT INTO completions (pk, id, created, model, has_refusal, raw) VALUES (1, 'c-refused', 5, 'gpt-4o', 1, '{\"id\":\"c-refused\"}')"
    )
    conn.execute(
        "INSERT INTO completions (pk, id, created, model, raw) VALUES (2, 'c-plain', 6, 'gpt-4o', '{\"id\":\"c-plain\"}')"
    )
    conn.close()

    conn = open_db(db_path)
    assert version(conn) == SCHEMA_VERSION
    assert {f"completions_{f}" for f in FLAGS} <= _indexes(conn)
    sql = "SELECT c.pk FROM completions c WHERE c.has_refusal = 1 ORDER BY c.created DESC, c.pk DESC"
    assert "completions_has_refusal" in " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
    assert search.matching_pks(conn, "has:refusal") == [1]
    assert search.count(conn, "has:refusal") == 1
    # rows written after the upgrade land in the partial indexes too
    Writer(conn).write(
        [
            {
                "id": "c-new",
                "created": 7,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": None, "refusal": "No."},
                        "finish_reason": "stop",
                    }
                ],
            }
        ]
    )
    assert search.count(conn, "has:refusal") == 2
    assert reader.count(conn) == 3
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    assert open_db(db_path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # idempotent
