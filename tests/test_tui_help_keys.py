"""Keys and help: choosers take their numbers and letters, a remap that takes another action's key
warns, `?` is aligned and scrolls, the palette finds "go to", narrows the query, shows sync errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_tui_support import make_app
from textual.command import CommandPalette
from textual.containers import VerticalScroll

from ccbrowser.errors import CCBrowserError
from ccbrowser.tui import messages as msg
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.keymap import KEYS, conflicts
from ccbrowser.tui.screens.chooser import Chooser
from ccbrowser.tui.screens.help import HelpScreen, help_content
from ccbrowser.tui.screens.message import MessageScreen


def _one(db: Path, sql: str) -> tuple:  # type: ignore[type-arg]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


async def _go(app: CCBrowserApp, pilot, completion_id: str) -> None:  # type: ignore[no-untyped-def]
    app.go_to_id(completion_id)
    await pilot.pause()
    await app.wait_idle()


async def test_choosers_take_their_numbers_and_letters(sample: Path) -> None:
    multi = _one(sample, "SELECT id FROM completions WHERE tool_call_count >= 2 LIMIT 1")[0]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _go(app, pilot, multi)
        calls = app.detail.tool_calls  # type: ignore[union-attr]
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, Chooser)
        await pilot.press("2")  # the second tool call, by its number
        await pilot.pause()
        assert not isinstance(app.screen, Chooser)
        assert app.clipboard == calls[1].arguments
        await pilot.press("Y", "i")  # the copy menu: i for the id
        await pilot.pause()
        assert app.clipboard == multi
        await pilot.press("Y", "3")  # its third entry: the whole JSON
        await pilot.pause()
        assert app.clipboard == app.detail.raw_text  # type: ignore[union-attr]


def test_a_remap_onto_another_actions_key_is_found() -> None:
    found = conflicts({"app.sync": "q"})
    assert found and "q" in found[0] and "app.quit" in found[0] and "app.sync" in found[0]
    assert conflicts({"list.down": "ctrl+n,j"}) == []  # its own key again, and a free one
    assert conflicts({}) == []
    # the same key in two scopes that never share focus is no conflict (list j, detail j)
    assert not [c for c in conflicts({}) if "detail." in c]


async def test_a_conflicting_remap_warns_at_start(sample: Path) -> None:
    app = make_app(sample, keymap={"app.sync": "q"})
    async with app.run_test(size=(120, 36)):
        await app.wait_idle()
        warnings = [n for n in app._notifications if n.severity == "warning"]
        assert any("app.quit" in n.message and "app.sync" in n.message for n in warnings), warnings


def test_help_columns_are_aligned() -> None:
    lines = help_content({s.id: s.keys for s in KEYS}).plain.splitlines()
    starts = set()
    for spec in KEYS:
        line = next(line for line in lines if line.rstrip().endswith(spec.id))
        starts.add(line.index(spec.description))
    assert len(starts) == 1, starts


async def test_help_scrolls_with_page_keys(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_idle()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one("#help-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert 0 < scroll.scroll_y
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert scroll.scroll_y == 0


async def _palette_prompts(app: CCBrowserApp, pilot, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(0.6)
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one("CommandList").options  # type: ignore[attr-defined]
    return [str(o.prompt.plain if hasattr(o.prompt, "plain") else o.prompt) for o in options]


async def test_palette_finds_go_to_and_offers_no_word_as_an_id(sample: Path) -> None:
    ids = [r[0] for r in sqlite3.connect(sample).execute("SELECT id FROM completions ORDER BY created DESC")]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        prompts = await _palette_prompts(app, pilot, "go to")
        assert any(p.startswith("Go to id") for p in prompts), prompts
        await pilot.press("escape")
        prompts = await _palette_prompts(app, pilot, "refund")
        assert not any(p.startswith("Go to id") for p in prompts), prompts
        await pilot.press("escape")
        prompts = await _palette_prompts(app, pilot, f"go to {ids[42][:18]}")
        assert any(p.startswith("Go to id") and ids[42][:18] in p for p in prompts), prompts
        await pilot.press("enter")
        await pilot.pause()
        await app.wait_idle()
        assert app.detail is not None and app.detail.row.id == ids[42]


async def test_palette_filters_narrow_the_current_query(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("slash", *"refund", "enter")
        await pilot.pause(0.3)
        await app.wait_idle()
        model = app.detail.row.model  # type: ignore[union-attr]
        await _palette_prompts(app, pilot, f"filter model {model}")
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.wait_idle()
        assert app.query_text == f"refund model:{model}"


async def test_the_whole_sync_error_can_be_read(sample: Path) -> None:
    long = "sync failed: " + " ".join(f"part{i}" for i in range(80)) + " THE-END"
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        app.post_message(msg.SyncFinished(None, CCBrowserError(long)))
        await pilot.pause()
        await app.wait_idle()
        assert "THE-END" not in app.status.render_state().plain  # one line: cut
        prompts = await _palette_prompts(app, pilot, "sync error")
        assert any(p.startswith("Show the last sync error") for p in prompts), prompts
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        assert "THE-END" in app.screen.text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MessageScreen)
