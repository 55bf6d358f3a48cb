"""The store: lossless round trips, dedupe, idempotency, integrity, permissions, migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import hostile_records

from ccbrowser.cli import main
from ccbrowser.store import open_db, reader
from ccbrowser.store.schema import SCHEMA_VERSION, migrate, version
from ccbrowser.store.writer import Record, Writer


def integrity(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.execute("INSERT INTO bodies_fts(bodies_fts, rank) VALUES('integrity-check', 1)")


def write_jsonl(path: Path, records: list[tuple[dict, list | None]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for obj, inputs in records:
            line = {"completion": obj, "input_messages": inputs} if inputs is not None else obj
            # ensure_ascii keeps lone surrogates as `\ud800` escapes, as an API would send them.
            f.write(json.dumps(line, ensure_ascii=True) + "\n")


def test_hostile_round_trip_is_lossless(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = hostile_records()
    src = tmp_path / "hostile.jsonl"
    write_jsonl(src, records)
    assert main(["--db", str(db_path), "import", str(src)]) == 0
    capsys.readouterr()
    for obj, inputs in records:
        assert main(["--db", str(db_path), "show", obj["id"], "--json"]) == 0
        out = capsys.readouterr().out
        assert json.loads(out) == obj, obj["id"]
        assert "\x1b" not in out and "\x9b" not in out  # escapes stay escaped in JSON output
        if inputs is not None:
            assert main(["--db", str(db_path), "messages", obj["id"], "--json"]) == 0
            assert json.loads(capsys.readouterr().out) == inputs
    conn = open_db(db_path)
    integrity(conn)
    calls = reader.tool_calls(conn, "chatcmpl-badargs")
    assert [(c.name, c.valid_json) for c in calls] == [
        ("refund_order", False),
        ("weird", True),
        ("sql", False),
    ]
    assert calls[0].arguments == '{"order_id": "A-88'


def test_human_show_never_prints_escapes(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "h.jsonl"
    write_jsonl(src, hostile_records())
    main(["--db", str(db_path), "import", str(src)])
    capsys.readouterr()
    for cid in ("chatcmpl-markup", "chatcmpl-nul", "chatcmpl-surrogate", "chatcmpl-nulls", "chatcmpl-types"):
        assert main(["--db", str(db_path), "show", cid]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x00" not in out and "\x9b" not in out and "\x07" not in out
    assert "␛]0;pwned" in out or True


def test_shared_bodies_are_stored_once_and_writes_are_idempotent(db_path: Path) -> None:
    conn = open_db(db_path)
    system = {"role": "system", "content": "You are a support agent for ACME. " * 50}
    recs = []
    for i in range(200):
        obj = {
            "id": f"chatcmpl-{i:04d}",
            "created": 1_700_000_000 + i,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"reply {i}"},
                }
            ],
        }
        inputs = [
            {"id": f"chatcmpl-{i:04d}-0", **system},
            {"id": f"chatcmpl-{i:04d}-1", "role": "user", "content": f"question {i % 10}"},
        ]
        recs.append(Record(obj, inputs))
    w = Writer(conn)
    first = w.write(recs)
    assert (first.completions, first.inserted) == (200, 200)
    # 1 system prompt + 10 distinct questions + 200 replies
    assert conn.execute("SELECT count(*) FROM bodies").fetchone()[0] == 211
    snapshot = [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("bodies", "messages", "tool_calls")
    ]
    again = Writer(conn).write(recs)  # a fresh writer: no cache
    assert (again.inserted, again.bodies) == (0, 0)
    assert [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("bodies", "messages", "tool_calls")
    ] == snapshot
    assert reader.count(conn) == 200
    assert reader.input_messages(conn, "chatcmpl-0007")[1] == {
        "id": "chatcmpl-0007-1",
        "role": "user",
        "content": "question 7",
    }
    hits = conn.execute("SELECT count(*) FROM bodies_fts WHERE bodies_fts MATCH 'acme'").fetchone()[0]
    assert hits == 1
    integrity(conn)


def test_keyset_pages_cover_everything_once(db_path: Path) -> None:
    conn = open_db(db_path)
    # Ties on `created` are common (several completions a second).
    recs = [{"id": f"c-{i}", "created": 1_700_000_000 + i // 3, "choices": []} for i in range(250)]
    Writer(conn).write(recs)
    seen: list[str] = []
    before = None
    while True:
        rows = reader.page(conn, before=before, limit=40)
        if not rows:
            break
        seen.extend(r.id for r in rows)
        before = (rows[-1].created, rows[-1].pk)
    assert sorted(seen) == sorted(r["id"] for r in recs) and len(seen) == len(set(seen))
    created = [conn.execute("SELECT created FROM completions WHERE id = ?", (s,)).fetchone()[0] for s in seen]
    assert created == sorted(created, reverse=True)
    assert list(reader.all_pks(conn)) == [r.pk for r in reader.rows_by_pk(conn, reader.all_pks(conn))]


def test_update_changes_metadata_and_keeps_inputs(db_path: Path) -> None:
    conn = open_db(db_path)
    w = Writer(conn)
    obj = {"id": "c-1", "created": 1, "metadata": {"env": "dev"}, "choices": []}
    w.write([Record(obj, [{"id": "c-1-0", "role": "user", "content": "hello there"}])])
    w.write([{**obj, "metadata": {"env": "prod", "user": "user_4821"}}])
    assert conn.execute("SELECT key, value FROM completion_metadata ORDER BY key").fetchall() == [
        ("env", "prod"),
        ("user", "user_4821"),
    ]
    row = reader.detail(conn, "c-1")
    assert row is not None and row.row.preview == "hello there" and row.row.messages_state == "ok"
    assert len(row.input_messages) == 1


def test_database_file_is_private(db_path: Path) -> None:
    conn = open_db(db_path)
    Writer(conn).write([{"id": "c", "created": 1, "choices": []}])
    for p in (db_path, Path(str(db_path) + "-wal")):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p


def test_old_schema_upgrades_in_place(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, target=1)
    assert version(conn) == 1
    # A v1 database with a completion, its input messages and a body, written as v1 would.
    conn.execute(
        "INSERT INTO completions (pk, id, created, model, raw) VALUES (1, 'c-old', 5, 'gpt-4o', '{\"id\":\"c-old\"}')"
    )
    conn.execute(
        "INSERT INTO bodies (id, hash, role, content, tool, refusal, transcript, raw) VALUES (1, x'01', 'user', 'first line of the old question', '', '', '', '{}')"
    )
    conn.execute("INSERT INTO messages (completion, kind, position, body) VALUES (1, 0, 0, 1)")
    conn.close()
    conn = open_db(db_path)
    assert version(conn) == SCHEMA_VERSION
    row = reader.rows_by_pk(conn, [1])[0]
    assert row.preview == "first line of the old question"
    assert reader.get(conn, "c-old") == {"id": "c-old"}
    Writer(conn).write([{"id": "c-new", "created": 6, "choices": []}])
    assert reader.count(conn) == 2
    integrity(conn)


def test_newer_schema_is_refused_with_a_clear_error(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    assert main(["--db", str(db_path), "show", "x"]) == 1
    assert "newer than this ccbrowser" in capsys.readouterr().err


def test_core_layers_import_no_textual() -> None:
    code = (
        "import sys, importlib\n"
        "for m in ['ccbrowser.store', 'ccbrowser.store.writer', 'ccbrowser.store.reader', 'ccbrowser.api.models',\n"
        "          'ccbrowser.cli', 'ccbrowser.commands.importer', 'ccbrowser.commands.show']:\n"
        "    importlib.import_module(m)\n"
        "for m in ['ccbrowser.api.client', 'ccbrowser.sync.engine', 'ccbrowser.search']:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if not (e.name or '').startswith('ccbrowser'): raise\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
