"""The cost of threading in `ccbrowser import`, and the migration's backfill, in the same run.

    python bench/bench_threads.py [--count 100000] [--seed 1] [--runs 2]
    python bench/bench_threads.py --cached --backfill-only   # the cached corpus database
    python bench/bench_threads.py --db PATH --backfill-only  # any database (copied, never changed)

The corpus is the emulator's (the same JSONL as `bench_import.py`). Each run imports it twice
into fresh databases, alternating: once as shipped, once with the store's thread update
(`store.threads.update`) replaced by a no-op (the baseline: the import without threading).
Reported: the CPU time spent inside the thread update plus `keys_of` over the same records (the
import computes the keys while it decodes, in its decoding process), over the import's whole CPU
time (this process and its decoding process): CPU time is what a loaded, shared machine does not
distort. Also shown: the same ratio in wall-clock time, and the wall-clock difference of the two
imports (noisy when other work shares the cores). Target: threading <= 15% of the import (CPU).

Then the backfill, as a user opening a database from before threading meets it: on a copy of
the imported database (or of `--db` / `--cached`), everything the `_threads` migration (found by
name in `MIGRATIONS`) and the later ones create is dropped, the schema version set to just
before it, and `open_db` timed while it migrates; each migration is timed, and the backfill is
every one that threads the database. Target: 100k < 60 s, shown in wall and CPU time (with the
load average: wall time on a shared machine is mostly the others' work).

Prints a table and writes `bench/results/threads.json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import ccbrowser_import, make_jsonl  # noqa: E402
from common import save, table, timer  # noqa: E402

TARGET = 0.15
BACKFILL_TARGET_S = 60.0
BACKFILL_MIGRATION = "_threads"  # the migration that adds the thread tables and backfills them


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the import's decoding process)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def import_once(src: Path, db: Path, *, threaded: bool) -> tuple[float, float, float, float]:
    """(import wall s, import CPU s, wall s inside the thread update, CPU s inside it)."""
    from ccbrowser.store import threads

    real = threads.update
    spent = [0.0, 0.0]

    def timed(*a: Any, **kw: Any) -> int:
        c0 = time.thread_time()  # the update runs on the importing thread
        with timer() as t:
            n = real(*a, **kw)
        spent[0] += t()
        spent[1] += time.thread_time() - c0
        return n

    threads.update = timed if threaded else (lambda *a, **kw: 0)  # type: ignore[assignment]
    try:
        gc.collect()
        c0 = cpu()
        with timer() as t:
            ccbrowser_import(src, db)
        return t(), cpu() - c0, spent[0], spent[1]
    finally:
        threads.update = real  # type: ignore[assignment]


def keys_seconds(src: Path) -> tuple[float, float]:
    """`keys_of` over every record: the part of threading the import runs while it decodes a batch
    (in its decoding process, so outside the timed update); counted here on the same records."""
    from ccbrowser.threads import from_api, keys_of

    with src.open(encoding="utf-8") as f:
        records = [(rec["completion"], rec["input_messages"]) for rec in map(json.loads, f)]
    gc.collect()
    c0 = time.process_time()
    with timer() as t:
        for completion, inputs in records:
            keys_of(from_api(completion, inputs))
    return t(), time.process_time() - c0


def migration_index(name: str = BACKFILL_MIGRATION) -> int:
    """Where the migration that adds the thread tables sits in `MIGRATIONS` (found by its
    function's name: later migrations must not shift what is timed)."""
    from ccbrowser.store.schema import MIGRATIONS

    for i, step in enumerate(MIGRATIONS):
        if getattr(step, "__name__", "") == name:
            return i
    raise SystemExit(f"no migration named {name} in ccbrowser.store.schema.MIGRATIONS")


def created_from(index: int) -> list[tuple[str, str]]:
    """(type, name) of every table, index, trigger and view that migrations `index`.. create,
    found by migrating an empty database to just before them and then to the end."""
    from ccbrowser.store.schema import migrate

    def objects(conn: sqlite3.Connection) -> set[tuple[str, str]]:
        sql = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        return {(t, n) for t, n in conn.execute(sql)}

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, target=index)
        before = objects(conn)
        migrate(conn)
        after = objects(conn)
    finally:
        conn.close()
    order = {"trigger": 0, "view": 1, "index": 2, "table": 3}
    return sorted(after - before, key=lambda o: (order.get(o[0], 9), o[1]))


def thread_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT id, thread, parent, turn, branch FROM thread_nodes ORDER BY id").fetchall()


