"""TUI responsiveness on a large database (docs/architecture.md section 9).

    python bench/bench_tui.py [--count 100000] [--cached] [--db PATH] [--size 160x48] [--runs 3]

Uses (or builds) a database of `count` corpus completions, then measures each run in a fresh
child process, so that peak RSS is the TUI's own:

- first paint: app constructed -> first page of rows and the first detail on the screen (and,
  beside it, when every key is in the list: start-up reads the newest screenfuls first);
- move -> detail: cursor move (next row, and random jumps that need a page read) -> the new
  completion's detail built and the screen painted; p50 / p95;
- keystroke -> results: each prefix of a fixed query mix, typed one character at a time ->
  the first screenful of matches listed, its first detail built, the screen painted (the typing
  debounce is excluded: it is a deliberate wait, not work); p50 / p95, and the worst prefix;
- peak RSS of the child process (the database is opened as it is: a large -wal counts).

"Painted" is the app's own frame: the compositor's update of what changed (Textual's partial
update), turned into the bytes a terminal driver writes (`--paint frame`, the default). `--paint
full` adds what the first version of this benchmark did instead: a full-screen composite and a
Rich print of it after each step, on top of the app's own frame (kept to compare with older
figures). The same-run baseline is one full-screen frame of the idle app (composite + bytes):
what the machine takes for one repaint of everything at this size under the current load.

Each step also reports the CPU time of the process (all threads): on a shared, loaded machine a
wall time is mostly the wait for a core, the CPU time is what the app spent.

Targets: first paint <= 0.5 s, move -> detail p95 <= 30 ms, keystroke -> results p95 <= 60 ms
with the worst prefix <= 150 ms, peak RSS <= 100 MB. Prints each with yes/no (every run must
meet it) and writes bench/results/tui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
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
TARGETS = {
    "first_paint_s": 0.5,
    "move_detail_ms_p95": 30.0,
    "keystroke_results_ms_p95": 60.0,
    "worst_keystroke_ms": 150.0,
    "peak_rss_mb": 100.0,
}


async def _until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.0005)


def _write_frames(app: Any) -> None:
    """The headless driver composes each frame but writes nothing: turn each update into the
    terminal bytes a real driver would write, so that cost is counted too."""
    from textual._compositor import CompositorUpdate

    display = app._display

    def _display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)

    app._display = _display


def _pending(app: Any) -> bool:
    screen = app.screen
    if (
        screen._dirty_widgets
        or screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
    ):
        return True
    return any(w._repaint_required or w._layout_required for w in screen.walk_children(with_self=False))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _painted(app: Any) -> None:
    """Wait for the app's next frame, until nothing is left to paint."""
    loop = asyncio.get_running_loop()
    for _ in range(100):
        done: asyncio.Future[None] = loop.create_future()
        app.screen.call_after_refresh(_resolve, done)
        await asyncio.wait_for(done, 30)
        if not _pending(app):
            return
    raise TimeoutError("the screen kept repainting")


def _full_paint(app: Any) -> None:
    """A full-screen composite printed with Rich (the first version's per-step paint)."""
    update = app.screen._compositor.render_full_update()
    with app.console.capture():
        app.console.print(update, end="")


def _frame_baseline(app: Any, n: int = 30) -> float:
    """One full-screen frame of the idle app, composite + terminal bytes (ms, median of n)."""
    times = []
    for _ in range(n):
        with timer() as t:
            app.screen._compositor.render_full_update().render_segments(app.console)
        times.append(t() * 1000)
    return statistics.median(times)


class _Step:
    """Wall time and the process's CPU time (every thread) of one step, in ms."""

    def __enter__(self) -> _Step:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = (time.perf_counter() - self.wall) * 1000
        self.cpu = (time.process_time() - self.cpu) * 1000


