"""Large benchmark databases from the emulator corpus, built fast, cached, resumable.

    python bench/corpus_db.py --count 1000000 [--seed 1] [--workers 1]

The database holds exactly what a sync of `Corpus(count, seed)` stores (the same `Writer`), built
the bulk way: the FTS triggers and the secondary indexes are dropped while rows go in, then the
index is rebuilt from `bodies` and the indexes created once, sorted (an index built at the end is
several times cheaper than one kept up to date under random inserts). Corpus generation and
`prepare` (pure Python) run in worker processes, the SQLite half in this one.

Resumable: rows commit in chunks in corpus order, so `count(*)` of completions is where a killed
build continues; the dropped DDL is kept in a side file until the finishing step has run. The
file is named after count and seed under `$CCBROWSER_BENCH_CACHE`, else
`$XDG_CACHE_HOME/ccbrowser-bench`, else `~/.cache/ccbrowser-bench`; it is only given out once
finished (`*.building.db` while not).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CORPUS_NOW = 1_790_000_000
CHUNK = 2_000  # completions per transaction (and per worker task)
PAGE = 500  # completions per `prepare` call, like a sync's page batches


def cache_dir() -> Path:
    explicit = os.environ.get("CCBROWSER_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ccbrowser-bench"


def db_path(count: int, seed: int) -> Path:
    return cache_dir() / f"corpus-{count}-s{seed}.db"


def _building(path: Path) -> Path:
    return path.with_suffix(".building.db")


def _ddl_file(path: Path) -> Path:
    return path.with_suffix(".ddl.json")


def _prepare_chunk(task: tuple[int, int, int, int]) -> list[Any]:
    """Worker: completions [start, stop) of the corpus, as `Prepared` batches (picklable)."""
    from ccbrowser.emulator.corpus import Corpus
    from ccbrowser.store.writer import Record, prepare

    count, seed, start, stop = task
    corpus = _corpus_cache.get((count, seed))
    if corpus is None:
        corpus = _corpus_cache[(count, seed)] = Corpus(count, seed=seed, now=CORPUS_NOW)
    out = []
    for lo in range(start, stop, PAGE):
        out.append(prepare(Record(*corpus.pair(i)) for i in range(lo, min(stop, lo + PAGE))))
    return out


_corpus_cache: dict[tuple[int, int], Any] = {}


def _deferred_ddl(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(type, name, sql) of what is dropped during the load: FTS triggers, non-unique indexes.
    Not the thread tables' indexes: each batch's threading looks up earlier completions by key."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND ("
        " (type = 'trigger' AND tbl_name = 'bodies')"
        " OR (type = 'index' AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name NOT LIKE 'thread%'))"
    ).fetchall()
    return [(t, n, s) for t, n, s in rows]


def _chunks(done: int, count: int) -> Iterator[tuple[int, int]]:
    for start in range(done, count, CHUNK):
        yield start, min(count, start + CHUNK)


def build(count: int, seed: int, *, workers: int = 1, quiet: bool = False) -> Path:
    """The finished database for (count, seed): built, or resumed, or found in the cache."""
    from ccbrowser.store.db import open_db
    from ccbrowser.store.writer import Writer

    final = db_path(count, seed)
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    path, ddl_file = _building(final), _ddl_file(final)
    conn = open_db(path)
    conn.execute("PRAGMA cache_size = -262144")  # 256 MB: the bodies' hash index takes random inserts
    if ddl_file.exists():
        ddl = [tuple(x) for x in json.loads(ddl_file.read_text(encoding="utf-8"))]
    else:
        ddl = _deferred_ddl(conn)
        ddl_file.write_text(json.dumps(ddl), encoding="utf-8")
    for kind, name, _sql in ddl:
        conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    done = conn.execute("SELECT count(*) FROM completions").fetchone()[0]
    writer = Writer(conn, profile="bench", source="bench")
    start = time.perf_counter()
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    if done < count:
        log(f"{final.name}: rows {done:,} -> {count:,}")
        tasks = [(count, seed, lo, hi) for lo, hi in _chunks(done, count)]
        written, chunks = done, 0

        def write(batches: list[Any]) -> None:
            nonlocal written, chunks
            for prepared in batches:  # one transaction each: count(*) is always where to resume
                writer.apply(prepared, fetched_at=CORPUS_NOW)
                written += len(prepared.rows)
            chunks += 1
            if chunks % 25 == 0:
                rate = (written - done) / (time.perf_counter() - start)
                log(f"  {written:,} rows, {rate:,.0f}/s, eta {(count - written) / rate / 60:.1f} min")

        with multiprocessing.get_context("fork").Pool(max(1, workers)) as pool:
            ahead: deque[Any] = deque()  # a few chunks in flight: memory stays bounded
            for task in tasks:
                ahead.append(pool.apply_async(_prepare_chunk, (task,)))
                if len(ahead) > 2 * workers:
                    write(ahead.popleft().get())
            while ahead:
                write(ahead.popleft().get())
    log(f"{final.name}: full-text index and indexes")
    conn.execute("INSERT INTO bodies_fts(bodies_fts) VALUES ('rebuild')")
    for _kind, _name, sql in ddl:
        conn.execute(sql)
    # No ANALYZE: a synced database has no planner statistics, and the plans measured must be its plans.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    path.rename(final)
    ddl_file.unlink()
    log(f"{final.name}: done in {time.perf_counter() - start:.0f} s")
    return final


def ensure(count: int, seed: int = 1) -> Path:
    """For the benchmarks: the cached database, built first when missing (it says so on stderr)."""
    return build(count, seed, workers=max(1, min(2, os.cpu_count() or 1) - 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="corpus + prepare processes")
    args = ap.parse_args()
    t0 = time.perf_counter()
    path = build(args.count, args.seed, workers=args.workers)
    print(f"{path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
