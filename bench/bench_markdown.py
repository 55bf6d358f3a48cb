"""The Markdown view of a 2 MB message, shown in full: does the UI keep drawing frames?

    python bench/bench_markdown.py [--mb 2] [--size 160x48]

One completion whose reply is `--mb` MB of Markdown (headings, paragraphs, tables, code). The app
opens it, then `m` (Markdown) and `e` (everything) are pressed. While the tab renders, a frame
loop paints the screen every 16 ms (what a driver does) and records the longest gap between two
frames. Baseline, same run: the same build done on the UI thread (what the app did before a heavy
tab was moved to a thread), measured the same way. Target: no frame gap over 100 ms.

Prints a table and writes bench/results/markdown.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table  # noqa: E402

BLOCK = """## Section {n}

Some *emphasis*, **bold** and `inline code` in a paragraph that runs long enough to wrap at least
once in a narrow detail pane, with a [link](https://example.com/{n}).

| name | value | note |
|:-----|------:|------|
| alpha | {n} | first |
| beta | {m} | second |

```python
def handler_{n}(event):
    return {{"status": 200, "body": event["body"]}}
```

- one item
- another item, **bold**

"""


def markdown_text(megabytes: float) -> str:
    out, size, n = [], 0, 0
    while size < megabytes * 1_000_000:
        block = BLOCK.format(n=n, m=n * 7)
        out.append(block)
        size += len(block)
        n += 1
    return "".join(out)


def build_db(path: Path, text: str) -> None:
    from ccbrowser.store.db import open_db
    from ccbrowser.store.writer import Record, Writer

    completion = {
        "id": "chatcmpl-markdown",
        "object": "chat.completion",
        "created": 1_767_000_000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 500_000, "total_tokens": 500_010},
    }
    conn = open_db(path)
    Writer(conn).write([Record(completion, [{"role": "user", "content": "Write a long document."}])])
    conn.close()


async def frames_while(app: Any, done: Any, work: Any = None) -> dict[str, float]:
    """Paint every 16 ms until `done()`; the longest gap between two frames and the total time."""
    from bench_tui import _paint

    gaps: list[float] = []
    start = last = time.perf_counter()
    if work is not None:
        work()
    while not done():
        await asyncio.sleep(0.016)
        _paint(app)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        if now - start > 600:
            raise TimeoutError("the render did not finish in 10 minutes")
    end = time.perf_counter()
    slow = sorted(range(len(gaps)), key=lambda i: -gaps[i])[:5]
    return {
        "max_frame_ms": max(gaps, default=end - start) * 1000,
        "p99_frame_ms": sorted(gaps)[int(len(gaps) * 0.99)] * 1000 if gaps else (end - start) * 1000,
        "frames": len(gaps),
        "slowest_at_frame": [[i, round(gaps[i] * 1000, 1)] for i in slow],
        "render_s": end - start,
    }


async def measure(db: Path, size: tuple[int, int]) -> dict[str, Any]:
    from ccbrowser.tui import document
    from ccbrowser.tui.app import CCBrowserApp
    from ccbrowser.tui.widgets import detail as detail_module

    app = CCBrowserApp(
        db, sync=False, watch=False, system_clipboard=False, cursor_blink=False, sync_interval=0
    )
    app.animation_level = "none"
    out: dict[str, Any] = {}
    async with app.run_test(size=size) as pilot:
        await app.wait_idle()
        tabs = app.tabs
        assert tabs.detail is not None

        def rendered() -> bool:
            return "more characters" not in app.doc().plain and len(app.doc().plain) > 100_000

        # idle: the same frame loop with nothing rendering (what this machine allows)
        await pilot.press("m")
        await app.wait_idle()
        until = time.perf_counter() + 3
        out["idle"] = await frames_while(app, lambda: time.perf_counter() > until)
        # on a thread (the app as it is)
        out["thread"] = await frames_while(app, rendered, lambda: app.action_expand())
        rows = len(app.doc().plain.split("\n"))
        # baseline: the same build and wrap on the UI thread
        app.action_expand()
        await app.wait_idle()
        threshold = detail_module.THREAD_AT
        detail_module.THREAD_AT = 10**12
        try:
            out["ui_thread"] = await frames_while(app, rendered, lambda: app.action_expand())
        finally:
            detail_module.THREAD_AT = threshold
        out["rows"] = rows
        out["chars"] = len(document.output_text(tabs.detail))
        await pilot.press("q")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--size", default="160x48")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="ccbrowser-bench-") as tmp:
        db = Path(tmp) / "markdown.db"
        build_db(db, markdown_text(args.mb))
        r = asyncio.run(measure(db, (cols, rows)))
    thread, ui = r["thread"], r["ui_thread"]
    print(
        f"Markdown view of a {r['chars'] / 1e6:.1f} MB reply shown in full ({r['rows']:,} lines), {args.size}"
    )
    print(
        table(
            ["build", "longest frame gap (ms)", "p99 gap (ms)", "render (s)", "target", "ok"],
            [
                [
                    "on a thread (the app)",
                    thread["max_frame_ms"],
                    thread["p99_frame_ms"],
                    thread["render_s"],
                    100,
                    thread["max_frame_ms"] <= 100,
                ],
                [
                    "on the UI thread (baseline)",
                    ui["max_frame_ms"],
                    ui["p99_frame_ms"],
                    ui["render_s"],
                    "",
                    "",
                ],
                [
                    "idle (nothing rendering)",
                    r["idle"]["max_frame_ms"],
                    r["idle"]["p99_frame_ms"],
                    "",
                    "",
                    "",
                ],
            ],
        )
    )
    print(
        f"longest frame gap: {ui['max_frame_ms'] / max(thread['max_frame_ms'], 1e-9):.0f}x shorter than the baseline"
    )
    print(f"wrote {save('markdown', {'size': args.size, **r})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
