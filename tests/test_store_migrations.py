"""Schema migrations beyond v1 -> v2 (see test_store.py): v2 -> v3 -> v4 in place, foreign files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from ccbrowser import search
from ccbrowser.emulator.corpus import Corpus
from ccbrowser.errors import CCBrowserError
from ccbrowser.store import open_db, reader, schema
from ccbrowser.store.schema import SCHEMA_VERSION, migrate, version
from ccbrowser.store.writer import Record, Writer

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


TABLES = ("completions", "bodies", "messages", "tool_calls", "completion_metadata", "rejects", "sync_state")
WORDS = ("refund", "weather", "deploy", "order", "the")
QUERIES = ("refund", "tool:refund_order", "weather Paris", "東京", "has:tools the", "in:output order")


# Message ids as they read (an id stored as "derived" is `<completion id>-<position>`).
_MESSAGES = (
    "SELECT completion, kind, position, body, CASE WHEN typeof(msg_id) = 'blob' "
    "THEN (SELECT id FROM completions WHERE pk = completion) || '-' || position ELSE msg_id END FROM messages"
)


def _rows(
    conn: sqlite3.Connection, columns: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (message ids as they read); with ``columns``, only those (a later
    migration adds others)."""
    out = {}
    for t in TABLES:
        cols = ", ".join(columns[t]) if columns else "*"
        sql = _MESSAGES if t == "messages" else f"SELECT {cols} FROM {t}"
        out[t] = sorted(conn.execute(sql).fetchall(), key=repr)
    return out


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in TABLES}


def _fts_hits(conn: sqlite3.Connection) -> dict[str, list[int]]:
    sql = "SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ? ORDER BY rowid"
    return {w: [r[0] for r in conn.execute(sql, (w,))] for w in WORDS}


def _searches(conn: sqlite3.Connection) -> dict[str, tuple[int, list[int]]]:
    now = 1_790_000_000
    return {
        q: (search.count(conn, search.parse(q, now=now)), search.matching_pks(conn, search.parse(q, now=now)))
        for q in QUERIES
    }


def test_v3_database_upgrades_keeping_every_row_and_fts_hit(db_path: Path) -> None:
    """A v3 database written by the v3 code (FTS declared `content='bodies'`) becomes v4: the index is
    re-declared where Datasette and sqlite-utils find it, rebuilt, and nothing is lost."""
    conn = open_db(db_path, migrate_schema=False)
    migrate(conn, target=3)
    corpus = Corpus(300, seed=11, now=1_790_000_000)
    Writer(conn, profile="default").write(
        [Record(*corpus.pair(i)) for i in range(300)] + [Record(["not", "an", "object"])]
    )
    conn.execute("INSERT INTO sync_state (profile, state, updated) VALUES ('default', '{\"a\": 1}', 5.0)")
    assert version(conn) == 3
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'bodies_fts'").fetchone()[0]
    assert "content='bodies'" in ddl
    assert sqlite_utils.Database(conn).table("bodies").detect_fts() is None  # what v4 fixes
    rows, hits, found, columns = _rows(conn), _fts_hits(conn), _searches(conn), _columns(conn)
    assert all(rows[t] for t in TABLES) and all(hits.values())
    assert sum(n for n, _ in found.values()) > 0
    conn.close()

    conn = open_db(db_path)
    assert version(conn) == SCHEMA_VERSION >= 4
    assert _rows(conn, columns) == rows
    assert _fts_hits(conn) == hits
    assert _searches(conn) == found
    conn.execute("INSERT INTO bodies_fts(bodies_fts, rank) VALUES('integrity-check', 1)")
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db = sqlite_utils.Database(conn)
    assert db.table("bodies").detect_fts() == "bodies_fts"
    assert {r["id"] for r in db.table("bodies").search("refund")} == set(hits["refund"])
    assert {"completions_view", "messages_view"} <= set(db.view_names())
    assert db.execute("SELECT count(*) FROM completions_view").fetchone()[0] == len(rows["completions"])
    assert db.execute("SELECT count(*) FROM messages_view").fetchone()[0] == len(rows["messages"])
    # the triggers survived the rebuild: a body written after the upgrade is found
    Writer(conn).write(
        [
            {
                "id": "c-after",
                "created": 7,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "zyzzyva"}}],
            }
        ]
    )
    assert search.matching_pks(conn, "zyzzyva") == [reader_pk(conn, "c-after")]
    conn.close()


