"""Labels on a whole conversation: `ccbrowser label --thread ID ...` writes the label on every
completion of the thread that holds ID (the model the TUI's conversation list uses too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.emulator.corpus.chats import chats
from ccbrowser.store import labels, open_db

SEED = 4


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("label-threads") / "chats.db", 20, seed=SEED, chats=True)


@pytest.fixture
def db(source: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "chats.db"
    dest.write_bytes(source.read_bytes())
    return dest


def _chat(name: str) -> list[str]:
    return [c.id for c in chats(FROZEN_NOW, SEED) if c.chat == name]


def _ids(db: Path, query: str) -> list[str]:
    conn = open_db(db)
    try:
        return labels.ids_of(conn, search.matching_pks(conn, query, sort="oldest"))
    finally:
        conn.close()


def _label(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["label", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_thread_labels_every_completion_of_the_conversation(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trip, names = _chat("trip"), _chat("names")
    n = len(trip)
    assert n > 2
    middle = trip[n // 2]  # any completion names its conversation, not only the root
    rc, out, err = _label(db, capsys, middle[:20], "--thread", "--star", "--tag", "trip", "--note", "keep")
    assert rc == 0, err
    assert out == f"{n} completions: starred {n}; tag trip added to {n}; note set on {n}\n"
    assert sorted(_ids(db, "is:starred")) == sorted(trip)
    assert sorted(_ids(db, "tag:trip has:note")) == sorted(trip)
    # a completion starred alone, then its thread: only the others are counted as changed
    rc, out, _ = _label(db, capsys, names[0], "--star")
    rc, out, _ = _label(db, capsys, names[-1], "--thread", "--star")
    assert rc == 0 and out == f"{len(names)} completions: starred {len(names) - 1} (1 already starred)\n"
    # without a change it lists every completion of the thread with its labels
    rc, out, _ = _label(db, capsys, trip[0], "--thread")
    lines = out.splitlines()
    assert len(lines) == n and lines[0].startswith(trip[0])
    assert all("starred  tags: trip  note: keep" in line for line in lines)
    # --query with --thread: every conversation that has a match
    rc, out, _ = _label(db, capsys, "--query", f"id:{trip[0]}", "--thread", "--untag", "trip")
    assert rc == 0 and out == f"{n} completions: tag trip removed from {n}\n"
    assert _ids(db, "tag:trip") == []


def test_a_completion_outside_any_thread_table_is_its_own_conversation(tmp_path: Path) -> None:
    conn = open_db(build(tmp_path / "one.db", 3, seed=1))
    try:
        cid = conn.execute("SELECT id FROM completions LIMIT 1").fetchone()[0]
        assert labels.thread_members(conn, cid)[0] == cid
        assert labels.thread_members(conn, "chatcmpl-not-stored") == ["chatcmpl-not-stored"]
    finally:
        conn.close()
