"""Regenerate `screenshots/*.svg` from the demo corpus with a frozen clock.

    python -m ccbrowser.tui.screenshots [--out screenshots] [--size 160x48]

The same scenarios drive the snapshot tests, so what the README shows is what the tests check.
Everything is deterministic: corpus seed and clock are fixed, TZ is UTC, the cursor does not
blink, animations are off, and the database lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ccbrowser import search
from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.store import reader
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.document import output_text

DEMO_SEED = 1
DEMO_COUNT = 3000

Scenario = Callable[[CCBrowserApp, Any], Awaitable[None]]


def first_match(
    app: CCBrowserApp, text: str, predicate: Callable[[reader.Detail], bool] | None = None
) -> str:
    """The id of the newest completion matching `text` (and `predicate`), read through the store API."""

    def find(conn: Any) -> str:
        for pk in search.matching_pks(conn, search.parse(text, now=FROZEN_NOW), sort="newest")[:200]:
            d = reader.detail_by_pk(conn, pk)
            if d is not None and (predicate is None or predicate(d)):
                return d.row.id
        raise LookupError(f"no completion matches {text!r}")

    return app.reads.read_sync(find)


async def _go(app: CCBrowserApp, pilot: Any, completion_id: str) -> None:
    app.go_to_id(completion_id)
    await pilot.pause()
    await app.wait_idle()


async def main_view(app: CCBrowserApp, pilot: Any) -> None:
    """The list and the conversation of a support chat with a tool call."""
    await app.wait_idle()
    cid = first_match(app, "has:tools", lambda d: d.row.messages_state == "ok" and len(d.input_messages) <= 4)
    await _go(app, pilot, cid)


async def search_view(app: CCBrowserApp, pilot: Any) -> None:
    """Search as you type: matches counted in the status bar, highlighted in the detail, `n` pressed."""
    await app.wait_idle()
    await pilot.press("slash", *"refund order", "enter")
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.press("tab", "n")
    await pilot.pause()


async def copied_view(app: CCBrowserApp, pilot: Any) -> None:
    """`y` on a completion with one tool call: the raw arguments copied, and how much."""
    await app.wait_idle()
    cid = first_match(app, "tool:refund_order", lambda d: len(d.tool_calls) == 1)
    await _go(app, pilot, cid)
    await pilot.press("right_square_bracket")  # Tools tab
    await pilot.press("y")
    await pilot.pause(0.2)


async def logprobs_view(app: CCBrowserApp, pilot: Any) -> None:
    """The Logprobs tab: tokens, probabilities and the top alternatives."""
    await app.wait_idle()
    cid = first_match(app, "has:logprobs", _rich_logprobs)
    await _go(app, pilot, cid)
    app.tabs.active = "tab-logprobs"
    await pilot.pause()


def _rich_logprobs(d: reader.Detail) -> bool:
    """A choice whose tokens carry several alternatives (some requests ask for none)."""
    for choice in d.raw.get("choices") or []:
        tokens = ((choice or {}).get("logprobs") or {}).get("content") or []
        if len(tokens) >= 8 and len(tokens[0].get("top_logprobs") or []) >= 3:
            return True
    return False


def chat_ids(app: CCBrowserApp, chat: str) -> list[str]:
    """The ids of one scripted conversation of the demo corpus (`emulator.corpus.chats`)."""
    from ccbrowser.emulator.corpus.chats import chats

    return [c.id for c in chats(FROZEN_NOW, DEMO_SEED) if c.chat == chat]


async def thread_view(app: CCBrowserApp, pilot: Any) -> None:
    """The Thread tab: a support chat read once, its tool loop folded, the selected turn marked."""
    await app.wait_idle()
    await _go(app, pilot, chat_ids(app, "support")[-1])
    app.tabs.active = "tab-thread"
    await pilot.pause()


async def conversations_view(app: CCBrowserApp, pilot: Any) -> None:
    """`c`: one row per conversation; the haiku chat's second branch, `b` pressed once."""
    await app.wait_idle()
    await pilot.press("c")
    await pilot.pause(0.3)
    await app.wait_idle()
    table = app.conversations
    root = chat_ids(app, "haiku")[0]
    table.move_cursor(row=table.get_row_index(root))
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.press("right_curly_bracket", "b")
    await pilot.pause(0.3)
    await app.wait_idle()