async def measure(db: Path, size: tuple[int, int], moves: int, jumps: int, paint: str) -> dict[str, Any]:
    from ccbrowser.tui.app import CCBrowserApp

    t0, c0 = time.perf_counter(), time.process_time()
    app = CCBrowserApp(
        db, sync=False, watch=False, system_clipboard=False, cursor_blink=False, sync_interval=0
    )
    app.animation_level = "none"
    _write_frames(app)
    out: dict[str, Any] = {}

    async def painted() -> None:
        await _painted(app)
        if paint == "full":
            _full_paint(app)

    async with app.run_test(size=size) as pilot:
        lst = app.completion_list
        await _until(lambda: lst.row_at(0) is not None and app.detail is not None)
        await painted()
        out["first_paint_s"] = time.perf_counter() - t0
        out["first_paint_cpu_s"] = time.process_time() - c0
        # the whole snapshot follows the first screenful (start-up's second step)
        await _until(lambda: len(lst.pks) == app.status.state.total)
        out["full_snapshot_s"] = time.perf_counter() - t0
        out["rows"] = len(lst.pks)
        await asyncio.sleep(0.5)  # the price data loads after the first page
        out["frame_ms"] = _frame_baseline(app)

        def detail_ready() -> bool:
            return app.detail is not None and app.detail.row.pk == lst.current_pk

        async def step_done() -> None:
            await _until(detail_ready)
            await _until(lambda: lst.row_at(lst.cursor) is not None)
            await painted()

        move_ms: list[float] = []
        cpu_ms: list[float] = []
        for _ in range(moves):
            with _Step() as step:
                lst.action_cursor_down()
                await step_done()
            move_ms.append(step.wall)
            cpu_ms.append(step.cpu)
        rng = random.Random(7)
        jump_ms: list[float] = []
        for _ in range(jumps):
            target = rng.randrange(len(lst.pks))
            with _Step() as step:
                lst.move_to(target)
                await step_done()
            jump_ms.append(step.wall)
            cpu_ms.append(step.cpu)
        out["move_ms"] = move_ms
        out["jump_ms"] = jump_ms
        out["move_cpu_ms"] = cpu_ms

        key_ms: list[float] = []
        key_cpu_ms: list[float] = []
        per_query: dict[str, float] = {}
        worst_prefix: dict[str, str] = {}
        for q in QUERIES:
            worst = 0.0
            for n in range(1, len(q) + 1):
                prefix = q[:n]
                gen = app._query_gen
                with _Step() as step:
                    app.set_query(prefix)
                    if app._query_gen != gen:  # a valid query (else "model:": a message only)
                        # the list shows this query's rows (the first screenful may come
                        # before the full count) and the detail follows
                        await _until(
                            lambda: lst.query_generation == app._query_gen or not app.status.state.searching
                        )
                        await _until(lambda: not lst.pks or lst.row_at(lst.cursor) is not None)
                        await _until(lambda: not lst.pks or detail_ready())
                    await painted()
                key_ms.append(step.wall)
                key_cpu_ms.append(step.cpu)
                await _until(
                    lambda: not app.status.state.searching, timeout=120
                )  # let the full snapshot land
                if key_ms[-1] > worst:
                    worst, worst_prefix[q] = key_ms[-1], prefix
            per_query[q] = worst
        out["key_ms"] = key_ms
        out["key_cpu_ms"] = key_cpu_ms
        out["worst_key_ms_by_query"] = per_query
        out["worst_prefix_by_query"] = worst_prefix
        await pilot.press("q")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def build_db(path: Path, count: int) -> float:
    from ccbrowser.demo_corpus import build

    with timer() as t:
        build(path, count, seed=1)
    return t()


def summarise(r: dict[str, Any]) -> dict[str, Any]:
    """One run's figures, as targeted."""
    moves = r["move_ms"] + r["jump_ms"]
    return {
        "first_paint_s": r["first_paint_s"],
        "full_snapshot_s": r["full_snapshot_s"],
        "move_detail_ms_p50": percentile(moves, 50),
        "move_detail_ms_p95": percentile(moves, 95),
        "next_row_ms_p95": percentile(r["move_ms"], 95),
        "random_jump_ms_p95": percentile(r["jump_ms"], 95),
        "keystroke_results_ms_p50": percentile(r["key_ms"], 50),
        "keystroke_results_ms_p95": percentile(r["key_ms"], 95),
        "worst_keystroke_ms": max(r["key_ms"]),
        "first_paint_cpu_s": r["first_paint_cpu_s"],
        "move_cpu_ms_p50": percentile(r["move_cpu_ms"], 50),
        "move_cpu_ms_p95": percentile(r["move_cpu_ms"], 95),
        "keystroke_cpu_ms_p50": percentile(r["key_cpu_ms"], 50),
        "keystroke_cpu_ms_p95": percentile(r["key_cpu_ms"], 95),
        "peak_rss_mb": r["peak_rss_mb"],
        "frame_ms": r["frame_ms"],
        "worst_keystroke_ms_by_query": r["worst_key_ms_by_query"],
        "worst_prefix_by_query": r["worst_prefix_by_query"],
    }


