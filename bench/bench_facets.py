"""Facet counts for the TUI's side panel (`store.facets.facet_counts`) at 100k completions.

For each query of a fixed mix the snapshot of matching keys is taken first (the TUI already holds
it), then the facets over it are timed: target p95 <= 200 ms. The `FacetIndex` is built once
(its build time is printed: the first `F` of a session, and after a sync changed completions).
The baseline, in the same run, is the plain way to get the same numbers: one `GROUP BY` per facet
with the query's own `WHERE`. Prints a table; writes bench/results/facets.json.

    python bench/bench_facets.py [--count 100000] [--db PATH] [--repeat 7]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import build  # noqa: E402
from common import percentile, save, table  # noqa: E402

TARGET_MS = 200.0
QUERIES = (
    "",
    "model:gpt-4o",
    "has:tools",
    "refund",
    "meta:env=prod finish:stop",
    "the",
    "since:30d tag:good",
)


def baseline(conn: sqlite3.Connection, text: str) -> None:
    """The same counts, each facet a GROUP BY over the query's WHERE."""
    from ccbrowser import search
    from ccbrowser.search.plan import build as plan

    where, params = ("1", []) if not text else plan(search.parse(text), conn).full_where()
    base = f"FROM completions c WHERE {where}"
    for sql in (
        f"SELECT c.model, count(*) {base} GROUP BY 1",
        f"SELECT c.finish_reason, count(*) {base} GROUP BY 1",
        f"SELECT t.name, count(DISTINCT t.completion) FROM tool_calls t WHERE t.completion IN (SELECT c.pk {base}) GROUP BY 1",
        f"SELECT m.key, m.value, count(*) FROM completion_metadata m WHERE m.completion IN (SELECT c.pk {base}) GROUP BY 1, 2",
        f"SELECT t.tag, count(*) FROM label_tags t JOIN completions c ON c.id = t.id WHERE {where} GROUP BY 1",
    ):
        conn.execute(sql, params * sql.count(where)).fetchall()


def run(db: Path, repeat: int) -> dict[str, Any]:
    from ccbrowser import search
    from ccbrowser.store import labels
    from ccbrowser.store.db import open_db
    from ccbrowser.store.facets import FacetIndex, facet_counts

    conn = open_db(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM completions WHERE pk % 17 = 0")]
    labels.apply(conn, ids, add_tags=["good"])  # some tags to count (idempotent)
    start = time.perf_counter()
    index = FacetIndex.build(conn)
    build_ms = (time.perf_counter() - start) * 1000
    out: dict[str, Any] = {"index_build_ms": build_ms}
    for text in QUERIES:
        pks = None if not text else search.matching_pks(conn, text, sort="newest")
        times, base = [], []
        for i in range(repeat):
            start = time.perf_counter()
            facets, index = facet_counts(conn, pks, index)
            times.append((time.perf_counter() - start) * 1000)
            if i < 2:  # the baseline is slow: two runs are enough to compare
                start = time.perf_counter()
                baseline(conn, text)
                base.append((time.perf_counter() - start) * 1000)
        p95 = percentile(times, 95)
        out[text or "(everything)"] = {
            "matches": facets.total,
            "p50_ms": percentile(times, 50),
            "p95_ms": p95,
            "baseline_p50_ms": percentile(base, 50),
            "speedup_p50": percentile(base, 50) / max(percentile(times, 50), 1e-9),
            "ok": p95 <= TARGET_MS,
        }
    conn.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=None, help="cached database (built when missing)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    db = args.db or Path(tempfile.gettempdir()) / f"ccbrowser-bench-search-{args.count}-{args.seed}.db"
    if not db.exists():
        print(f"building {args.count:,} completions into {db} ...", file=sys.stderr)
        print(f"built in {build(db, args.count, args.seed):.0f} s", file=sys.stderr)
    results = run(db, args.repeat)
    build_ms = results.pop("index_build_ms")
    print(
        f"facet counts over the matching snapshot, {args.repeat} runs per query (target p95 <= {TARGET_MS:.0f} ms)"
    )
    print(
        table(
            ["query", "matches", "p50 ms", "p95 ms", "baseline p50 ms", "speedup", "ok"],
            [
                (
                    q,
                    r["matches"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["baseline_p50_ms"],
                    f"{r['speedup_p50']:.1f}x",
                    "yes" if r["ok"] else "NO",
                )
                for q, r in results.items()
            ],
        )
    )
    print(f"facet index built in {build_ms:,.0f} ms (once per session and after completions change)")
    path = save("facets", {"target_p95_ms": TARGET_MS, "index_build_ms": build_ms, "queries": results})
    print(f"wrote {path}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
