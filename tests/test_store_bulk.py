"""The end of a bulk write (sync, import, migration) leaves no large -wal behind for readers to map."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sync import KEY, NOW, settings_for, sync

from ccbrowser.cli import main
from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.corpus import Corpus
from ccbrowser.emulator.server import RunningEmulator, run_in_thread
from ccbrowser.store import db
from ccbrowser.store.db import WAL_SIZE_LIMIT, end_bulk_write, open_db
from ccbrowser.store.schema import SCHEMA_VERSION, migrate, version
from ccbrowser.store.writer import Record, Writer


def wal_size(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with run_in_thread(EmulatorOptions(count=400, seed=9, now=NOW, api_key=KEY)) as emu:
        yield emu


def test_first_sync_ends_with_an_empty_wal_while_a_reader_stays_open(
    emulator: RunningEmulator, db_path: Path
) -> None:
    open_db(db_path).close()
    reader = open_db(db_path, migrate_schema=False)  # a browser's idle connection, as the TUI holds
    try:
        summary = sync(db_path, settings_for(emulator))
        assert summary.progress.new == 400
        assert wal_size(db_path) == 0
        assert reader.execute("SELECT count(*) FROM completions").fetchone()[0] == 400
    finally:
        reader.close()


def test_import_ends_with_an_empty_wal(tmp_path: Path, db_path: Path) -> None:
    corpus = Corpus(600, seed=3, now=NOW)
    src = tmp_path / "dump.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for i in range(600):
            completion, inputs = corpus.pair(i)
            f.write(json.dumps({"completion": completion, "input_messages": inputs}) + "\n")
    assert main(["--db", str(db_path), "import", str(src)]) == 0
    assert wal_size(db_path) == 0
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM completions").fetchone()[0] == 600
    conn.close()


def test_a_migration_ends_with_an_empty_wal(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn, target=SCHEMA_VERSION - 1)
    conn.close()
    conn = open_db(db_path)
    assert version(conn) == SCHEMA_VERSION
    assert wal_size(db_path) == 0
    conn.close()


def test_checkpoint_waits_for_no_open_read_transaction_forever(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader in the middle of a transaction keeps the -wal: the call says so and returns."""
    monkeypatch.setattr(db, "CHECKPOINT_WAIT_MS", 50)
    conn = open_db(db_path)
    Writer(conn).write([Record(Corpus(50, seed=1, now=NOW).completion(i)) for i in range(50)])
    assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_SIZE_LIMIT
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM completions").fetchone()
    Writer(conn).write([Record(Corpus(60, seed=1, now=NOW).completion(55))])
    assert end_bulk_write(conn) is False
    reader.execute("COMMIT")
    assert end_bulk_write(conn) is True and wal_size(db_path) == 0
    reader.close()
    conn.close()
