"""Pilot tests of the TUI: navigation, search, tabs, copy, help, palette, live refresh, offline."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_tui_support import make_app, newest_first_ids

from ccbrowser.demo_corpus import FROZEN_NOW
from ccbrowser.emulator.corpus import Corpus
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.keymap import KEYS, KeymapError, load_keymap
from ccbrowser.tui.screens.chooser import Chooser
from ccbrowser.tui.screens.help import HelpScreen
from ccbrowser.tui.widgets.docview import DocView


def _one(db: Path, sql: str) -> tuple:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(sql).fetchone()
    finally:
        conn.close()
    assert row is not None, sql
    return row


async def _select(app: CCBrowserApp, pilot, completion_id: str) -> None:
    app.go_to_id(completion_id)
    await pilot.pause()
    await app.wait_idle()
    assert app.detail is not None and app.detail.row.id == completion_id


async def test_opens_lists_and_navigates(sample: Path) -> None:
    ids = newest_first_ids(sample)
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        lst = app.completion_list
        assert len(lst.pks) == len(ids)
        assert app.focused is lst
        assert app.detail is not None and app.detail.row.id == ids[0]
        await pilot.press("j", "j", "down")
        await app.wait_idle()
        assert lst.cursor == 3 and app.detail.row.id == ids[3]
        await pilot.press("k")
        await app.wait_idle()
        assert app.detail.row.id == ids[2]
        await pilot.press("G")
        await app.wait_idle()
        assert lst.cursor == len(ids) - 1 and app.detail.row.id == ids[-1]
        await pilot.press("g")
        await app.wait_idle()
        assert lst.cursor == 0
        await pilot.press("ctrl+d")
        await app.wait_idle()
        page = lst.cursor
        assert page > 5
        await pilot.press("ctrl+u")
        await app.wait_idle()
        assert lst.cursor == 0
        # the visible rows are rendered from the page cache, never a widget per row
        assert lst.row_at(0) is not None and lst.row_at(0).id == ids[0]  # type: ignore[union-attr]
        await pilot.press("enter")
        assert isinstance(app.focused, DocView)
        await pilot.press("escape")
        assert app.focused is lst
        await pilot.press("tab")
        assert isinstance(app.focused, DocView)
        await pilot.press("tab")
        assert app.focused is lst
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_every_tab_renders(sample: Path) -> None:
    cid = _one(sample, "SELECT id FROM completions WHERE has_logprobs = 1 AND tool_call_count = 0 LIMIT 1")[0]
    tool_id = _one(sample, "SELECT id FROM completions WHERE tool_call_count >= 1 LIMIT 1")[0]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _select(app, pilot, cid)
        seen = []
        for _ in range(6):
            seen.append(app.active_tab)
            text = app.doc().plain
            assert text.strip(), app.active_tab
            if app.active_tab == "logprobs":
                assert "top alternatives" in text
            if app.active_tab == "raw":
                assert json.loads(app.detail.raw_text)["id"] == cid  # type: ignore[union-attr]
                assert cid in text
            if app.active_tab == "usage":
                assert "total tokens" in text and "Metadata" in text
            await pilot.press("]")
            await pilot.pause()
        assert seen == ["conversation", "thread", "tools", "usage", "logprobs", "raw"]
        assert app.active_tab == "conversation"
        await pilot.press("[")
        await pilot.pause()
        assert app.active_tab == "raw"
        await _select(app, pilot, tool_id)
        await pilot.press("]")  # raw -> conversation
        await pilot.press("]")  # thread
        await pilot.press("]")  # tools
        await pilot.pause()
        assert app.active_tab == "tools"
        name = app.detail.tool_calls[0].name  # type: ignore[union-attr]
        assert name and name in app.doc().plain
        conv = app.doc("conversation")
        app.tabs.active = "tab-conversation"
        await pilot.pause()
        assert "OUTPUT" in conv.plain and "▸ tool call" in conv.plain


async def test_copy_tool_call_arguments_is_raw(sample: Path) -> None:
    cid, args = _one(
        sample,
        "SELECT c.id, t.arguments FROM completions c JOIN tool_calls t ON t.completion = c.pk "
        "WHERE c.tool_call_count = 1 LIMIT 1",
    )
    multi = _one(sample, "SELECT id FROM completions WHERE tool_call_count >= 2 LIMIT 1")[0]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _select(app, pilot, cid)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == args
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("Copied arguments of ") and "bytes" in m for m in notes), notes
        # several calls: a chooser, then the chosen call's raw arguments
        await _select(app, pilot, multi)
        calls = app.detail.tool_calls  # type: ignore[union-attr]
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, Chooser)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.clipboard == calls[1].arguments
        # the copy menu: the whole JSON, verbatim
        await pilot.press("Y")
        await pilot.pause()
        assert isinstance(app.screen, Chooser)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.clipboard == app.detail.raw_text  # type: ignore[union-attr]
        await pilot.press("Y")
        await pilot.pause()
        await pilot.press("enter")  # id
        await pilot.pause()
        assert app.clipboard == multi


async def test_no_tool_call_says_so(sample: Path) -> None:
    cid = _one(sample, "SELECT id FROM completions WHERE tool_call_count = 0 LIMIT 1")[0]
    app = make_app(sample)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.wait_idle()
        await _select(app, pilot, cid)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == ""
        assert any("No tool call" in n.message for n in app._notifications)


async def test_search_as_you_type_and_bad_query(sample: Path) -> None:
    model = _one(sample, "SELECT model FROM completions GROUP BY model ORDER BY count(*) DESC LIMIT 1")[0]
    n_model = _one(sample, f"SELECT count(*) FROM completions WHERE model = '{model}'")[0]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("/")
        assert app.focused.id == "search"  # type: ignore[union-attr]
        await pilot.press(*f"model:{model}")
        await pilot.pause(0.3)
        await app.wait_idle()
        assert len(app.completion_list.pks) == n_model
        assert app.status.state.matches == n_model
        assert app.detail is not None and app.detail.row.model == model
        # a bad query: a clear message under the bar, the results stay. Set in one edit (as a
        # paste would): keys typed one by one may let the debounce run `model:X tokens` first.
        from textual.widgets import Input

        app.query_one("#search", Input).value = f"model:{model} tokens:abc"
        await pilot.pause(0.3)
        await app.wait_idle()
        error = app.query_one("#query-error")
        assert error.display and "tokens" in str(error.render())
        assert len(app.completion_list.pks) == n_model
        # escape leaves the bar, escape again clears the query
        await pilot.press("escape")
        assert app.focused is app.completion_list
        await pilot.press("escape")
        await pilot.pause(0.3)
        await app.wait_idle()
        assert app.status.state.matches is None
        assert len(app.completion_list.pks) == 400


async def test_matches_highlighted_and_n_jumps(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        app.set_query("order")
        await pilot.pause()
        await app.wait_idle()
        assert app.completion_list.pks
        doc = app.doc()
        assert doc.match_rows, "the detail highlights the query's words"
        await pilot.press("n")
        await pilot.pause()
        assert app.status.state.match_pos == (1, len(doc.match_rows))
        await pilot.press("n")
        await pilot.pause()
        if len(doc.match_rows) > 1:
            assert app.status.state.match_pos == (2, len(doc.match_rows))
        await pilot.press("N")
        await pilot.pause()
        assert app.status.state.match_pos == (1, len(doc.match_rows))


async def test_help_lists_active_keys_with_remapping(sample: Path) -> None:
    app = make_app(sample, keymap={"list.down": "ctrl+n,j", "app.quit": "ctrl+q"})
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_idle()
        await pilot.press("ctrl+n")
        await app.wait_idle()
        assert app.completion_list.cursor == 1
        await pilot.press("q")  # no longer quit
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for spec in KEYS:
            assert spec.id in text
        assert "ctrl+q" in text.lower() or "^q" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


def test_keymap_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    assert load_keymap(cfg) == {}
    cfg.write_text('[keys]\n"list.down" = "j,ctrl+n"\n"app.quit" = ["ctrl+q"]\n')
    assert load_keymap(cfg) == {"list.down": "j,ctrl+n", "app.quit": "ctrl+q"}
    cfg.write_text('[keys]\n"list.dwon" = "j"\n')
    with pytest.raises(KeymapError, match="unknown binding id"):
        load_keymap(cfg)


@pytest.mark.slow
async def test_palette_goes_to_id_and_filters(sample: Path) -> None:
    ids = newest_first_ids(sample)
    target = ids[123]
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*target[:20])
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        await app.wait_idle()
        assert app.detail is not None and app.detail.row.id == target
        assert app.completion_list.cursor == 123
        model = app.detail.row.model
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"filter model {model}")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.wait_idle()
        assert app.query_text.startswith("model:")
        assert app.status.state.matches and app.status.state.matches < len(ids)


async def test_live_refresh_keeps_cursor(sample: Path) -> None:
    ids = newest_first_ids(sample)
    app = make_app(sample, watch=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("j", "j", "j")
        await app.wait_idle()
        assert app.detail is not None and app.detail.row.id == ids[3]
        # another process (a `ccbrowser sync`) writes three newer completions
        corpus = Corpus(3, seed=99, now=FROZEN_NOW + 3600)
        conn = open_db(sample)
        Writer(conn).write([Record(*corpus.pair(i)) for i in range(3)])
        conn.close()
        for _ in range(60):
            await pilot.pause(0.05)
            if len(app.completion_list.pks) == len(ids) + 3:
                break
        await app.wait_idle()
        assert len(app.completion_list.pks) == len(ids) + 3
        assert app.status.state.total == len(ids) + 3
        assert app.detail is not None and app.detail.row.id == ids[3]  # the same completion
        assert app.completion_list.cursor == newest_first_ids(sample).index(ids[3])


async def test_offline_start_without_key(sample: Path) -> None:
    app = make_app(sample, sync=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.wait_idle()
        assert app.status.state.connectivity == "no key"
        assert "no key" in str(app.status.render_state())
        await pilot.press("R")
        await pilot.pause()
        assert any("No API key" in n.message for n in app._notifications)
        await pilot.press("j")
        await app.wait_idle()
        assert app.completion_list.cursor == 1


async def test_empty_database_opens(db_path: Path) -> None:
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_idle()
        assert app.completion_list.pks.tolist() == []
        await pilot.press("j", "G", "y", "Y", "]", "n")
        await pilot.pause()
        assert "ccbrowser demo" in app.doc("conversation").plain


async def test_copying_an_empty_value_says_so_and_keeps_the_clipboard(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        app.copy("the id", "chatcmpl-x")
        app.copy("the output content", "")
        await pilot.pause()
        assert app.clipboard == "chatcmpl-x"
        assert any(n.message == "Nothing to copy: the output content is empty" for n in app._notifications)
