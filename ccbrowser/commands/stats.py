"""`ccbrowser stats [--json]`: counts, tokens and estimated costs by model, tier and day; tools.

The figures come from `store.stats.collect` (aggregate SQL over indexed columns: fast on a
million rows); this module only prints them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ccbrowser.argtypes import number
from ccbrowser.store.stats import TOP
from ccbrowser.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--days",
        type=number(int, low=1),
        default=30,
        metavar="N",
        help="days listed in the per-day counts (default 30)",
    )


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


def render(s: dict[str, Any], days: int | None = None) -> str:
    from ccbrowser.commands.prices import ESTIMATE_NOTE
    from ccbrowser.render import local_time, usd
    from ccbrowser.safe import one_line

    t = s["tokens"]
    c = s["cost"]
    rate = s["cache_hit_rate"]

    def spent(row: dict[str, Any]) -> str:
        unknown = f" (+{row['unknown_price']:,} unknown)" if row.get("unknown_price") else ""
        return f"{usd(row['cost_usd'], '?')}{unknown}"

    head = [
        f"completions:  {s['completions']:,} ({s['removed_upstream']:,} removed upstream)",
        f"messages:     {s['messages']:,} ({s['distinct_message_bodies']:,} distinct bodies)",
        f"with tools:   {s['with_tool_calls']:,}   with refusal: {s['with_refusal']:,}",
        f"time span:    {local_time(s['first_created'])} .. {local_time(s['last_created'])}",
        f"tokens:       {t['total']:,} total = {t['prompt']:,} prompt + {t['completion']:,} completion "
        f"({t['reasoning']:,} reasoning, {t['cached']:,} cached)",
        f"cache hits:   {'-' if rate is None else f'{rate:.1%}'} of prompt tokens were cached",
        f"cost:         {usd(c['cost_usd'], '?')} estimated ({c['reported']:,} reported by the server, "
        f"{c['unknown']:,} with an unknown price, left out)",
        f"              {ESTIMATE_NOTE}",
        "",
    ]
    parts = ["\n".join(head)]
    parts.append(
        _table(
            "by model",
            [
                (one_line(m["model"], 40), f"{m['completions']:,}", f"{m['total_tokens']:,} tok", spent(m))
                for m in s["models"][:TOP]
            ],
        )
    )
    parts.append(
        _table(
            "by service tier",
            [
                (one_line(x["tier"], 40), f"{x['completions']:,}", f"{x['total_tokens']:,} tok", spent(x))
                for x in s["tiers"]
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
            "by day" if days is None else f"by day (the newest {days:,} with completions; --days N)",
            [(d["day"], f"{d['completions']:,}", f"{d['total_tokens']:,} tok", spent(d)) for d in s["days"]],
        )
    )
    parts.append(
        _table(
            "tools",
            [
                (
                    one_line(x["name"], 40),
                    plural(x["calls"], "call"),
                    plural(x["completions"], "completion"),
                    f"{x['invalid_json']:,} invalid",
                    spent(x),
                )
                for x in s["tools"]
            ],
        )
    )
    return "\n".join(parts)


def run(args: argparse.Namespace) -> int:
    from ccbrowser.commands.formats import dumps
    from ccbrowser.commands.prices import open_priced
    from ccbrowser.store.stats import collect

    conn = open_priced(args)
    data = collect(conn, args.days)
    if args.json:
        sys.stdout.write(dumps(data) + "\n")
    else:
        sys.stdout.write(render(data, args.days))
    return 0
