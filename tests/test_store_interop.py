"""Other tools read a synced database: sqlite-utils (Python API and CLI) finds and searches the FTS
index, the views read as the list does, and the Datasette metadata names what really exists."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import run_in_thread
from ccbrowser.store import open_db, reader

NOW = 1_767_225_600
KEY = "sk-interop-test-0123456789abcdef"
WORDS = ("refund", "weather", "deploy")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = KEY
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database filled by `ccbrowser sync` from the emulator over loopback HTTP."""
    db = tmp_path_factory.mktemp("interop") / "mirror.db"
    with run_in_thread(EmulatorOptions(count=250, seed=21, now=NOW, api_key=KEY)) as emu:
        done = _run("-m", "ccbrowser", "sync", "--db", str(db), "--base-url", emu.base_url)
    assert done.returncode == 0, done.stderr
    yield db


def _fts_ids(db: Path, word: str) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ?", (word,))}
    finally:
        conn.close()


def test_sqlite_utils_detects_and_searches_the_index(synced: Path) -> None:
    db = sqlite_utils.Database(synced)
    bodies = db.table("bodies")
    assert bodies.detect_fts() == "bodies_fts"
    for word in WORDS:
        want = _fts_ids(synced, word)
        assert want, word  # the corpus holds the word
        rows = list(bodies.search(word, columns=["id", "role", "content"]))
        assert {r["id"] for r in rows} == want, word
        assert all(word in (r["content"] or "").lower() for r in rows if r["role"] == "user"), word
    assert list(bodies.search("zyzzyva-never-said", quote=True)) == []


def test_sqlite_utils_cli_search(synced: Path) -> None:
    done = _run("-m", "sqlite_utils", "search", str(synced), "bodies", "refund", "-c", "id", "--csv")
    assert done.returncode == 0, done.stderr
    ids = {int(line) for line in done.stdout.splitlines()[1:] if line.strip()}
    assert ids == _fts_ids(synced, "refund")


def test_views_read_like_the_list(synced: Path) -> None:
    conn = open_db(synced)
    try:
        rows = conn.execute("SELECT id, created, first_user_message FROM completions_view").fetchall()
        assert len(rows) == reader.count(conn) == 250
        created = dict(conn.execute("SELECT id, created FROM completions").fetchall())
        with_user = 0
        for cid, iso, first in rows:
            assert iso == datetime.fromtimestamp(created[cid], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            users = [m for m in reader.input_messages(conn, cid) if m.get("role") == "user"]
            want = users[0]["content"] if users and isinstance(users[0].get("content"), str) else None
            assert first == (want[:300] if want is not None else None), cid
            with_user += first is not None
        assert with_user > 200
        n_messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM messages_view").fetchone()[0] == n_messages
        kinds = dict(conn.execute("SELECT kind, count(*) FROM messages_view GROUP BY kind").fetchall())
        assert set(kinds) == {"input", "output"}
        assert kinds["output"] == conn.execute("SELECT sum(n_choices) FROM completions").fetchone()[0]
    finally:
        conn.close()


def test_datasette_metadata_names_what_exists(synced: Path, tmp_path: Path) -> None:
    out = tmp_path / "metadata.json"
    done = _run("-m", "ccbrowser", "--db", str(synced), "datasette-metadata", "-o", str(out))
    assert done.returncode == 0, done.stderr
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert list(meta["databases"]) == ["mirror"]  # Datasette names a database after the file's stem
    tables = meta["databases"]["mirror"]["tables"]
    db = sqlite_utils.Database(synced)
    for name, conf in tables.items():
        is_view = name in db.view_names()
        assert is_view or db.table(name).exists(), name
        columns = set((db.view(name) if is_view else db.table(name)).columns_dict)
        assert set(conf.get("columns", {})) <= columns, name
        for key in ("label_column", "sort_desc", "fts_pk"):
            if key in conf:
                assert conf[key] in columns, (name, key)
        if "fts_table" in conf:
            assert conf["fts_table"] == db.table("bodies").detect_fts()
    assert {"completions", "bodies", "completions_view", "messages_view"} <= set(tables)
    # stdout when no file is given, and a bad path is one clear line
    assert json.loads(_run("-m", "ccbrowser", "--db", str(synced), "datasette-metadata").stdout) == meta
    bad = _run("-m", "ccbrowser", "datasette-metadata", "-o", str(tmp_path / "no" / "such" / "m.json"))
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr
