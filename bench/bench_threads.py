"""The cost of threading in `ccbrowser import`, and the migration's backfill, in the same run.

    python bench/bench_threads.py [--count 100000] [--seed 1] [--runs 2]

The corpus is the emulator's (the same JSONL as `bench_import.py`). Each run imports it twice
into fresh databases, alternating: once as shipped, once with the store's thread update
(`store.threads.update`) replaced by a no-op (the baseline: the import without threading).
Reported: the CPU time spent inside the thread update plus `keys_of` over the same records (the
import computes the keys while it decodes, in its decoding process), over the import's whole CPU
time (this process and its decoding process): CPU time is what a loaded, shared machine does not
distort. Also shown: the same ratio in wall-clock time, and the wall-clock difference of the two
imports (noisy when other work shares the cores). The backfill target is checked on CPU time. Target: threading <= 15% of the
import. Then the backfill: the thread tables of the imported database are dropped, its schema
version set back by one, and the migration that adds them timed on open (target: 100k < 60 s).

Prints a table and writes `bench/results/threads.json`.
"""

from __future__ import annotations

import argparse
import gc
import json
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


def backfill(db: Path) -> dict[str, Any]:
    from ccbrowser.store import open_db
    from ccbrowser.store.schema import SCHEMA_VERSION

    conn = sqlite3.connect(db, isolation_level=None)
    expected = conn.execute(
        "SELECT id, thread, parent, turn, branch FROM thread_nodes ORDER BY id"
    ).fetchall()
    for name in ("threads", "thread_keys", "thread_nodes"):
        conn.execute(f"DROP TABLE {name}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.execute("VACUUM")
    conn.close()
    gc.collect()
    c0 = time.process_time()
    with timer() as t:
        conn = open_db(db)
    seconds, cpu_s = t(), time.process_time() - c0
    got = conn.execute("SELECT id, thread, parent, turn, branch FROM thread_nodes ORDER BY id").fetchall()
    threads = conn.execute("SELECT count(*) FROM threads").fetchone()[0]
    conn.close()
    assert got == expected, "the backfill must give what the write path gave"
    return {"seconds": seconds, "cpu_seconds": cpu_s, "completions": len(got), "threads": threads}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "corpus.jsonl"
        messages, raw_bytes = make_jsonl(src, args.count, args.seed)
        print(
            f"corpus: {args.count:,} completions, {messages:,} messages, {raw_bytes / 1e6:,.1f} MB of API JSON"
        )
        runs: list[dict[str, Any]] = []
        kept = work / "kept.db"
        for n in range(args.runs):
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
        back = backfill(kept)
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
        print(
            table(
                [
                    "run",
                    "import, no threading (wall / CPU s)",
                    "import (wall / CPU s)",
                    "thread update (wall / CPU s)",
                    "keys_of (wall / CPU s)",
                    "threading / import (CPU)",
                    "(wall)",
                    "wall vs baseline",
                ],
                rows,
            )
        )
        inside = [r["ratio_cpu"] for r in runs]
        wall = [r["ratio_wall"] for r in runs]
        verdict = {
            "target": TARGET,
            "ratio_cpu_max": max(inside),
            "ratio_inside_wall_max": max(r["ratio_inside"] for r in runs),
            "ratio_wall_median": statistics.median(wall),
            "ok": max(inside) <= TARGET,
            "backfill_seconds": back["seconds"],
            "backfill_ok": back["cpu_seconds"] * 100_000 / max(1, back["completions"]) <= BACKFILL_TARGET_S,
        }
        print(
            f"threading costs {min(inside):.1%}-{max(inside):.1%} of the import's CPU time (wall-clock difference "
            f"{statistics.median(wall):+.1%}; target <= {TARGET:.0%}: {'OK' if verdict['ok'] else 'MISSED'})"
        )
        print(
            f"backfill by the migration: {back['completions']:,} completions, {back['threads']:,} threads "
            f"in {back['seconds']:.1f} s wall, {back['cpu_seconds']:.1f} s CPU (target 100k < {BACKFILL_TARGET_S:.0f} s: "
            f"{'OK' if verdict['backfill_ok'] else 'MISSED'})"
        )
        path = save(
            "threads",
            {"count": args.count, "messages": messages, "runs": runs, "backfill": back, "verdict": verdict},
        )
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