async def help_view(app: CCBrowserApp, pilot: Any) -> None:
    """`?`: every key in effect, with its binding id for remapping."""
    await app.wait_idle()
    await pilot.press("question_mark")
    await pilot.pause()


def _code_reply(d: reader.Detail) -> bool:
    return d.row.messages_state == "ok" and len(d.input_messages) <= 3 and "```" in output_text(d)


async def markdown_view(app: CCBrowserApp, pilot: Any) -> None:
    """`m`: a reply with a code block rendered as Markdown (highlighted), the system prompt folded."""
    await app.wait_idle()
    await _go(app, pilot, first_match(app, "python", _code_reply))
    await pilot.press("m")
    await app.wait_idle(timeout=60)  # a long reply is rendered on a thread
    await pilot.press("tab", "G")
    await pilot.pause()
    app.clear_notifications()  # they expire on the wall clock: a slow run would still show them


async def compare_view(app: CCBrowserApp, pilot: Any) -> None:
    """`=` on one completion, `d` on another: parameters, usage, inputs and outputs compared."""
    await app.wait_idle()
    first = first_match(app, "python", _code_reply)
    second = first_match(app, "python", lambda d: _code_reply(d) and d.row.id != first)
    await _go(app, pilot, first)
    await pilot.press("equals_sign")
    await _go(app, pilot, second)
    await pilot.press("d")
    await pilot.pause()
    await app.wait_idle(timeout=60)
    app.clear_notifications()  # "Marked …" expires on the wall clock
    await pilot.pause()


async def usage_view(app: CCBrowserApp, pilot: Any) -> None:
    """`u`: what everything cost per day, split by model (estimates from genai-prices)."""
    await app.wait_idle()
    await pilot.press("u")
    await pilot.pause()
    await app.wait_idle()
    await pilot.pause()


SCENARIOS: dict[str, Scenario] = {
    "main": main_view,
    "search": search_view,
    "copied": copied_view,
    "logprobs": logprobs_view,
    "help": help_view,
    "usage": usage_view,
    "thread": thread_view,
    "conversations": conversations_view,
    "markdown": markdown_view,
    "compare": compare_view,
}


def make_app(db: Path) -> CCBrowserApp:
    """The app as screenshots and snapshots see it: frozen, offline, still."""
    app = CCBrowserApp(
        db,
        sync=False,
        watch=False,
        system_clipboard=False,
        cursor_blink=False,
        clock=lambda: float(FROZEN_NOW),
        sync_interval=0,
    )
    app.animation_level = "none"
    return app


async def _shoot(db: Path, name: str, size: tuple[int, int]) -> str:
    app = make_app(db)
    async with app.run_test(size=size, notifications=True) as pilot:
        await SCENARIOS[name](app, pilot)
        await pilot.pause()
        return app.export_screenshot(title=f"ccbrowser — {name}")


def freeze_timezone() -> None:
    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ccbrowser.tui.screenshots", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="screenshots", help="output directory (default: screenshots)")
    parser.add_argument("--size", default="160x48", help="terminal size COLSxROWS (default 160x48)")
    parser.add_argument("--count", type=int, default=DEMO_COUNT, help="completions in the demo corpus")
    args = parser.parse_args(argv)
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    freeze_timezone()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ccbrowser-shots-") as tmp:
        db = build(Path(tmp) / "demo.db", args.count, seed=DEMO_SEED, chats=True)
        for name in SCENARIOS:
            svg = asyncio.run(_shoot(db, name, (cols, rows)))
            path = out / f"{name}.svg"
            path.write_text(svg, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