def reader_pk(conn: sqlite3.Connection, cid: str) -> int:
    return int(conn.execute("SELECT pk FROM completions WHERE id = ?", (cid,)).fetchone()[0])


def test_a_database_of_another_program_is_refused_untouched(db_path: Path) -> None:
    other = sqlite3.connect(db_path)
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    other.execute("INSERT INTO notes (text) VALUES ('mine')")
    other.commit()
    other.close()
    with pytest.raises(CCBrowserError, match=r"not a ccbrowser database.*\(notes\)"):
        open_db(db_path)
    conn = sqlite3.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    assert version(conn) == 0
    conn.close()


def test_a_schema_made_by_another_process_meanwhile_is_not_foreign(db_path: Path) -> None:
    """The demo starts a sync and the TUI on a new file at once. Here the other process creates the
    whole schema right after this connection read version 0 (its next statement runs it): the
    tables it then finds are ours, not another program's."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    statements: list[str] = []

    def other_process_migrates_now(sql: str) -> None:
        statements.append(sql)
        if len(statements) == 2:
            conn.set_trace_callback(None)
            open_db(db_path).close()

    assert version(conn) == 0
    conn.set_trace_callback(other_process_migrates_now)
    migrate(conn)
    assert statements[0] == "PRAGMA user_version"
    assert version(conn) == SCHEMA_VERSION
    conn.close()


def test_message_ids_the_api_numbers_are_stored_as_derived_and_read_back_whole(db_path: Path) -> None:
    """A database of the version before it stores every input message id as text; the migration
    keeps only the ids that are not `<completion id>-<position>` and every id reads back the same."""
    before = schema.MIGRATIONS.index(schema._derived_message_ids)
    conn = open_db(db_path, migrate_schema=False)
    migrate(conn, target=before)
    corpus = Corpus(200, seed=4, now=1_790_000_000)
    pairs = [corpus.pair(i) for i in range(200)]
    pairs[0][1][0]["id"] = "msg_custom_77"  # an id of another shape stays as it is
    pairs[1][1][0].pop("id", None)  # and a message without one has none
    Writer(conn, profile="default").write([Record(c, m) for c, m in pairs])
    # What the previous version wrote: every id as text.
    conn.execute(
        "UPDATE messages SET msg_id = (SELECT id FROM completions WHERE pk = completion) || '-' || position "
        "WHERE typeof(msg_id) = 'blob'"
    )
    ids = [c["id"] for c, _ in pairs]
    inputs = {cid: reader.input_messages(conn, cid) for cid in ids}
    assert inputs[ids[0]][0]["id"] == "msg_custom_77" and "id" not in inputs[ids[1]][0]
    view = sorted(
        conn.execute("SELECT completion_id, kind, position, msg_id FROM messages_view").fetchall(), key=repr
    )
    text_bytes = conn.execute("SELECT sum(length(msg_id)) FROM messages").fetchone()[0]
    conn.close()

    conn = open_db(db_path)
    assert version(conn) == SCHEMA_VERSION
    assert {cid: reader.input_messages(conn, cid) for cid in ids} == inputs
    assert {cid: msgs for cid, msgs in zip(ids, [m for _, m in pairs], strict=True)} == inputs
    by_pk = reader.inputs_by_pk(conn, [reader_pk(conn, cid) for cid in ids])
    assert [by_pk.get(reader_pk(conn, cid), []) for cid in ids] == [inputs[cid] for cid in ids]
    assert (
        sorted(
            conn.execute("SELECT completion_id, kind, position, msg_id FROM messages_view").fetchall(),
            key=repr,
        )
        == view
    )
    kept = conn.execute("SELECT msg_id FROM messages WHERE typeof(msg_id) = 'text'").fetchall()
    assert kept == [("msg_custom_77",)]
    assert (
        conn.execute("SELECT sum(length(msg_id)) FROM messages WHERE typeof(msg_id) = 'text'").fetchone()[0]
        < text_bytes / 100
    )
    # new writes store the derived form directly and read back whole
    extra = Corpus(201, seed=4, now=1_790_000_000).pair(200)
    Writer(conn, profile="default").write([Record(*extra)])
    assert reader.input_messages(conn, extra[0]["id"]) == extra[1]
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
