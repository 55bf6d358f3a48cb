"""The usage screen on a large database: how long `u` takes to show its charts.

    python bench/bench_usage.py [--count 100000] [--db PATH] [--size 160x48] [--runs 5]

Uses (or builds) a database of `count` corpus completions; `--db` reuses one, e.g. the cached
database of bench_search.py. Measures:

- store: `store.usage.usage` (what the screen opens with: totals, per-day series, top models,
  most expensive) and `store.usage.top_values` (top tools and metadata values, read after the
  charts are up) for everything and for the matches of a few queries (their primary keys as the
  list holds them); p50 / max;
- baseline, same run: the same aggregations reading the cost columns from the table rows
  (`NOT INDEXED`), which is what the sums cost without the covering indexes of schema v6 (the
  cost columns follow the raw JSON in each row);
- open: in the real app, `u` pressed -> the figures read and the Cost chart drawn by the screen's
  own refresh (what the user sees: the chart, its legend and axes, the header totals; the Top tab's
  tools and metadata values are read after that paint and are not counted; the other tabs are
  built when first shown);
  p50 / max over `--runs` openings (everything, then `model:gpt-4o`), wall and CPU time (the
  process: UI and read threads). `shown` is the first paint of the screen before its figures
  ("reading…"), reported beside it;
- chart: the cost chart's figure for the (everything) figures at `--size`, drawn by
  `widgets.bars` vs. the same stacked bars drawn by plotext (what the screen drew before), same run.

Baseline for the whole machine, same run: a fixed pure-Python loop (`reference_ms`), so that an
opening measured on a loaded machine can be read against it (open / reference).

Targets (docs/architecture.md section 9): the screen opens in <= 500 ms on 100k completions and in
<= 2 s on 1M (the target of the count measured).
Prints a table and writes bench/results/usage.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentile, save, table, timer  # noqa: E402

QUERIES = ["", "model:gpt-4o", "refund", "tool:refund_order", "meta:env=prod"]
TARGET_OPEN_MS = 500.0  # 100k completions
TARGET_OPEN_1M_MS = 2000.0  # 1M completions
CORPUS_NOW = 1_790_000_000


def reference_ms() -> float:
    """A fixed CPU-bound loop: about 40 ms on an idle core of a 2020s laptop."""
    times = []
    for _ in range(3):
        with timer() as t:
            sum(i * i for i in range(1_000_000))
        times.append(t() * 1000)
    return min(times)


def _pks(conn: sqlite3.Connection, text: str) -> list[int] | None:
    from ccbrowser import search

    return None if not text else search.matching_pks(conn, search.parse(text, now=CORPUS_NOW))


class _Unindexed:
    """A connection whose statements skip the covering indexes (the baseline)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        sql = sql.replace("INDEXED BY completions_pk_cost", "NOT INDEXED")
        return self.conn.execute(sql, params)


def store_times(db: Path, runs: int) -> dict[str, Any]:
    from ccbrowser.store.usage import top_values, usage

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out: dict[str, Any] = {}
    for text in QUERIES:
        pks = _pks(conn, text)
        for name, fn in (("usage", usage), ("top_values", top_values)):
            mine = []
            for _ in range(runs):
                with timer() as t:
                    fn(conn, pks)
                mine.append(t() * 1000)
            with timer() as t:
                fn(_Unindexed(conn), pks)  # type: ignore[arg-type]
            out[f"{name} {text or '(everything)'}"] = {
                "matches": len(pks) if pks is not None else None,
                "p50_ms": percentile(mine, 50),
                "max_ms": max(mine),
                "baseline_ms": t() * 1000,
            }
    conn.close()
    return out


