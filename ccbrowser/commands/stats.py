"""`ccbrowser stats [--json]`: counts by model, finish reason and day; token totals; tool names.

Days are local dates. Everything is aggregate SQL over indexed columns: fast on a million rows.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from typing import Any

from ccbrowser.argtypes import number

TOP = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--days",
        type=number(int, low=1),
        default=30,
        metavar="N",
        help="days listed in the per-day counts (default 30)",
    )


def collect(conn: sqlite3.Connection, days: int = 30) -> dict[str, Any]:
    one = conn.execute(
        "SELECT count(*), count(removed_at), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
        "coalesce(sum(total_tokens), 0), coalesce(sum(reasoning_tokens), 0), coalesce(sum(cached_tokens), 0), "
        "min(created), max(created), coalesce(sum(has_tools), 0), coalesce(sum(has_refusal), 0) FROM completions"
    ).fetchone()
    models = conn.execute(
        "SELECT coalesce(model, '(none)'), count(*), coalesce(sum(total_tokens), 0) FROM completions "
        "GROUP BY model ORDER BY 2 DESC"
    ).fetchall()
    finish = conn.execute(
        "SELECT coalesce(finish_reason, '(none)'), count(*) FROM completions GROUP BY finish_reason ORDER BY 2 DESC"
    ).fetchall()
    per_day = conn.execute(
        "SELECT date(created, 'unixepoch', 'localtime') AS d, count(*), coalesce(sum(total_tokens), 0) "
        "FROM completions WHERE created IS NOT NULL GROUP BY d ORDER BY d DESC LIMIT ?",
        (max(0, days),),
    ).fetchall()
    tools = conn.execute(
        "SELECT coalesce(name, '(none)'), count(*), count(DISTINCT completion), coalesce(sum(valid_json = 0), 0) "
        "FROM tool_calls GROUP BY name ORDER BY 2 DESC LIMIT ?",
        (TOP,),
    ).fetchall()
    return {
        "completions": one[0],
        "removed_upstream": one[1],
        "with_tool_calls": one[9],
        "with_refusal": one[10],
        "first_created": one[7],
        "last_created": one[8],
        "messages": conn.execute("SELECT count(*) FROM messages").fetchone()[0],
        "distinct_message_bodies": conn.execute("SELECT count(*) FROM bodies").fetchone()[0],
        "tokens": {
            "prompt": one[2],
            "completion": one[3],
            "total": one[4],
            "reasoning": one[5],
            "cached": one[6],
        },
        "models": [{"model": m, "completions": n, "total_tokens": t} for m, n, t in models],
        "finish_reasons": [{"finish_reason": f, "completions": n} for f, n in finish],
        "days": [{"day": d, "completions": n, "total_tokens": t} for d, n, t in per_day],
        "tools": [
            {"name": name, "calls": calls, "completions": comps, "invalid_json": bad}
            for name, calls, comps, bad in tools
        ],
    }


def _table(title: str, rows: list[tuple[str, ...]]) -> str:
    if not rows:
        return f"{title}\n  (none)\n"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title]
    for r in rows:
        first = r[0].ljust(widths[0])
        rest = "  ".join(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))
        lines.append(f"  {first}  {rest}")
    return "\n".join(lines) + "\n"


def render(s: dict[str, Any]) -> str:
    from ccbrowser.render import local_time
    from ccbrowser.safe import one_line

    t = s["tokens"]
    head = [
        f"completions:  {s['completions']:,} ({s['removed_upstream']:,} removed upstream)",
        f"messages:     {s['messages']:,} ({s['distinct_message_bodies']:,} distinct bodies)",
        f"with tools:   {s['with_tool_calls']:,}   with refusal: {s['with_refusal']:,}",
        f"time span:    {local_time(s['first_created'])} .. {local_time(s['last_created'])}",
        f"tokens:       {t['total']:,} total = {t['prompt']:,} prompt + {t['completion']:,} completion "
        f"({t['reasoning']:,} reasoning, {t['cached']:,} cached)",
        "",
    ]
    parts = ["\n".join(head)]
    parts.append(
        _table(
            "by model",
            [
                (one_line(m["model"], 40), f"{m['completions']:,}", f"{m['total_tokens']:,} tok")
                for m in s["models"][:TOP]
            ],
        )
    )
    parts.append(
        _table(
            "by finish reason",
            [(one_line(f["finish_reason"], 40), f"{f['completions']:,}") for f in s["finish_reasons"]],
        )
    )
    parts.append(
        _table(
            "by day", [(d["day"], f"{d['completions']:,}", f"{d['total_tokens']:,} tok") for d in s["days"]]
        )
    )
    parts.append(
        _table(
            "tools",
            [
                (
                    one_line(x["name"], 40),
                    f"{x['calls']:,} calls",
                    f"{x['completions']:,} completions",
                    f"{x['invalid_json']:,} invalid",
                )
                for x in s["tools"]
            ],
        )
    )
    return "\n".join(parts)


def run(args: argparse.Namespace) -> int:
    from ccbrowser.cli import db_path
    from ccbrowser.store import open_existing

    conn = open_existing(db_path(args))
    data = collect(conn, args.days)
    if args.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=True) + "\n")
    else:
        sys.stdout.write(render(data))
    return 0
