"""Opening the database: file mode 0600, WAL, pragmas, migrations.

Each thread opens its own connection (sqlite3 connections are not shared across threads here).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ccbrowser.errors import CCBrowserError
from ccbrowser.store.schema import migrate

BUSY_TIMEOUT_MS = 10_000


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does: it holds prompts and replies.

    SQLite gives the -wal and -shm files the database's own permissions. Only the default
    location's folder is created; a mistyped `--db` folder is an error, not a new directory.
    """
    from ccbrowser.paths import default_db_path

    try:
        if not path.parent.is_dir():
            if path.parent.exists():
                raise CCBrowserError(f"cannot create database {path}: {path.parent} is not a directory")
            if path.resolve() != default_db_path().resolve():
                raise CCBrowserError(f"cannot create database {path}: no directory {path.parent}")
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise CCBrowserError(f"cannot create database {path}: {exc.strerror or exc}") from None


def open_db(
    path: str | os.PathLike[str], *, readonly: bool = False, migrate_schema: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit: `BEGIN IMMEDIATE`)."""
    p = Path(path)
    if readonly:
        if not p.exists():
            raise CCBrowserError(f"no database at {p}: run `ccbrowser sync` or `ccbrowser import` first")
        uri = f"{p.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        if p.is_dir():
            raise CCBrowserError(f"{p} is a directory, not a database file")
        if not p.exists():
            _create_private(p)
        elif p.stat().st_size == 0:
            os.chmod(p, 0o600)  # an empty file someone made: it is about to hold prompts
        try:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            raise CCBrowserError(f"cannot open database {p}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA recursive_triggers = ON")
            # The bodies' hash index takes random inserts: a bigger page cache keeps big imports fast.
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA temp_store = MEMORY")
            if migrate_schema:
                migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CCBrowserError(f"{p} is not a usable ccbrowser database: {exc}") from None
    return conn


def open_existing(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """For commands that only read: a missing database is an error, not a new empty file."""
    p = Path(path)
    if not p.exists():
        raise CCBrowserError(f"no database at {p}: run `ccbrowser sync` or `ccbrowser import FILE` first")
    return open_db(p)