def _range(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    fmt = (lambda v: f"{v:.2f}") if hi < 10 else (lambda v: f"{v:.0f}")
    return fmt(lo) if len(values) == 1 else f"{fmt(lo)}-{fmt(hi)}"


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
    parser.add_argument("--runs", type=int, default=1, help="child processes, one after another")
    parser.add_argument(
        "--paint",
        choices=("frame", "full"),
        default="frame",
        help="frame: the app's own frames; full: also a full-screen composite per step (older figures)",
    )
    parser.add_argument("--out", default="tui", help="name of the JSON file under bench/results")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    os.environ.setdefault("TZ", "UTC")

    if args.measure:
        result = asyncio.run(measure(args.measure, size, args.moves, args.jumps, args.paint))  # type: ignore[arg-type]
        print(json.dumps(result))
        return 0

    runs: list[dict[str, Any]] = []
    loads: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="ccbrowser-bench-") as tmp:
        if args.cached and not args.db:
            from corpus_db import ensure

            args.db = ensure(args.count)
        db = args.db or Path(tmp) / "bench.db"
        build_s = None
        if not db.exists():
            print(f"building a {args.count:,}-completion database…", file=sys.stderr)
            build_s = build_db(db, args.count)
        cmd = [sys.executable, __file__, "--measure", str(db), "--size", args.size, "--paint", args.paint]
        cmd += ["--moves", str(args.moves), "--jumps", str(args.jumps)]
        env = {**os.environ, "TZ": "UTC", "CCBROWSER_CONFIG": str(Path(tmp) / "none.toml")}
        for _ in range(args.runs):
            loads.append(os.getloadavg())
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            runs.append({"rows": r["rows"], **summarise(r)})

    def col(key: str) -> list[float]:
        return [run[key] for run in runs]

    def _pair(a: str, b: str) -> str:
        return f"{_range(col(a))} / {_range(col(b))}"

    def ok(key: str) -> str:
        return "yes" if max(col(key)) <= TARGETS[key] else "no"

    rows: list[list[Any]] = [
        ["first paint (s)", _range(col("first_paint_s")), TARGETS["first_paint_s"], ok("first_paint_s")],
        ["  every key listed (s)", _range(col("full_snapshot_s")), "", ""],
        ["move -> detail p50 (ms)", _range(col("move_detail_ms_p50")), "", ""],
        [
            "move -> detail p95 (ms)",
            _range(col("move_detail_ms_p95")),
            TARGETS["move_detail_ms_p95"],
            ok("move_detail_ms_p95"),
        ],
        ["  next row p95 (ms)", _range(col("next_row_ms_p95")), "", ""],
        ["  random jump p95 (ms)", _range(col("random_jump_ms_p95")), "", ""],
        ["keystroke -> results p50 (ms)", _range(col("keystroke_results_ms_p50")), "", ""],
        [
            "keystroke -> results p95 (ms)",
            _range(col("keystroke_results_ms_p95")),
            TARGETS["keystroke_results_ms_p95"],
            ok("keystroke_results_ms_p95"),
        ],
        [
            "worst keystroke (ms)",
            _range(col("worst_keystroke_ms")),
            TARGETS["worst_keystroke_ms"],
            ok("worst_keystroke_ms"),
        ],
        ["peak RSS (MB)", _range(col("peak_rss_mb")), TARGETS["peak_rss_mb"], ok("peak_rss_mb")],
        ["CPU (all threads): first paint (s)", _range(col("first_paint_cpu_s")), "", ""],
        ["CPU: move -> detail p50 / p95 (ms)", _pair("move_cpu_ms_p50", "move_cpu_ms_p95"), "", ""],
        [
            "CPU: keystroke -> results p50 / p95 (ms)",
            _pair("keystroke_cpu_ms_p50", "keystroke_cpu_ms_p95"),
            "",
            "",
        ],
        ["baseline: one full-screen frame (ms)", _range(col("frame_ms")), "", ""],
        [
            "move p95 / full frame",
            _range([r["move_detail_ms_p95"] / r["frame_ms"] for r in runs]),
            "",
            "",
        ],
    ]
    n = len(runs)
    print(f"TUI on {runs[0]['rows']:,} completions, terminal {args.size}, paint {args.paint}, {n} run(s)")
    print("load average before each run: " + "; ".join(" ".join(f"{x:.2f}" for x in la) for la in loads))
    print(table(["measure", "value" if n == 1 else "range", "target", "ok"], rows))
    for q in QUERIES:
        worst = [run["worst_keystroke_ms_by_query"][q] for run in runs]
        prefixes = sorted({run["worst_prefix_by_query"].get(q, "") for run in runs})
        print(f"  worst keystroke {q!r}: {_range(worst)} ms at {' / '.join(repr(p) for p in prefixes)}")
    data = {
        "rows": runs[0]["rows"],
        "size": args.size,
        "paint": args.paint,
        "build_s": build_s,
        "load_average": loads,
        "targets": TARGETS,
        "met": {key: ok(key) == "yes" for key in TARGETS},
        "runs": runs,
    }
    print(f"wrote {save(args.out, data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
