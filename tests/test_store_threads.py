"""Threads kept by the store: the write path (pages, late input messages, any order), the migration's
backfill, the per-thread summary, and a real sync of the emulator's scripted chats over loopback."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_sync import KEY, NOW, settings_for, sync
from test_threads import Corpus, check, full_corpus, run

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.corpus.chats import Call, chats
from ccbrowser.emulator.server import run_in_thread
from ccbrowser.store import open_db, schema
from ccbrowser.store.reader import body_json
from ccbrowser.store.threads import Encodings
from ccbrowser.store.writer import Record, Writer
from ccbrowser.threads import Assignment, Completion, Options
from ccbrowser.threads.canon import SystemMode, encoding
from ccbrowser.threads.keys import output_encodings


def api_object(c: Completion) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "chat.completion",
        "created": c.created,
        "model": "gpt-4o-mini",
        "metadata": dict(c.metadata),
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        "choices": [
            {"index": j, "message": m, "finish_reason": "stop", "logprobs": None}
            for j, m in enumerate(c.outputs)
        ],
    }


def stored(conn: sqlite3.Connection) -> dict[str, Assignment]:
    sql = "SELECT id, thread, parent, parent_choice, turn, branch, continues FROM thread_nodes"
    return {r[0]: Assignment(*r) for r in conn.execute(sql)}


def summaries(conn: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
    sql = "SELECT thread, root, completions, turns, total_tokens FROM threads"
    return {r[0]: r[1:] for r in conn.execute(sql)}


def expected_summaries(got: dict[str, Assignment], created: dict[str, int]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for thread in {a.thread for a in got.values()}:
        members = [a for a in got.values() if a.thread == thread]
        root = min((created[a.id], a.id) for a in members if a.parent is None)[1]
        out[thread] = (root, len(members), max(a.turn for a in members) + 1, 15 * len(members))
    return out


@pytest.mark.parametrize("batch", [1, 4, 1000])
def test_writer_threads_every_page_in_any_order(db_path: Path, batch: int) -> None:
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    calls = list(corpus.calls)
    random.Random(batch).shuffle(calls)
    conn = open_db(db_path)
    for start in range(0, len(calls), batch):
        # a fresh writer per page: nothing but the database carries over
        Writer(conn).write(
            [Record(api_object(c), list(c.inputs or [])) for c in calls[start : start + batch]]
        )
    got = stored(conn)
    assert got == expected
    check(corpus, got)
    assert summaries(conn) == expected_summaries(got, {c.id: c.created for c in calls})
    conn.close()


def test_input_messages_arriving_later_relink_children_first(db_path: Path) -> None:
    """A sync lists completions first and fetches their input messages later, in any order: until
    its messages are in, a completion is a thread of its own; then it links, and so do the
    children written before their parent."""
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    conn = open_db(db_path)
    writer = Writer(conn, profile="default")
    for start in range(0, len(corpus.calls), 10):
        writer.write_page([api_object(c) for c in corpus.calls[start : start + 10]], None)
    alone = stored(conn)
    assert all(a.parent is None for a in alone.values())
    assert all(a.thread in (a.id, corpus.thread_of(a.id)) for a in alone.values())  # explicit ids group
    late = list(reversed(corpus.calls))
    half = len(late) // 2
    writer.write_inputs({c.id: list(c.inputs or []) for c in late[:half]})
    partly = stored(conn)
    assert partly != expected
    writer.write_inputs({c.id: list(c.inputs or []) for c in late[half:]})
    got = stored(conn)
    assert got == expected
    check(corpus, got)
    # written again unchanged: nothing moves
    Writer(conn).write([Record(api_object(c), list(c.inputs or [])) for c in corpus.calls[:5]])
    assert stored(conn) == expected
    conn.close()


def _threads_migration() -> int:
    """The position of the migration that creates `thread_nodes`."""
    for n, step in enumerate(schema.MIGRATIONS):
        probe = sqlite3.connect(":memory:")
        schema.migrate(probe, target=n)
        step(probe)
        made = probe.execute("SELECT 1 FROM sqlite_master WHERE name = 'thread_nodes'").fetchone()
        probe.close()
        if made:
            return n
    raise AssertionError("no migration creates thread_nodes")


def test_migration_backfills_a_database_of_the_previous_version(db_path: Path) -> None:
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    before = _threads_migration()
    conn = open_db(db_path, migrate_schema=False)
    schema.migrate(conn, target=before)
    Writer(conn).write([Record(api_object(c), list(c.inputs or [])) for c in corpus.calls])
    rows = conn.execute("SELECT * FROM completions ORDER BY pk").fetchall()
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'thread%'").fetchone()[0] == 0
    conn.close()

    conn = open_db(db_path)
    assert schema.version(conn) == schema.SCHEMA_VERSION
    got = stored(conn)
    assert got == expected
    check(corpus, got)
    assert summaries(conn) == expected_summaries(got, {c.id: c.created for c in corpus.calls})
    assert conn.execute("SELECT * FROM completions ORDER BY pk").fetchall() == rows
    # and the write path carries on from the backfilled tables
    extra = Corpus()
    extra.clock = corpus.clock + 1000
    chat = extra.chat("Be brief.")
    chat.say("a new chat after the upgrade")
    chat.say("its second turn")
    late = [replace(c, id=f"late-{c.id}") for c in extra.calls]
    Writer(conn).write([Record(api_object(c), list(c.inputs or [])) for c in late])
    after = stored(conn)
    assert after[late[1].id].parent == late[0].id
    assert {k: v for k, v in after.items() if k in expected} == expected
    conn.close()


def test_a_rolled_back_page_leaves_no_thread_rows(db_path: Path) -> None:
    corpus = full_corpus()
    conn = open_db(db_path)
    writer = Writer(conn)
    writer.write([Record(api_object(c), list(c.inputs or [])) for c in corpus.calls[:3]])
    before = stored(conn)
    conn.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON thread_keys BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        writer.write([Record(api_object(c), list(c.inputs or [])) for c in corpus.calls[3:6]])
    assert stored(conn) == before
    assert conn.execute("SELECT count(*) FROM completions").fetchone()[0] == 3
    conn.execute("DROP TRIGGER fail")
    writer.write([Record(api_object(c), list(c.inputs or [])) for c in corpus.calls[3:]])
    expected, _ = run(corpus.calls)
    assert stored(conn) == expected
    conn.close()


# -- the emulator's scripted chats, synced over loopback ------------------------------------------


def truth(calls: list[Call]) -> dict[str, Assignment]:
    """Thread and turn derived from the recorded parents; branches by (choice, created, id)."""
    by_id = {c.id: c for c in calls}

    def thread(c: Call) -> str:
        return thread(by_id[c.parent]) if c.parent else c.id

    def turn(c: Call) -> int:
        return 0 if c.parent is None else turn(by_id[c.parent]) + (0 if c.tool_step else 1)

    families: dict[str, list[Call]] = {}
    for c in calls:
        families.setdefault(c.parent or f"root:{c.id}", []).append(c)
    branch = {}
    for members in families.values():
        members.sort(key=lambda c: (c.choice or 0, c.completion["created"], c.id))
        branch.update({c.id: n for n, c in enumerate(members)})
    return {
        c.id: Assignment(c.id, thread(c), c.parent, c.choice, turn(c), branch[c.id], c.continues)
        for c in calls
    }


def test_scripted_chats_cover_every_pitfall() -> None:
    calls = chats(NOW)
    assert chats(NOW) == calls  # deterministic
    want = truth(calls)
    parents = [a.parent for a in want.values() if a.parent]
    assert max(parents.count(p) for p in parents) == 3  # a regeneration and an edit: three branches
    assert any(c.tool_step for c in calls) and any(a.continues for a in want.values())
    assert any(len(c.completion["choices"]) == 3 and c.id in parents for c in calls)
    assert any(a.parent_choice == 2 for a in want.values())
    dated = [c.messages[0]["content"] for c in calls if c.chat == "trip"]
    assert len(set(dated)) == len(dated)  # the system prompt changes every call
    openers = [c for c in calls if c.chat.startswith("hello-") and c.parent is None]
    assert len(openers) == 2 and openers[0].messages == openers[1].messages


def test_a_sync_of_the_scripted_chats_threads_them_exactly(db_path: Path) -> None:
    with run_in_thread(EmulatorOptions(count=120, seed=3, now=NOW, api_key=KEY, chats=True)) as emu:
        sync(db_path, settings_for(emu))
    calls = chats(NOW, 3)
    want = truth(calls)
    conn = open_db(db_path)
    got = stored(conn)
    conn.close()
    assert {cid: got[cid] for cid in want} == want
    chat_threads = {a.thread for a in want.values()}
    # the generated completions are threads of their own: nothing merged into the chats
    assert all(a.thread not in chat_threads for cid, a in got.items() if cid not in want)
    assert len(chat_threads) == 8  # six chats, one of them cut in two, and the two "Hello" openers


@pytest.mark.parametrize("mode", list(SystemMode))
def test_stored_body_encodings_equal_the_canonical_encoding(db_path: Path, mode: SystemMode) -> None:
    """The backfill's text path (decided once per shared body JSON) gives the bytes
    `canon.encoding` gives for the message rebuilt from its row, for every kind of body."""
    inputs: list[Any] = [
        {"role": "system", "content": "Today is Tuesday 2 December 2026, cwd /home/ann/x"},
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "user", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "parts"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": None, "tool_calls": [_call("c1", '{"b": 1, "a": 2}')]},
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {"role": "assistant", "content": "done", "refusal": None},
        {"role": "function", "content": "x", "name": "f"},
        {"role": "user", "content": "x" * 300},
    ]
    outputs: list[Any] = [
        {"role": "assistant", "content": "answer", "refusal": None, "annotations": []},
        {"role": "assistant", "content": None, "refusal": None, "tool_calls": [_call("c2", "not json")]},
        {"role": "assistant", "content": "", "refusal": "no"},
    ]
    c = Completion("enc-1", NOW, inputs, outputs)
    conn = open_db(db_path)
    Writer(conn).write([Record(api_object(c), inputs)])
    rows = conn.execute(
        "SELECT DISTINCT m.body, m.kind, b.raw, b.content_split, b.content FROM messages m "
        "JOIN bodies b ON b.id = m.body"
    ).fetchall()
    assert len(rows) == len(inputs) + len(outputs)
    got = Encodings(Options(system=mode)).get(conn, [(body, kind) for body, kind, *_ in rows])
    for body, kind, raw, split, content in rows:
        msg = body_json(raw, split, content)
        want = encoding(msg, mode) if kind == 0 else output_encodings([msg], mode)[0]
        assert got[(body, kind)] == want, msg
    conn.close()


def _call(call_id: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": arguments}}
