"""The TUI's reads of the store: two reader threads, each with its own connection.

The UI thread never runs a query. Quick reads (list pages, one completion's detail, counts) go to
one thread; searches go to another, so a slow query never delays a cursor move, and a stale search
can be interrupted (`sqlite3.Connection.interrupt`) when the user types on. Extras that can wait
(the list's matched snippets) go to a third, so they never queue in front of a detail read; the
facets panel's counts have a fourth (its index takes seconds to build at 100k completions), the
usage screen's aggregates a fifth (seconds at 1M: they never queue in front of a detail read, and
closing the screen abandons the one running).
This module does not import Textual: async callers await `asyncio.wrap_future` on the futures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from array import array
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ccbrowser.store import reader
from ccbrowser.store.db import open_reader

T = TypeVar("T")
# 1 MiB each: the file's pages stay in the OS cache anyway; at 100k a search read no slower with
# 2 MiB than with 8, and at 1M 1 MiB keeps the browser's peak RSS under its 100 MB budget
# (bench/bench_tui.py: 100-102 MB with 2 MiB, 98 with 1, the other figures unchanged).
READER_CACHE_KIB = 1_024
ASIDE_CACHE_KIB = 1_024  # snippets read a few rows per frame: a small cache keeps RSS where it was


class Cancelled(Exception):
    """A search that a newer one replaced."""


class _Lane:
    """One thread with one connection, opened lazily in that thread."""

    def __init__(self, path: Path, name: str, cache_kib: int = READER_CACHE_KIB) -> None:
        self.path = path
        self.cache_kib = cache_kib
        self.pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self.conn: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = open_reader(self.path, migrate_schema=False)
            # open_db sizes its page cache for bulk writes (64 MB); two long-lived readers in a
            # browser that should stay under 100 MB get a small one.
            self.conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")
            # A common word's full snapshot at 1M sorts ~900k rows and builds a set of as many
            # keys: held in memory (open_db's temp_store) that is ~35 MB of RSS on top of the
            # app; in temp files it is a few MB in RAM at the same speed (the OS caches them).
            self.conn.execute("PRAGMA temp_store = FILE")
        return self.conn

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self.pool.submit(lambda: fn(self._conn(), *args))

    def close(self) -> None:
        def _close() -> None:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

        try:
            self.pool.submit(_close)
        except RuntimeError:
            pass
        self.pool.shutdown(wait=False, cancel_futures=True)


class Reads:
    """The TUI's reader threads (quick reads, searches, extras). Create on the UI thread; `close` on exit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Create and migrate once, here, so that the reader threads never write (a read-only
        # database is checked instead: it cannot be migrated).
        open_reader(self.path).close()
        self._read = _Lane(self.path, "ccb-read")
        self._search = _Lane(self.path, "ccb-search")
        self._facets = _Lane(self.path, "ccb-facets")  # a facet index build takes seconds at 100k
        self._aside = _Lane(self.path, "ccb-aside", ASIDE_CACHE_KIB)
        self._usage = _Lane(self.path, "ccb-usage")
        self._generation = 0
        self._running: int | None = None
        self._lock = threading.Lock()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the read thread."""
        return await asyncio.wrap_future(self._read.submit(fn, *args))

    async def facets(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the facets thread (never in the way of a read or a search)."""
        return await asyncio.wrap_future(self._facets.submit(fn, *args))

    async def read_aside(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the extras thread (work that must not delay `read`)."""
        return await asyncio.wrap_future(self._aside.submit(fn, *args))

    async def usage(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the usage thread; raises `Cancelled` when `stop_usage` cut it short."""

        def job(conn: sqlite3.Connection) -> T:
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                raise Cancelled from None

        return await asyncio.wrap_future(self._usage.submit(job))

    def stop_usage(self) -> None:
        """Abandon the usage read running now (the screen closed): at 1M its top tools and metadata
        take seconds, and a reopened screen would wait for them. A read that has not started yet is
        not affected (an interrupt with no statement running does nothing)."""
        if self._usage.conn is not None:
            self._usage.conn.interrupt()

    def read_sync(self, fn: Callable[..., T], *args: Any, timeout: float = 10) -> T:
        """Blocking variant, for start-up and tests."""
        return self._read.submit(fn, *args).result(timeout)

    async def search(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the search thread, replacing any search still running.

        Raises `Cancelled` when an even newer search replaced this one.
        """
        with self._lock:
            self._generation += 1
            gen = self._generation
            if self._running is not None and self._search.conn is not None:
                self._search.conn.interrupt()

        def job(conn: sqlite3.Connection) -> T:
            for _attempt in range(2):
                with self._lock:
                    if gen != self._generation:
                        raise Cancelled
                    self._running = gen
                try:
                    return fn(conn, *args)
                except sqlite3.OperationalError as exc:
                    if "interrupt" not in str(exc):
                        raise
                    # Interrupted: by a newer search (stop), or by a race with our own start (retry).
                finally:
                    with self._lock:
                        self._running = None
            raise Cancelled

        return await asyncio.wrap_future(self._search.submit(job))

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            if self._running is not None and self._search.conn is not None:
                self._search.conn.interrupt()
        self.stop_usage()
        self._read.close()
        self._search.close()
        self._facets.close()
        self._aside.close()
        self._usage.close()


HEAD = 5_000  # start-up's first step: screenfuls of keys, read in ms whatever the store holds


def initial_load(conn: sqlite3.Connection) -> tuple[array[int], int, float | None]:
    """Start-up: the newest `HEAD` primary keys, the count, the last sync time. The full snapshot
    (0.5 s at 1M) is the second step, read after the first paint."""
    pks = reader.all_pks(conn, HEAD)
    return pks, (len(pks) if len(pks) < HEAD else reader.count(conn)), reader.last_sync(conn)


def counts(conn: sqlite3.Connection) -> tuple[int, float | None]:
    return reader.count(conn), reader.last_sync(conn)
