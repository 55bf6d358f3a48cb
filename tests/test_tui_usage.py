"""The usage screen (`u`) and the cost in the list and the detail, driven with Pilot on a real database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_tui_support import make_app

from ccbrowser.render import usd
from ccbrowser.safe import one_line
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Writer
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.screens.usage import UsageScreen
from ccbrowser.tui.widgets.bars import BarChart
from ccbrowser.tui.widgets.completion_list import format_row
from ccbrowser.tui.widgets.docview import DocView


def _sums(db: Path, where: str = "1") -> tuple[int, float, int]:
    conn = sqlite3.connect(db)
    try:
        n, cost, unknown = conn.execute(
            f"SELECT count(*), sum(cost_usd), count(*) - count(cost_usd) FROM completions WHERE {where}"
        ).fetchone()
    finally:
        conn.close()
    return n, cost, unknown


async def _open_usage(app: CCBrowserApp, pilot) -> UsageScreen:  # type: ignore[no-untyped-def]
    await pilot.press("u")
    await pilot.pause()
    await app.wait_idle()
    screen = app.screen
    assert isinstance(screen, UsageScreen) and screen.usage is not None
    return screen


async def test_u_shows_what_everything_cost_and_escape_closes(sample: Path) -> None:
    n, cost, unknown = _sums(sample)
    app = make_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_idle()
        screen = await _open_usage(app, pilot)
        u = screen.usage
        assert u is not None
        assert (u.completions, u.unknown) == (n, unknown)
        assert u.cost_usd == pytest.approx(cost)
        assert sum(sum(v) for v in u.day_cost.values()) <= cost + 1e-9  # the newest 30 days only
        head = str(screen.query_one("#usage-head").render())
        assert "estimates" in head and usd(cost) in head and f"{n:,} completions" in head
        # only the Cost tab is built when the screen opens; a tab is built when first shown
        assert screen.query("#usage-cost") and not screen.query("#usage-tokens, #usage-expensive")
        await pilot.press("right_square_bracket")
        await pilot.pause()
        await app.wait_idle()
        tokens = screen.query_one("#usage-tokens", BarChart)
        assert tokens.bars is not None and tokens.bars.title == "tokens per day"
        assert not screen.query("#usage-expensive")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, UsageScreen)


async def test_the_usage_of_the_current_query_and_enter_opens_the_most_expensive(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_idle()
        app.set_query("model:gpt-4o")
        await pilot.pause(0.3)
        await app.wait_idle()
        screen = await _open_usage(app, pilot)
        u = screen.usage
        assert u is not None
        n, cost, _ = _sums(sample, "model = 'gpt-4o'")
        assert u.completions == n and u.cost_usd == pytest.approx(cost)
        assert [m.name for m in u.top_models] == ["gpt-4o"]
        conn = sqlite3.connect(sample)
        top = conn.execute(
            "SELECT id FROM completions WHERE model = 'gpt-4o' ORDER BY cost_usd DESC, pk DESC LIMIT 2"
        ).fetchall()
        conn.close()
        assert [e.id for e in u.expensive[:2]] == [r[0] for r in top]
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.press("right_square_bracket")  # the Most expensive tab: the table has focus
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await app.wait_idle()
        assert not isinstance(app.screen, UsageScreen)
        assert app.detail is not None and app.detail.row.id == top[1][0]
        assert isinstance(app.focused, DocView)  # opened: its detail is read, as enter on a row


async def test_enter_on_the_most_expensive_shows_its_detail_in_a_narrow_terminal(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_idle()
        screen = await _open_usage(app, pilot)
        assert screen.usage is not None
        first = screen.usage.expensive[0].id
        await pilot.press("left_square_bracket")  # the last tab: Most expensive
        await pilot.pause()
        await app.wait_idle()
        await pilot.press("enter")
        await pilot.pause()
        await app.wait_idle()
        assert not isinstance(app.screen, UsageScreen)
        assert app.detail is not None and app.detail.row.id == first
        assert isinstance(app.focused, DocView) and app.panes.pane == "detail"
        assert app.doc().region.width > 0 and app.completion_list.region.width == 0  # one pane: the detail


async def test_the_main_screens_keys_do_nothing_over_the_usage_screen(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        screen = await _open_usage(app, pilot)
        keys = {b.binding.key for b in screen.active_bindings.values() if b.enabled}
        assert {"s", "c", "y", "slash"}.isdisjoint(keys) and "question_mark" in keys
        await pilot.press("s", "c", "t")  # star, the conversation list, tag: not under this screen
        await pilot.pause()
        await app.wait_idle()
        assert app.screen is screen and not app.conversations.display
        conn = sqlite3.connect(sample)
        assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0
        conn.close()
        await pilot.press("escape", "s")  # on the main screen again: `s` stars
        await pilot.pause()
        await app.wait_idle()
        conn = sqlite3.connect(sample)
        assert conn.execute("SELECT count(*) FROM labels WHERE starred = 1").fetchone()[0] == 1
        conn.close()


async def test_the_palette_opens_the_usage_screen(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"usage and costs")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        await app.wait_idle()
        assert isinstance(app.screen, UsageScreen)


async def test_the_detail_usage_tab_shows_the_price_breakdown(sample: Path) -> None:
    conn = sqlite3.connect(sample)
    cid, cost = conn.execute(
        "SELECT id, cost_usd FROM completions WHERE cached_tokens > 0 AND cost_source = 'estimate' LIMIT 1"
    ).fetchone()
    conn.close()
    app = make_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_idle()
        for _ in range(200):  # the price data loads in its own thread
            if app.prices.get() is not None:
                break
            await pilot.pause(0.05)
        app.go_to_id(cid)
        await pilot.pause()
        await app.wait_idle()
        assert app.detail is not None and app.detail.price is not None
        app.tabs.active = "tab-usage"
        await pilot.pause()
        await app.wait_idle()
        text = app.doc().plain
        assert "Cost (estimate)" in text and usd(cost) in text
        assert "cached input (cache read)" in text and "/1M" in text and "genai-prices" in text
        assert app.detail.price.usd_float == pytest.approx(cost)


def test_the_list_row_carries_the_cost(sample: Path) -> None:
    from ccbrowser.store import reader

    conn = open_db(sample)
    row = reader.page(conn, limit=1)[0]
    assert row.cost_usd is not None
    assert usd(row.cost_usd, "?", short=True) in format_row(row, 80).plain
    assert usd(row.cost_usd, "?", short=True) not in format_row(row, 40).plain  # a narrow pane drops it


async def test_hostile_model_names_are_shown_not_obeyed(db_path: Path) -> None:
    evil = "[bold red]x\x1b[2J\x1b]0;owned\x07"
    conn = open_db(db_path)
    Writer(conn).write(
        [
            {
                "id": f"chatcmpl-evil-{i}",
                "created": 1_767_000_000 + i,
                "model": evil,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12, "cost": 0.5},
                "metadata": {evil: evil},
            }
            for i in range(3)
        ]
    )
    conn.close()
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_idle()
        screen = await _open_usage(app, pilot)
        assert screen.usage is not None and screen.usage.reported == 3
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.pause()
        top = str(screen.query_one("#usage-top").render())
        assert "[bold red]x" in top and "\x1b" not in top  # shown as text, escapes made visible


def test_the_usage_sums_agree_with_plain_sql(sample: Path) -> None:
    """store.usage through its covering index vs. the same sums read straight from the rows."""
    from ccbrowser import search
    from ccbrowser.store.usage import OTHER, top_values, usage

    conn = open_db(sample)
    for text in ("", "model:gpt-4o", "tool:refund_order", "refund"):
        pks = None if not text else search.matching_pks(conn, search.parse(text))
        scope = "1" if pks is None else f"c.pk IN ({','.join(map(str, pks))})"
        u = usage(conn, pks, days=10_000, top=100, series=100)
        n, cost, unknown = conn.execute(
            f"SELECT count(*), sum(cost_usd), count(*) - count(cost_usd) FROM completions c WHERE {scope}"
        ).fetchone()
        assert (u.completions, u.unknown) == (n, unknown) and u.cost_usd == pytest.approx(cost), text
        assert OTHER not in u.models  # with series=100 every model is its own series
        assert sum(sum(v) for v in u.day_cost.values()) == pytest.approx(cost), text
        tools, meta = top_values(conn, pks, top=3)
        want_tools = conn.execute(
            "SELECT name, sum(cost_usd) FROM (SELECT DISTINCT t.completion, t.name, c.cost_usd FROM tool_calls t "
            f"JOIN completions c ON c.pk = t.completion WHERE t.name IS NOT NULL AND {scope}) "
            "GROUP BY name ORDER BY 2 DESC LIMIT 3"
        ).fetchall()
        assert [(r.name, pytest.approx(r.cost_usd)) for r in tools] == want_tools, text
        want_meta = conn.execute(
            "SELECT m.key || '=' || coalesce(m.value, ''), sum(c.cost_usd) FROM completion_metadata m "
            f"JOIN completions c ON c.pk = m.completion WHERE {scope} GROUP BY m.key, m.value ORDER BY 2 DESC LIMIT 3"
        ).fetchall()
        assert [(r.name, pytest.approx(r.cost_usd)) for r in meta] == want_meta, text
        want_top = conn.execute(
            f"SELECT id FROM completions c WHERE cost_usd IS NOT NULL AND {scope} ORDER BY cost_usd DESC, pk DESC LIMIT 20"
        ).fetchall()
        assert [e.id for e in u.expensive] == [r[0] for r in want_top], text


def test_the_stacked_bars_are_as_tall_as_their_sums_and_names_stay_text() -> None:
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text
    from textual.geometry import Size

    from ccbrowser.tui.widgets.bars import BLOCKS, Bars, draw

    evil = "[bold]m\x1b[2J"
    bars = Bars(
        "cost", ["01-01", "01-02", "01-03"], ["a", one_line(evil)], [[1.0, 0.0, 3.0], [1.0, 1.0, 1.0]], str
    )
    lines = draw(bars, Size(40, 16))
    assert lines[0].plain.strip() == "cost" and "[bold]m" in lines[1].plain and "\x1b" not in lines[1].plain
    plot = [line for line in lines if "│" in line.plain or "┤" in line.plain]
    start = plot[0].plain.index("│") + 1 if "│" in plot[0].plain else plot[0].plain.index("┤") + 1

    console = Console()

    def cells(line: Text) -> list[tuple[str, Style | None]]:
        return [(ch, seg.style) for seg in line.render(console) for ch in seg.text]

    def height(column: int) -> int:  # eighths filled from the bottom (a cell with a background: full)
        drawn = [cells(line)[start + column] for line in plot]
        return sum(8 if style is not None and style.bgcolor else BLOCKS.index(ch) for ch, style in drawn)

    slot = (40 - start) / 3
    first, second, third = (height(int(i * slot)) for i in range(3))
    assert third == 2 * first == 4 * second > 0  # totals 2, 1 and 4
    assert lines[-1].plain.split() == ["01-01", "01-02", "01-03"]  # every date fits under its bar


async def test_closing_the_screen_abandons_a_long_usage_read_and_detail_reads_never_wait(
    sample: Path,
) -> None:
    """The usage aggregates run on a lane of their own: a read of seconds (the top tools and
    metadata at 1M) neither delays a detail read nor outlives the screen (`stop_usage`)."""
    import asyncio
    import time
    from functools import partial

    from ccbrowser.store import reader
    from ccbrowser.tui.reads import Cancelled, Reads

    def endless(conn: sqlite3.Connection) -> int:
        sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        return int(conn.execute(sql).fetchone()[0])

    reads = Reads(sample)
    try:
        long = asyncio.ensure_future(reads.usage(endless))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        rows = await asyncio.wait_for(reads.read(partial(reader.page, limit=1)), 5)  # answered meanwhile
        assert await asyncio.wait_for(reads.read(reader.detail_by_pk, rows[0].pk), 5) is not None
        assert time.monotonic() - start < 2 and not long.done()
        reads.stop_usage()
        with pytest.raises(Cancelled):
            await asyncio.wait_for(long, 5)
        assert (await reads.usage(lambda conn: conn.execute("SELECT 1").fetchone()[0])) == 1  # next one runs
    finally:
        reads.close()