async def open_times(db: Path, size: tuple[int, int], runs: int) -> dict[str, Any]:
    from ccbrowser.tui.app import CCBrowserApp
    from ccbrowser.tui.screens.usage import UsageScreen

    app = CCBrowserApp(
        db, sync=False, watch=False, system_clipboard=False, cursor_blink=False, sync_interval=0
    )
    app.animation_level = "none"
    out: dict[str, Any] = {}
    async with app.run_test(size=size) as pilot:
        await app.wait_idle(timeout=120)
        for text in ("", "model:gpt-4o"):
            if text:
                app.set_query(text)
                deadline = time.perf_counter() + 120
                while time.perf_counter() < deadline and (
                    app.completion_list.query_generation != app._query_gen or app.status.state.searching
                ):
                    await asyncio.sleep(0.01)
            times, cpus, shown = [], [], []
            for _ in range(runs):
                cpu = time.process_time()
                with timer() as t:
                    # The key as the terminal sends it, without Pilot's wait for an idle process
                    # (that wait would also take in the Top tab's read, which runs after the paint).
                    app.simulate_key("u")
                    while not isinstance(app.screen, UsageScreen):
                        await asyncio.sleep(0.001)
                    _paint(app)
                    shown.append(t() * 1000)
                    while not _drawn(app.screen.query("#usage-cost")):  # by the screen's own refresh
                        await asyncio.sleep(0.001)
                times.append(t() * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                await pilot.press("escape")
                await pilot.pause()
                await app.workers.wait_for_complete()  # the Top tab's read, after the paint
            out[text or "(everything)"] = {
                "p50_ms": percentile(times, 50),
                "max_ms": max(times),
                "cpu_p50_ms": percentile(cpus, 50),
                "shown_p50_ms": percentile(shown, 50),
                "runs": times,
            }
        await pilot.press("q")
    return out


def _drawn(found: Any) -> bool:
    """The cost chart has its figure and has drawn it on screen."""
    chart = found.first() if found else None
    return chart is not None and chart.bars is not None and chart._drawn is not None


def _paint(app: Any) -> None:
    """The whole screen rendered as the terminal would get it."""
    update = app.screen._compositor.render_full_update()
    with app.console.capture():
        app.console.print(update, end="")


def chart_times(db: Path, size: tuple[int, int], runs: int) -> dict[str, float]:
    """The cost chart's figure (everything) at about the chart's size on the screen: widgets.bars
    vs plotext's stacked bars of the same series, CPU ms (p50)."""
    from textual.geometry import Size
    from textual_plotext.plot import Plot

    from ccbrowser.store.usage import usage
    from ccbrowser.tui.widgets.bars import Bars, draw

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    u = usage(conn, None)
    conn.close()
    w, h = size[0], size[1] - 6  # the header, the tabs and the footer
    series = [u.day_cost[m] for m in u.models]
    bars, plotext = [], []
    for _ in range(runs):
        cpu = time.process_time()
        draw(Bars("cost", u.days, u.models, series, str), Size(w, h))
        bars.append((time.process_time() - cpu) * 1000)
        plt: Any = Plot()
        plt.plotsize(w, h)
        plt.stacked_bar(list(range(len(u.days))), series, labels=u.models)
        cpu = time.process_time()
        plt.build()
        plotext.append((time.process_time() - cpu) * 1000)
    return {"bars_cpu_ms": percentile(bars, 50), "plotext_cpu_ms": percentile(plotext, 50)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="database to use (built when missing)")
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = args.db or Path(tempfile.gettempdir()) / f"ccbrowser-bench-usage-{args.count}.db"
    if not db.exists():
        from ccbrowser.demo_corpus import build

        print(f"building {args.count:,} completions into {db} ...", file=sys.stderr)
        build(db, args.count, seed=1)
    else:
        from ccbrowser.store.db import open_db

        open_db(db).close()  # migrations (the cost columns) before the read-only measurements
    conn = sqlite3.connect(db)
    count = conn.execute("SELECT count(*) FROM completions").fetchone()[0]
    conn.close()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    reference = reference_ms()
    stored = store_times(db, args.runs)
    print(f"{count:,} completions; usage screen at {args.size}; reference loop {reference:.0f} ms")
    print(
        table(
            ["store", "matches", "p50 ms", "max ms", "NOT INDEXED ms", "speedup"],
            [
                [
                    k,
                    v["matches"] if v["matches"] is not None else count,
                    v["p50_ms"],
                    v["max_ms"],
                    v["baseline_ms"],
                    f"{v['baseline_ms'] / v['p50_ms']:.0f}x",
                ]
                for k, v in stored.items()
            ],  # fmt: skip
        )
    )
    charts = chart_times(db, (cols, rows), args.runs)
    print(
        f"cost chart at {cols}x{rows - 6}: widgets.bars {charts['bars_cpu_ms']:.1f} ms CPU, "
        f"plotext stacked bars (baseline) {charts['plotext_cpu_ms']:.1f} ms CPU"
    )
    opened = asyncio.run(open_times(db, (cols, rows), args.runs))
    after = reference_ms()
    target = TARGET_OPEN_MS if count < 500_000 else TARGET_OPEN_1M_MS
    print(
        table(
            [
                "open (u -> charts drawn)",
                "shown ms",
                "p50 ms",
                "max ms",
                "CPU p50 ms",
                "x ref loop",
                "target",
                "ok",
            ],
            [
                [
                    k,
                    v["shown_p50_ms"],
                    v["p50_ms"],
                    v["max_ms"],
                    v["cpu_p50_ms"],
                    f"{v['p50_ms'] / reference:.1f}",
                    target,
                    v["p50_ms"] <= target,
                ]
                for k, v in opened.items()
            ],  # fmt: skip
        )
    )
    print(f"reference loop after the openings: {after:.0f} ms")
    data = {
        "count": count,
        "size": args.size,
        "reference_ms": [reference, after],
        "store": stored,
        "chart": charts,
        "open": opened,
    }
    path = save("usage", data)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