def backfill(source: Path, work: Path) -> dict[str, Any]:
    """A user opening a database from before the thread tables: on a copy of `source` (never
    modified), drop what the `_threads` migration and every later one create, set the schema
    version to just before `_threads`, and time `open_db` (which migrates). Each migration it runs
    is timed (wall and CPU of the opening thread); the backfill is every step that threads the
    database (`store.threads.backfill` ran inside it). The result must equal the thread tables the
    write path made."""
    from ccbrowser.store import open_db, schema
    from ccbrowser.store import threads as store_threads

    db = work / "backfill.db"
    src = sqlite3.connect(source, isolation_level=None)
    dst = sqlite3.connect(db, isolation_level=None)
    try:
        src.backup(dst)  # a consistent copy, WAL included; the source is only read
    finally:
        src.close()
    index = migration_index()
    expected = thread_rows(dst)
    dropped = created_from(index)
    for kind, name in dropped:
        exists = dst.execute(
            "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
        ).fetchone()
        if exists:
            dst.execute(f'DROP {kind.upper()} "{name}"')
    dst.execute(f"PRAGMA user_version = {index}")
    dst.execute("VACUUM")  # the file as an old version left it: no free pages of the dropped tables
    dst.close()

    steps: list[dict[str, Any]] = []
    real_steps = list(schema.MIGRATIONS)
    real_backfill = store_threads.backfill
    threaded = [False]

    def counting_backfill(*a: Any, **kw: Any) -> int:
        threaded[0] = True
        return real_backfill(*a, **kw)

    def timed(i: int, step: Any) -> Any:
        def run(conn: sqlite3.Connection) -> None:
            threaded[0] = False
            c0 = time.thread_time()
            with timer() as t:
                step(conn)
            steps.append(
                {
                    "migration": getattr(step, "__name__", str(i)),
                    "version": i + 1,
                    "seconds": t(),
                    "cpu_seconds": time.thread_time() - c0,
                    "threads": threaded[0],
                }
            )

        return run

    for i in range(index, len(real_steps)):
        schema.MIGRATIONS[i] = timed(i, real_steps[i])
    store_threads.backfill = counting_backfill  # type: ignore[assignment]
    try:
        gc.collect()
        c0 = time.process_time()
        with timer() as t:
            conn = open_db(db)
        open_s, open_cpu = t(), time.process_time() - c0
    finally:
        schema.MIGRATIONS[:] = real_steps
        store_threads.backfill = real_backfill  # type: ignore[assignment]
    got = thread_rows(conn)
    threads = conn.execute("SELECT count(*) FROM threads").fetchone()[0]
    completions = conn.execute("SELECT count(*) FROM completions").fetchone()[0]
    conn.close()
    for p in work.glob("backfill.db*"):
        p.unlink()
    if expected:
        assert got == expected, "the backfill must give what the write path gave"
    threading = [s for s in steps if s["threads"]]
    return {
        "source": str(source),
        "from_version": index,
        "dropped": [f"{k} {n}" for k, n in dropped],
        "steps": steps,
        "seconds": sum(s["seconds"] for s in threading),
        "cpu_seconds": sum(s["cpu_seconds"] for s in threading),
        "open_seconds": open_s,
        "open_cpu_seconds": open_cpu,
        "completions": completions,
        "threads": threads,
        "checked_against_write_path": bool(expected),
    }


