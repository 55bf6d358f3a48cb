"""Words glued to terminal escape sequences are found; what is shown and exported is unchanged."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.safe import visible
from ccbrowser.search.text import Matcher
from ccbrowser.store import extract, open_db, reader, schema
from ccbrowser.store.writer import Record, Writer

RED = "\x1b[31mcapybara\x1b[0m and a \x1b]0;title\x07wombat"


def _completion(cid: str, content: str, created: int = 1_780_000_000) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


def _write(conn: sqlite3.Connection) -> None:
    Writer(conn).write(
        [
            Record(
                _completion("c-esc", RED),
                [{"role": "user", "content": "tell me about \x1b[1mquokkas\x1b[22m"}],
            ),
            Record(_completion("c-plain", "a capybara, plainly", created=1_780_000_100)),
        ]
    )


def _check(conn: sqlite3.Connection) -> None:
    pk = {cid: reader.pk_of(conn, cid) for cid in ("c-esc", "c-plain")}
    assert set(search.matching_pks(conn, "capybara")) == {pk["c-esc"], pk["c-plain"]}
    assert search.matching_pks(conn, "wombat") == [pk["c-esc"]]
    assert search.matching_pks(conn, "quokkas") == [pk["c-esc"]]
    assert search.matching_pks(conn, "31mcapybara") == []
    # the stored object is what the API sent, escapes included
    detail = reader.detail(conn, "c-esc")
    assert detail is not None
    assert detail.raw["choices"][0]["message"]["content"] == RED
    assert reader.input_messages(conn, "c-esc") == [
        {"role": "user", "content": "tell me about \x1b[1mquokkas\x1b[22m"}
    ]
    # the snippet marks the word itself
    (hit,) = search.search(conn, "wombat")
    parts = search.split_marked(hit.snippet)
    assert ("wombat", True) in parts and "\x1b" not in hit.snippet
    conn.execute("INSERT INTO bodies_fts(bodies_fts, rank) VALUES('integrity-check', 1)")


def test_words_next_to_escape_sequences_are_found(db_path: Path) -> None:
    conn = open_db(db_path)
    _write(conn)
    _check(conn)


def test_highlights_point_at_the_word_in_raw_and_visible_text() -> None:
    matcher = Matcher(["capybara", "wombat"])
    for text in (RED, visible(RED)):
        assert [text[a:b] for a, b in matcher.spans(text)] == ["capybara", "wombat"]
    assert Matcher(["capybara"]).spans("x capybara y") == [(2, 10)]


def test_a_database_indexed_with_escapes_is_reindexed_by_the_migration(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema.MIGRATIONS.index(schema._index_text_without_sequences)
    conn = open_db(db_path, migrate_schema=False)
    schema.migrate(conn, target=before)
    with monkeypatch.context() as m:
        m.setattr(extract, "index_text", lambda text: text)  # the rule before this migration
        _write(conn)
    assert search.matching_pks(conn, "capybara") == [reader.pk_of(conn, "c-plain")]
    shown = json.dumps(reader.get(conn, "c-esc"), sort_keys=True)
    conn.close()

    conn = open_db(db_path)
    assert schema.version(conn) == schema.SCHEMA_VERSION
    _check(conn)
    assert json.dumps(reader.get(conn, "c-esc"), sort_keys=True) == shown
    # a message stored before the migration is still recognised (same hash, no second body)
    bodies = conn.execute("SELECT count(*) FROM bodies").fetchone()[0]
    _write(conn)
    assert conn.execute("SELECT count(*) FROM bodies").fetchone()[0] == bodies


def test_show_json_round_trips_escapes(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = open_db(db_path)
    _write(conn)
    conn.close()
    assert main(["show", "--db", str(db_path), "c-esc", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["choices"][0]["message"]["content"] == RED
