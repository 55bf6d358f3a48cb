"""The cost of threading, against `ccbrowser import` of the same corpus in the same run.

    python bench/bench_threads.py [--count 100000] [--seed 1] [--runs 3] [--page 100]

The corpus is the emulator's (the same JSONL as `bench_import.py`). Baseline: `ccbrowser import`
of it into a fresh database. Threading: what the write path will add per completion, on records
already parsed (the import parses them anyway): `keys_of` (canonical form and hash chain of every
input message and choice) and `Threader.add` over an in-memory index, a page at a time as a sync
writes them. Target: threading <= 15% of the import's time. Runs alternate; the range of the
ratio over the runs is reported (the machine may be shared: noise only ever adds time).

Prints a table and writes `bench/results/threads.json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import ccbrowser_import, make_jsonl  # noqa: E402
from common import save, table, timer  # noqa: E402

TARGET = 0.15


def load(src: Path) -> list[tuple[dict[str, Any], list[Any]]]:
    with src.open(encoding="utf-8") as f:
        return [(rec["completion"], rec["input_messages"]) for rec in map(json.loads, f)]


def thread(records: list[tuple[dict[str, Any], list[Any]]], page: int) -> dict[str, Any]:
    from ccbrowser.threads import MemoryIndex, Threader, from_api, keys_of

    threader = Threader(MemoryIndex())
    keys_s = link_s = 0.0
    changed = 0
    for start in range(0, len(records), page):
        chunk = records[start : start + page]
        with timer() as t:
            keys = [keys_of(from_api(c, inputs)) for c, inputs in chunk]
        keys_s += t()
        with timer() as t:
            changed += len(threader.add(keys))
        link_s += t()
    index = threader.index
    assert isinstance(index, MemoryIndex)
    rows = index.assignments().values()
    return {
        "keys_seconds": keys_s,
        "link_seconds": link_s,
        "seconds": keys_s + link_s,
        "rows_written": changed,
        "threads": len({a.thread for a in rows}),
        "linked": sum(1 for a in rows if a.parent is not None),
        "continues": sum(1 for a in rows if a.continues is not None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--page", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "corpus.jsonl"
        messages, raw_bytes = make_jsonl(src, args.count, args.seed)
        print(
            f"corpus: {args.count:,} completions, {messages:,} messages, {raw_bytes / 1e6:,.1f} MB of API JSON"
        )
        records = load(src)
        runs: list[dict[str, Any]] = []
        for n in range(args.runs):
            db = work / f"import-{n}.db"
            with timer() as t:
                ccbrowser_import(src, db)
            import_s = t()
            for p in work.glob(f"import-{n}.db*"):
                p.unlink()
            gc.collect()
            result = thread(records, args.page)
            result["import_seconds"] = import_s
            result["ratio"] = result["seconds"] / import_s
            runs.append(result)
        rows = [
            [
                n + 1,
                r["import_seconds"],
                r["keys_seconds"],
                r["link_seconds"],
                r["seconds"] / args.count * 1e6,
                r["import_seconds"] / args.count * 1e6,
                f"{r['ratio']:.1%}",
            ]
            for n, r in enumerate(runs)
        ]
        print(
            table(
                [
                    "run",
                    "import s",
                    "keys s",
                    "link s",
                    "threading µs/completion",
                    "import µs/completion",
                    "threading / import",
                ],
                rows,
            )
        )
        ratios = [r["ratio"] for r in runs]
        last = runs[-1]
        verdict = {
            "target": TARGET,
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "ratio_median": statistics.median(ratios),
            "ok": max(ratios) <= TARGET,
        }
        print(
            f"threading costs {min(ratios):.1%}-{max(ratios):.1%} of the import (median {verdict['ratio_median']:.1%}; "
            f"target <= {TARGET:.0%}: {'OK' if verdict['ok'] else 'MISSED'}); "
            f"{last['threads']:,} threads, {last['linked']:,} parent links, {last['continues']:,} continues links"
        )
        path = save(
            "threads",
            {"count": args.count, "messages": messages, "page": args.page, "runs": runs, "verdict": verdict},
        )
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
