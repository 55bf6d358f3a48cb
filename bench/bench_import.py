"""Import speed and database size, against a plain sqlite-utils import in the same run.

    python bench/bench_import.py [--count 100000] [--seed 1]

Baseline: what a simple tool would do with `sqlite-utils`: `json.loads` each line, `insert_all`
the completions (raw JSON) and one row per (completion, message) with its text, FTS over the text
with triggers. ccbrowser: `ccbrowser import` (dedupes bodies, typed columns, tool calls, metadata,
FTS over four columns). Targets: >= 20,000 messages/s; database <= 1.5x the raw JSON it holds
(docs/architecture.md), and the scale target <= 1.0x. The database's bytes by table and index
(SQLite's `dbstat`) are printed too: where the size goes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table, timer  # noqa: E402


def make_jsonl(path: Path, count: int, seed: int) -> tuple[int, int]:
    """Writes the corpus; returns (messages, raw JSON bytes as the API would send them)."""
    from ccbrowser.emulator.corpus import Corpus

    corpus = Corpus(count, seed=seed, now=1_790_000_000)
    messages = raw_bytes = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            completion, inputs = corpus.pair(i)
            line = json.dumps({"completion": completion, "input_messages": inputs}, ensure_ascii=False)
            f.write(line + "\n")
            messages += len(inputs) + len(completion.get("choices") or [])
            raw_bytes += len(json.dumps(completion, ensure_ascii=False).encode()) + sum(
                len(json.dumps(m, ensure_ascii=False).encode()) for m in inputs
            )
    return messages, raw_bytes


def cpu_seconds() -> float:
    """This process's CPU plus its finished children's (the import decodes in a worker process)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def baseline(src: Path, db: Path) -> None:
    import sqlite_utils

    database = sqlite_utils.Database(db)
    database.execute("PRAGMA journal_mode = WAL")
    completions = database["completions"]
    msgs = database["messages"]
    completions.create({"id": str, "created": int, "model": str, "raw": str}, pk="id")
    msgs.create({"completion_id": str, "position": int, "role": str, "content": str, "raw": str})
    msgs.enable_fts(["content"], create_triggers=True)

    def text(content: object) -> str:
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
        return ""

    batch_c: list[dict] = []
    batch_m: list[dict] = []
    with src.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            c = rec["completion"]
            batch_c.append(
                {"id": c["id"], "created": c["created"], "model": c["model"], "raw": json.dumps(c)}
            )
            for n, m in enumerate(rec["input_messages"]):
                batch_m.append(
                    {
                        "completion_id": c["id"],
                        "position": n,
                        "role": m.get("role"),
                        "content": text(m.get("content")),
                        "raw": json.dumps(m),
                    }
                )
            for ch in c.get("choices") or []:
                m = ch.get("message") or {}
                batch_m.append(
                    {
                        "completion_id": c["id"],
                        "position": -1 - ch.get("index", 0),
                        "role": "assistant",
                        "content": text(m.get("content")),
                        "raw": json.dumps(m),
                    }
                )
            if len(batch_c) >= 500:
                with database.conn:
                    completions.insert_all(batch_c, replace=True)
                    msgs.insert_all(batch_m)
                batch_c, batch_m = [], []
    with database.conn:
        completions.insert_all(batch_c, replace=True)
        msgs.insert_all(batch_m)
    database.close()


def ccbrowser_import(src: Path, db: Path) -> None:
    from ccbrowser.cli import main

    rc = main(["--db", str(db), "import", str(src)])
    assert rc == 0, rc


def db_size(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def bytes_by_object(db: Path, top: int = 12) -> list[list[object]]:
    """[name, MB, share, unused MB] of the biggest tables and indexes (`dbstat`), the rest summed."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    except sqlite3.OperationalError:  # an SQLite built without dbstat
        return []
    finally:
        conn.close()
    total = sum(r[1] for r in rows) or 1
    out: list[list[object]] = [[n, b / 1e6, f"{b / total:.1%}", u / 1e6] for n, b, u in rows[:top]]
    rest = rows[top:]
    if rest:
        b, u = sum(r[1] for r in rest), sum(r[2] for r in rest)
        out.append([f"{len(rest)} others", b / 1e6, f"{b / total:.1%}", u / 1e6])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "corpus.jsonl"
        with timer() as t:
            messages, raw_bytes = make_jsonl(src, args.count, args.seed)
        print(
            f"corpus: {args.count:,} completions, {messages:,} messages, {raw_bytes / 1e6:,.1f} MB of API JSON ({t():.1f} s to generate)"
        )
        rows = []
        results: dict[str, dict[str, Any]] = {}
        breakdown: list[list[object]] = []
        for name, fn in (("sqlite-utils baseline", baseline), ("ccbrowser import", ccbrowser_import)):
            db = work / f"{name.split()[0]}.db"
            cpu0 = cpu_seconds()
            with timer() as t:
                fn(src, db)
            secs = t()
            cpu = cpu_seconds() - cpu0
            size = db_size(db)
            results[name] = {
                "seconds": secs,
                "cpu_seconds": cpu,
                "messages_per_s": messages / secs,
                "completions_per_s": args.count / secs,
                "db_bytes": size,
                "db_over_raw": size / raw_bytes,
            }
            rows.append([name, secs, cpu, args.count / secs, messages / secs, size / 1e6, size / raw_bytes])
            if name == "ccbrowser import":
                breakdown = bytes_by_object(db)
                results[name]["mb_by_object"] = {str(r[0]): r[1] for r in breakdown}
            os.sync()
        print(
            table(
                ["import", "seconds", "CPU s", "completions/s", "messages/s", "DB MB", "DB / raw JSON"], rows
            )
        )
        ours = results["ccbrowser import"]
        base = results["sqlite-utils baseline"]
        verdict = {
            "messages_per_s_target": 20_000,
            "messages_per_s_ok": ours["messages_per_s"] >= 20_000,
            "speed_vs_baseline": ours["messages_per_s"] / base["messages_per_s"],
            "cpu_vs_baseline": ours["cpu_seconds"] / base["cpu_seconds"],
            "size_vs_raw_target": 1.5,
            "size_ok": ours["db_over_raw"] <= 1.5,
            "size_vs_raw_scale_target": 1.0,
            "size_scale_ok": ours["db_over_raw"] <= 1.0,
        }
        print(
            f"ccbrowser: {ours['messages_per_s']:,.0f} messages/s (target >= 20,000: {'OK' if verdict['messages_per_s_ok'] else 'MISSED'}), "
            f"{verdict['speed_vs_baseline']:.2f}x the baseline's rate ({verdict['cpu_vs_baseline']:.2f}x its CPU), "
            f"load {os.getloadavg()[0]:.1f}, DB {ours['db_over_raw']:.2f}x raw JSON "
            f"(target <= 1.5: {'OK' if verdict['size_ok'] else 'MISSED'}; "
            f"scale target <= 1.0: {'yes' if verdict['size_scale_ok'] else 'no'})"
        )
        print(table(["table or index (ccbrowser DB)", "MB", "share", "unused MB"], breakdown))
        path = save(
            "import",
            {
                "count": args.count,
                "messages": messages,
                "raw_bytes": raw_bytes,
                "results": results,
                "verdict": verdict,
            },
        )
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