def import_runs(work: Path, count: int, seed: int, n_runs: int) -> tuple[list[dict[str, Any]], Path, int]:
    """The threaded and the unthreaded import, alternating; returns the runs, a threaded
    database kept for the backfill, and the corpus's message count."""
    src = work / "corpus.jsonl"
    messages, raw_bytes = make_jsonl(src, count, seed)
    print(f"corpus: {count:,} completions, {messages:,} messages, {raw_bytes / 1e6:,.1f} MB of API JSON")
    runs: list[dict[str, Any]] = []
    kept = work / "kept.db"
    for n in range(n_runs):
        order = (False, True) if n % 2 == 0 else (True, False)
        times: dict[bool, tuple[float, float, float, float]] = {}
        for threaded in order:
            db = work / f"import-{n}-{int(threaded)}.db"
            times[threaded] = import_once(src, db, threaded=threaded)
            if threaded and not kept.exists():
                db.rename(kept)
                for side in work.glob(f"{db.name}-*"):
                    side.rename(work / side.name.replace(db.name, kept.name))
            for p in work.glob(f"import-{n}-*.db*"):
                p.unlink()
        base_s, base_cpu = times[False][:2]
        with_s, with_cpu, inside_s, inside_cpu = times[True]
        keys_s, keys_cpu = keys_seconds(src)
        runs.append(
            {
                "baseline_seconds": base_s,
                "threaded_seconds": with_s,
                "baseline_cpu_seconds": base_cpu,
                "threaded_cpu_seconds": with_cpu,
                "update_seconds": inside_s,
                "update_cpu_seconds": inside_cpu,
                "keys_seconds": keys_s,
                "keys_cpu_seconds": keys_cpu,
                "ratio_cpu": (inside_cpu + keys_cpu) / with_cpu,
                "ratio_inside": (inside_s + keys_s) / with_s,
                "ratio_wall": (with_s - base_s) / base_s,
            }
        )
    src.unlink()
    rows = [
        [
            n + 1,
            f"{r['baseline_seconds']:.1f} / {r['baseline_cpu_seconds']:.1f}",
            f"{r['threaded_seconds']:.1f} / {r['threaded_cpu_seconds']:.1f}",
            f"{r['update_seconds']:.1f} / {r['update_cpu_seconds']:.1f}",
            f"{r['keys_seconds']:.1f} / {r['keys_cpu_seconds']:.1f}",
            f"{r['ratio_cpu']:.1%}",
            f"{r['ratio_inside']:.1%}",
            f"{r['ratio_wall']:+.1%}",
        ]
        for n, r in enumerate(runs)
    ]
    headers = [
        "run",
        "import, no threading (wall / CPU s)",
        "import (wall / CPU s)",
        "thread update (wall / CPU s)",
        "keys_of (wall / CPU s)",
        "threading / import (CPU)",
        "(wall)",
        "wall vs baseline",
    ]
    print(table(headers, rows))
    return runs, kept, messages


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=2, help="threaded/unthreaded import pairs")
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, help="backfill a copy of this database (it is never modified)")
    source.add_argument(
        "--cached",
        action="store_true",
        help="backfill a copy of the cached corpus database of --count/--seed (bench/corpus_db.py)",
    )
    ap.add_argument("--backfill-only", action="store_true", help="skip the import runs")
    args = ap.parse_args()
    given: Path | None = args.db
    if args.cached:
        from corpus_db import db_path

        given = db_path(args.count, args.seed)
        if not given.exists():
            raise SystemExit(
                f"no cached database at {given}: build it with bench/corpus_db.py --count {args.count}"
            )
    if given is not None and not given.is_file():
        raise SystemExit(f"no database at {given}")
    if args.backfill_only and given is None:
        raise SystemExit("--backfill-only needs --db or --cached")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs: list[dict[str, Any]] = []
        messages = None
        kept = None
        if not args.backfill_only:
            runs, kept, messages = import_runs(work, args.count, args.seed, args.runs)
        back = backfill(given if given is not None else kept, work)  # type: ignore[arg-type]
    print(
        table(
            ["migration", "to version", "wall s", "CPU s", "threads the database"],
            [
                [s["migration"], s["version"], s["seconds"], s["cpu_seconds"], "yes" if s["threads"] else ""]
                for s in back["steps"]
            ],
        )
    )
    per_100k = 100_000 / max(1, back["completions"])
    verdict: dict[str, Any] = {
        "target": TARGET,
        "backfill_target_seconds": BACKFILL_TARGET_S,
        "backfill_seconds": back["seconds"],
        "backfill_cpu_seconds": back["cpu_seconds"],
        "backfill_wall_ok": back["seconds"] * per_100k < BACKFILL_TARGET_S,
        "backfill_cpu_ok": back["cpu_seconds"] * per_100k < BACKFILL_TARGET_S,
    }
    if runs:
        inside = [r["ratio_cpu"] for r in runs]
        wall = [r["ratio_wall"] for r in runs]
        verdict |= {
            "ratio_cpu_max": max(inside),
            "ratio_inside_wall_max": max(r["ratio_inside"] for r in runs),
            "ratio_wall_median": statistics.median(wall),
            "ok": max(inside) <= TARGET,
        }
        print(
            f"threading costs {min(inside):.1%}-{max(inside):.1%} of the import's CPU time (wall-clock difference "
            f"{statistics.median(wall):+.1%}); target <= {TARGET:.0%}: {yes(verdict['ok'])}"
        )
    scaled = "" if back["completions"] == 100_000 else " (scaled to 100k)"
    print(
        f"backfill by the migration: {back['completions']:,} completions, {back['threads']:,} threads "
        f"in {back['seconds']:.1f} s wall, {back['cpu_seconds']:.1f} s CPU "
        f"(opening the old database: {back['open_seconds']:.1f} s wall, {back['open_cpu_seconds']:.1f} s CPU)"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    verdict["load_average"] = load
    print(
        f"target 100k < {BACKFILL_TARGET_S:.0f} s{scaled}: wall {yes(verdict['backfill_wall_ok'])}, "
        f"CPU {yes(verdict['backfill_cpu_ok'])} (load average {load:.1f} on {os.cpu_count()} cores)"
    )
    path = save(
        "threads",
        {
            "count": back["completions"] if args.backfill_only else args.count,
            "messages": messages,
            "runs": runs,
            "backfill": back,
            "verdict": verdict,
        },
    )
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
