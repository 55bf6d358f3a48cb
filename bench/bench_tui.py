"""TUI responsiveness on a large database (docs/architecture.md section 9).

    python bench/bench_tui.py [--count 100000] [--db PATH] [--size 160x48]

Builds (or reuses with --db) a database of `count` corpus completions, then measures in a fresh
child process, so that peak RSS is the TUI's own:

- first paint: app constructed -> first page of rows and the first detail rendered to the screen;
- move + detail: cursor move (next row, and random jumps that need a page read) -> the new
  completion's detail built and the screen rendered; p50 / p95;
- keystroke -> results: each prefix of a fixed query mix, typed one character at a time ->
  matches counted, list and detail rendered (the 150 ms typing debounce is excluded: it is a
  deliberate wait, not work); p50 / p95;
- peak RSS of the child process.

Targets: first paint <= 1 s, move + detail <= 50 ms p95, keystroke -> results <= 100 ms p95,
RSS <= 150 MB. Prints a table and writes bench/results/tui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mb, percentile, save, table, timer  # noqa: E402

QUERIES = [
    "refund order",
    "model:gpt-4o",
    "tool:refund_order A-88",
    "has:refusal since:7d",
    "deploy kubernetes",
    "weather tokyo",
    "meta:env=prod finish:length",
]


async def _until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.0005)


def _paint(app: Any) -> None:
    """What a real driver does per frame: compose the screen and turn it into terminal output."""
    update = app.screen._compositor.render_full_update()
    with app.console.capture():
        app.console.print(update, end="")


async def measure(db: Path, size: tuple[int, int], moves: int, jumps: int) -> dict[str, Any]:
    from ccbrowser.tui.app import CCBrowserApp

    t0 = time.perf_counter()
    app = CCBrowserApp(
        db, sync=False, watch=False, system_clipboard=False, cursor_blink=False, sync_interval=0
    )
    app.animation_level = "none"
    out: dict[str, Any] = {}
    async with app.run_test(size=size) as pilot:
        lst = app.completion_list
        await _until(lambda: lst.row_at(0) is not None and app.detail is not None)
        _paint(app)
        out["first_paint_s"] = time.perf_counter() - t0
        out["rows"] = len(lst.pks)

        def detail_ready() -> bool:
            return app.detail is not None and app.detail.row.pk == lst.current_pk

        move_ms: list[float] = []
        for _ in range(moves):
            with timer() as t:
                lst.action_cursor_down()
                await _until(detail_ready)
                await _until(lambda: lst.row_at(lst.cursor) is not None)
                _paint(app)
            move_ms.append(t() * 1000)
        rng = random.Random(7)
        jump_ms: list[float] = []
        for _ in range(jumps):
            target = rng.randrange(len(lst.pks))
            with timer() as t:
                lst.move_to(target)
                await _until(detail_ready)
                await _until(lambda: lst.row_at(lst.cursor) is not None)
                _paint(app)
            jump_ms.append(t() * 1000)
        out["move_ms"] = move_ms
        out["jump_ms"] = jump_ms

        key_ms: list[float] = []
        per_query: dict[str, float] = {}
        for q in QUERIES:
            worst = 0.0
            for n in range(1, len(q) + 1):
                prefix = q[:n]
                gen = app._query_gen
                with timer() as t:
                    app.set_query(prefix)
                    if app._query_gen == gen:  # not a valid query yet (e.g. "model:"): message only
                        _paint(app)
                    else:
                        # results on screen: the list shows this query's rows (the first
                        # screenful may come before the full count) and the detail follows
                        await _until(
                            lambda: lst.query_generation == app._query_gen or not app.status.state.searching
                        )
                        await _until(lambda: not lst.pks or lst.row_at(lst.cursor) is not None)
                        await _until(lambda: not lst.pks or detail_ready())
                        _paint(app)
                key_ms.append(t() * 1000)
                await _until(
                    lambda: not app.status.state.searching, timeout=120
                )  # let the full snapshot land
                worst = max(worst, key_ms[-1])
            per_query[q] = worst
        out["key_ms"] = key_ms
        out["worst_key_ms_by_query"] = per_query
        await pilot.press("q")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def build_db(path: Path, count: int) -> float:
    from ccbrowser.demo_corpus import build

    with timer() as t:
        build(path, count, seed=1)
    return t()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="reuse (or create) this database instead of a temporary one")
    parser.add_argument(
        "--cached",
        action="store_true",
        help="the emulator corpus database of bench/corpus_db.py (1M builds once)",
    )
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--jumps", type=int, default=100)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    os.environ.setdefault("TZ", "UTC")

    if args.measure:
        result = asyncio.run(measure(args.measure, size, args.moves, args.jumps))  # type: ignore[arg-type]
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="ccbrowser-bench-") as tmp:
        if args.cached and not args.db:
            from corpus_db import ensure

            args.db = ensure(args.count)
        db = args.db or Path(tmp) / "bench.db"
        build_s = None
        if not db.exists():
            print(f"building a {args.count:,}-completion database…", file=sys.stderr)
            build_s = build_db(db, args.count)
        cmd = [
            sys.executable,
            __file__,
            "--measure",
            str(db),
            "--size",
            args.size,
            "--moves",
            str(args.moves),
            "--jumps",
            str(args.jumps),
        ]
        env = {**os.environ, "TZ": "UTC", "CCBROWSER_CONFIG": str(Path(tmp) / "none.toml")}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])

    moves = r["move_ms"] + r["jump_ms"]
    rows = [
        ["first paint (s)", r["first_paint_s"], 1.0, r["first_paint_s"] <= 1.0],
        ["move + detail p50 (ms)", percentile(moves, 50), "", ""],
        ["move + detail p95 (ms)", percentile(moves, 95), 50.0, percentile(moves, 95) <= 50],
        ["  next row p95 (ms)", percentile(r["move_ms"], 95), "", ""],
        ["  random jump p95 (ms)", percentile(r["jump_ms"], 95), "", ""],
        ["keystroke -> results p50 (ms)", percentile(r["key_ms"], 50), "", ""],
        [
            "keystroke -> results p95 (ms)",
            percentile(r["key_ms"], 95),
            100.0,
            percentile(r["key_ms"], 95) <= 100,
        ],
        ["peak RSS (MB)", r["peak_rss_mb"], 150.0, r["peak_rss_mb"] <= 150],
    ]
    print(f"TUI on {r['rows']:,} completions, terminal {args.size}")
    print(table(["measure", "value", "target", "ok"], rows))
    print(
        "worst keystroke per query (ms): "
        + ", ".join(f"{q!r} {ms:.0f}" for q, ms in r["worst_key_ms_by_query"].items())
    )
    data = {
        "rows": r["rows"],
        "size": args.size,
        "build_s": build_s,
        "first_paint_s": r["first_paint_s"],
        "move_detail_ms": {"p50": percentile(moves, 50), "p95": percentile(moves, 95), "n": len(moves)},
        "next_row_ms_p95": percentile(r["move_ms"], 95),
        "random_jump_ms_p95": percentile(r["jump_ms"], 95),
        "keystroke_results_ms": {
            "p50": percentile(r["key_ms"], 50),
            "p95": percentile(r["key_ms"], 95),
            "n": len(r["key_ms"]),
        },
        "worst_keystroke_ms_by_query": r["worst_key_ms_by_query"],
        "peak_rss_mb": r["peak_rss_mb"],
        "targets": {
            "first_paint_s": 1.0,
            "move_detail_ms_p95": 50,
            "keystroke_results_ms_p95": 100,
            "peak_rss_mb": 150,
        },
    }
    print(f"wrote {save('tui', data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
