"""Small terminals and live sync: the layout fits, survives a resize, and rows never flicker.

Sizes follow what users run: 60x15 (a split tmux pane), 80x24 (the classic default), 100x30 and
160x48. Below `layout.ONE_PANE_BELOW` columns one pane shows at a time (`enter` / `esc` switch);
`+` maximises the focused pane at any width.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_support import make_app, sample_db

from ccbrowser.demo_corpus import FROZEN_NOW
from ccbrowser.emulator.corpus import Corpus
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer
from ccbrowser.tui import layout
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.widgets.completion_list import format_row


def _shown(app: CCBrowserApp) -> tuple[bool, bool]:
    """Whether the list and the detail take space on the screen."""
    lst, tabs = app.query_one("#list"), app.query_one("#tabs")
    return lst.display and lst.region.width > 0, tabs.display and tabs.region.width > 0


def _geometry(app: CCBrowserApp) -> tuple[object, ...]:
    lst, tabs = app.query_one("#list"), app.query_one("#tabs")
    return (lst.region, tabs.region, lst.display, tabs.display, sorted(app.screen.classes))


def _line(app: CCBrowserApp, y: int) -> str:
    return app.completion_list.render_line(y).text


@pytest.mark.parametrize("size", [(60, 15), (80, 24)])
async def test_one_pane_below_the_width(sample: Path, size: tuple[int, int]) -> None:
    app = make_app(sample)
    async with app.run_test(size=size) as pilot:
        await app.wait_idle()
        assert _shown(app) == (True, False)
        assert app.completion_list.region.width == size[0]  # the whole width for the list
        await pilot.press("enter")
        await app.wait_idle()
        assert _shown(app) == (False, True)
        assert app.query_one("#tabs").region.width == size[0]
        await pilot.press("escape")
        await app.wait_idle()
        assert _shown(app) == (True, False)
        await pilot.press("tab")  # tab switches the one pane too
        await app.wait_idle()
        assert _shown(app) == (False, True)
        await pilot.press("plus")  # already one pane: says so, changes nothing
        await app.wait_idle()
        assert _shown(app) == (False, True) and app.panes.maximised is None
        assert any("One pane" in n.message for n in app._notifications)


async def test_both_panes_at_100_columns(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.wait_idle()
        assert _shown(app) == (True, True)
        await pilot.press("plus")
        await app.wait_idle()
        assert _shown(app) == (True, False)  # the focused pane maximised
        assert app.completion_list.region.width == 100
        await pilot.press("tab")
        await app.wait_idle()
        assert _shown(app) == (False, True)  # the maximised pane follows focus
        await pilot.press("plus")
        await app.wait_idle()
        assert _shown(app) == (True, True)


@pytest.mark.parametrize("start,then", [((160, 48), (80, 24)), ((80, 24), (160, 48)), ((160, 48), (100, 30))])
async def test_a_resize_gives_the_layout_of_a_fresh_start(
    sample: Path, tmp_path: Path, start: tuple[int, int], then: tuple[int, int]
) -> None:
    fresh = make_app(sample)
    async with fresh.run_test(size=then):
        await fresh.wait_idle()
        expected = _geometry(fresh)
    app = make_app(sample)
    async with app.run_test(size=start) as pilot:
        await app.wait_idle()
        await pilot.resize_terminal(*then)
        await pilot.pause()
        await app.wait_idle()
        assert _geometry(app) == expected


def _row(cache_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from ccbrowser.store import reader

    db = sample_db(tmp_path / "rows.db", cache_dir)
    conn = open_db(db)
    try:
        pks = reader.all_pks(conn)
        return next(
            r
            for r in reader.rows_by_pk(conn, pks[:50])
            if r.total_tokens and r.model and "-20" not in r.model
        )
    finally:
        conn.close()


def test_columns_shrink_by_priority(cache_dir: Path, tmp_path: Path) -> None:
    """Every width gets exactly its cells; the date is never cut, tokens stay down to 40 cells,
    the model down to 48."""
    row = _row(cache_dir, tmp_path)
    from datetime import datetime

    day = datetime.fromtimestamp(row.created).strftime("%m-%d %H:%M")
    tokens = f"{row.total_tokens:,}" if row.total_tokens < 10_000 else f"{row.total_tokens / 1000:.0f}k"
    for width in range(30, 170):
        text = format_row(row, width).plain
        assert len(text) == width, width
        assert day in text, (width, text)
        if width >= 40:
            assert tokens in text, (width, text)
        if width >= 48:
            assert (row.model or "")[:6] in text, (width, text)


def test_model_column_tells_dated_snapshots_apart(cache_dir: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    row = _row(cache_dir, tmp_path)
    dated = replace(row, model="gpt-4o-mini-2024-07-18")
    other = replace(row, model="gpt-4o-mini-2024-09-30")
    for width in (60, 80, 100, 160):
        a, b = format_row(dated, width).plain, format_row(other, width).plain
        assert a != b, width
        assert "07-18" in a and "09-30" in b, (width, a)


def test_one_pane_width_is_the_rule() -> None:
    assert layout.classes(80, None, "list") == {"-one-pane", "-show-list"}
    assert layout.classes(120, None, "detail") == set()
    assert layout.classes(120, "list", "detail") == {"-one-pane", "-show-detail"}
    assert layout.classes(160, None, "list") == {"-wide"}


# -- live sync --------------------------------------------------------------------------------


def _write_newer(db: Path, n: int, seed: int = 99) -> None:
    """`n` completions newer than every one in the sample (a corpus spreads them over weeks)."""
    corpus = Corpus(n, seed=seed, now=FROZEN_NOW + 400 * 86400)
    conn = open_db(db)
    Writer(conn).write([Record(*corpus.pair(i)) for i in range(n)])
    conn.close()


async def test_rows_keep_their_text_while_a_new_snapshot_is_read(sample: Path) -> None:
    """A sync commits, the list gets a new snapshot: the old rows stay until the new page is read."""
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("j", "j", "j")
        await app.wait_idle()
        lst = app.completion_list
        before = [_line(app, y) for y in range(10)]
        assert not any(line.strip() == "…" for line in before)
        _write_newer(sample, 3)
        from ccbrowser.store import reader

        pks = await app.reads.read(reader.all_pks)
        lst.set_snapshot(pks, keep_pk=lst.current_pk)
        during = [_line(app, y) for y in range(10)]  # nothing has been read for the new snapshot yet
        assert not any(line.strip() == "…" for line in during), during
        assert during == before  # the same completions at the same places on the screen


async def test_new_rows_above_the_viewport_are_announced(sample: Path) -> None:
    app = make_app(sample, watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("j", "j")
        await app.wait_idle()
        lst = app.completion_list
        assert "new" not in str(lst.border_title)
        _write_newer(sample, 4)
        for _ in range(60):
            await pilot.pause(0.05)
            if lst.new_above:
                break
        await app.wait_idle()
        assert lst.new_above == 4
        assert "4 new ↑" in str(lst.border_title)
        await pilot.press("g")  # to the top: the new rows are in view, the cue goes
        await app.wait_idle()
        assert lst.cursor == 0 and lst.new_above == 0
        assert "new" not in str(lst.border_title)
