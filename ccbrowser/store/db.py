"""Opening the database: file mode 0600, WAL, pragmas, migrations; naming what is wrong with it.

Each thread opens its own connection (sqlite3 connections are not shared across threads here).
A damaged file or a read-only location is reported as such (:func:`database_error`), whatever
statement found it: SQLite only notices damage when it reads the damaged page.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import sqlite3
import threading
from pathlib import Path

from ccbrowser.errors import CCBrowserError, DamagedDatabase, DatabaseError, DiskFull, ReadOnlyDatabase
from ccbrowser.store.schema import SCHEMA_VERSION, migrate, version

BUSY_TIMEOUT_MS = 10_000
# A completion's row (its raw JSON) is 1-3 KB and most bodies a few hundred bytes: on 4 KB pages
# a leaf holds one or two rows and a good part of each page stays empty. 16 KB pages pack them
# (about 2.5% smaller at 5k completions) and take fewer page writes per commit.
NEW_PAGE_SIZE = 16_384
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# How long the checkpoint after a bulk write waits for readers before leaving it to the next one.
CHECKPOINT_WAIT_MS = 2_000

# Primary result codes (an extended code's low byte): sqlite3 exposes them on every error.
_CORRUPT, _NOTADB, _READONLY, _CANTOPEN, _FULL = 11, 26, 8, 14, 13


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


# Python's sqlite3 reading a TEXT value that is not UTF-8: ccbrowser only ever stores UTF-8, so
# that is a damaged page (its message quotes the bytes, which must not be echoed: they are data).
_NOT_UTF8 = "Could not decode to UTF-8"


def is_damage(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and (
        _code(exc) in (_CORRUPT, _NOTADB) or "malformed" in str(exc) or _NOT_UTF8 in str(exc)
    )


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def read_only_error(path: Path) -> ReadOnlyDatabase:
    where = path.resolve().parent
    if path.exists() and not _writable(path):
        why = "the file is read-only"
    elif not _writable(where):
        why = f"its directory {where} is read-only (SQLite writes its -wal and -shm files there)"
    else:
        why = "SQLite cannot write it"
    return ReadOnlyDatabase(
        f"{path} is read-only: {why}; ccbrowser needs to write the file and its directory"
    )


def disk_full(path: Path) -> DiskFull:
    return DiskFull(f"disk full: cannot write {path} (free some space, then run the command again)")


def database_error(exc: sqlite3.Error, path: str | os.PathLike[str]) -> DatabaseError:
    """What a user can do about an SQLite error, in one line (without the SQL or any data)."""
    p = Path(path)
    code = _code(exc)
    if is_damage(exc):
        if code == _NOTADB:
            return DamagedDatabase(f"{p} is not a SQLite database, or its header is damaged ({exc})")
        q = shlex.quote(str(p))
        what = "a text value is not UTF-8" if _NOT_UTF8 in str(exc) else str(exc)
        return DamagedDatabase(
            f"{p} is damaged ({what}); a copy of it can be repaired with `sqlite3 {q} .recover | sqlite3 repaired.db`"
        )
    if code == _READONLY or (code == _CANTOPEN and p.exists()):
        return read_only_error(p)
    if code == _FULL:
        return disk_full(p)
    return DatabaseError(f"database error in {p}: {exc}")


def check_integrity(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """`PRAGMA quick_check`: every page read once, so damage is found before a write lands next to it.

    It costs a full read of the file (about 0.3 s for 100,000 completions here, see the README's
    numbers), so only the commands that write run it, once, before writing.
    """
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise database_error(exc, path) from None
    if rows and rows[0][0] != "ok":
        detail = " ".join(str(rows[0][0]).replace("*** in database main ***", "").split())[:160]
        raise DamagedDatabase(
            f"{path} is damaged (integrity check: {detail}); a copy of it can be repaired "
            f"with `sqlite3 {shlex.quote(str(path))} .recover | sqlite3 repaired.db`"
        )


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
        if exc.errno == errno.ENOSPC:
            raise disk_full(path) from None
        raise CCBrowserError(f"cannot create database {path}: {exc.strerror or exc}") from None


def _remove_new(paths: list[Path]) -> None:
    """Files this call created for a database it could not set up: no 0-byte file stays behind
    to be taken for a damaged database next time."""
    for q in paths:
        with contextlib.suppress(OSError):
            q.unlink()


class ReadOnlyConnection(sqlite3.Connection):
    """A connection opened read-only (`open_read_only`): nothing is migrated or repriced on it."""


def is_read_only(conn: sqlite3.Connection) -> bool:
    return isinstance(conn, ReadOnlyConnection)


def writable_location(path: Path) -> bool:
    """Whether SQLite can write the file and beside it (its -wal and -shm files)."""
    return _writable(path) and _writable(path.resolve().parent)


def open_read_only(path: Path) -> ReadOnlyConnection:
    """A read-only file, or one in a read-only directory: readable, never migrated.

    `mode=ro` first (it sees a -wal that another process writes); where SQLite cannot create the
    -shm file beside it, `immutable=1`, which is exact only when no -wal holds pages, so only then.
    A schema older than this ccbrowser's would need a write: one line says so.
    """
    base = path.resolve().as_uri()
    wal = Path(f"{path}-wal")
    modes = ["mode=ro"]
    if not (wal.exists() and wal.stat().st_size > 0):
        modes.append("immutable=1")
    failure: sqlite3.Error | None = None
    for mode in modes:
        conn = sqlite3.connect(
            f"{base}?{mode}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            factory=ReadOnlyConnection,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            current = version(conn)  # the first read: where a missing -shm fails
        except sqlite3.Error as exc:
            conn.close()
            failure = exc
            continue
        if current == SCHEMA_VERSION:
            return conn
        conn.close()
        if current > SCHEMA_VERSION:
            raise CCBrowserError(
                f"the database has schema version {current}, newer than this ccbrowser ({SCHEMA_VERSION}): upgrade ccbrowser"
            )
        raise ReadOnlyDatabase(
            f"{path} is read-only and needs a schema upgrade (version {current} to {SCHEMA_VERSION}): "
            "make it writable for one run, or open a writable copy"
        )
    assert failure is not None
    raise database_error(failure, path) if isinstance(failure, sqlite3.DatabaseError) else failure


def open_reader(path: str | os.PathLike[str], *, migrate_schema: bool = True) -> sqlite3.Connection:
    """For reading: `open_db` where the location is writable, else `open_read_only`."""
    p = Path(path)
    if p.is_file() and p.stat().st_size > 0 and not writable_location(p):
        return open_read_only(p)
    return open_db(p, migrate_schema=migrate_schema)


def open_db(
    path: str | os.PathLike[str], *, readonly: bool = False, migrate_schema: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit: `BEGIN IMMEDIATE`)."""
    p = Path(path)
    created: list[Path] = []  # what this call made (removed again when the setup fails)
    if readonly:
        if not p.exists():
            raise CCBrowserError(f"no database at {p}: run `ccbrowser sync` or `ccbrowser import` first")
        return open_read_only(p)
    else:
        if p.is_dir():
            raise CCBrowserError(f"{p} is a directory, not a database file")
        if not p.exists():
            created = [q for q in (p, Path(f"{p}-wal"), Path(f"{p}-shm")) if not q.exists()]
            _create_private(p)
        elif p.stat().st_size == 0:
            os.chmod(p, 0o600)  # an empty file someone made: it is about to hold prompts
        try:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            _remove_new(created)
            if _code(exc) == _CANTOPEN and not (_writable(p) and _writable(p.resolve().parent)):
                raise read_only_error(p) from None
            raise CCBrowserError(f"cannot open database {p}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            if version(conn) == 0 and conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                # Before anything is written (the WAL switch writes the header): a new database
                # gets bigger pages; an existing one keeps its own (see NEW_PAGE_SIZE).
                conn.execute(f"PRAGMA page_size = {NEW_PAGE_SIZE}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA recursive_triggers = ON")
            # The bodies' hash index takes random inserts: a bigger page cache keeps big imports fast.
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA temp_store = MEMORY")
            # A checkpoint that resets the -wal also shrinks the file back to this size.
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            if migrate_schema and migrate(conn):
                end_bulk_write(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        _remove_new(created)
        error = database_error(exc, p)
        if not isinstance(error, (DamagedDatabase, ReadOnlyDatabase, DiskFull)):
            raise DatabaseError(f"{p} is not a usable ccbrowser database: {exc}") from None
        raise error from None
    return conn


class IntegrityCheck:
    """`check_integrity` on its own read-only connection, in a thread, while a sync talks to the server.

    A full check costs ~4 s on 100,000 completions (820 MB) here, 4-7x a no-change incremental
    sync; run beside the sync's network waits it costs little wall time. WAL keeps the check's
    snapshot stable while the sync commits. :meth:`result` waits for it and raises what it found.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._error: DatabaseError | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="integrity-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            check_integrity(self._conn, self.path)
        except DatabaseError as exc:
            self._error = exc
        except sqlite3.Error:
            pass  # cannot even read it: the command itself says why
        finally:
            if self._conn is not None:
                self._conn.close()

    def result(self) -> None:
        """Wait for the check; raise the DamagedDatabase it found, if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.interrupt()
            except sqlite3.ProgrammingError:
                pass  # already closed


def end_bulk_write(conn: sqlite3.Connection) -> bool:
    """After a sync, an import or a migration: copy the -wal into the database and truncate it.

    A bulk load leaves a large -wal (hundreds of MB), and every reader that opens the database
    maps its index and walks it: a browser opened right after peaked at ~160 MB instead of ~90.
    Returns False when a reader kept the checkpoint from finishing (the next one will).
    """
    try:
        conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.Error:
        return False  # locked by another writer (the next checkpoint does it), or not ours to report here
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return not busy


def open_checked(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """For commands that write: `open_db`, then refuse a damaged file before anything is written."""
    conn = open_db(path)
    try:
        check_integrity(conn, path)
    except DatabaseError:
        conn.close()
        raise
    return conn


def open_existing(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """For commands that only read: a missing database is an error, not a new empty file; a
    read-only one is opened read-only (its writes then fail with one "read-only" line)."""
    p = Path(path)
    if not p.exists():
        raise CCBrowserError(f"no database at {p}: run `ccbrowser sync` or `ccbrowser import FILE` first")
    return open_reader(p)
