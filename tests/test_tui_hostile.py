"""Hostile data in the TUI: markup, escape sequences, lone surrogates, 5 MB messages.

Every completion of `hostile.py` is opened on every tab; nothing may crash, the text must show
as visible characters, and no control character from the data may reach the rendered output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile import ESCAPES, MARKUP, hostile_records
from test_tui_support import make_app

from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer
from ccbrowser.tui.document import CAP

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _build(db_path: Path) -> list[str]:
    conn = open_db(db_path)
    records = hostile_records()
    Writer(conn).write([Record(c, m) for c, m in records])
    conn.close()
    return [c["id"] for c, _m in records]


@pytest.mark.slow
async def test_hostile_completions_render_safely(db_path: Path) -> None:
    ids = _build(db_path)
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_idle()
        for cid in ids:
            app.go_to_id(cid)
            await pilot.pause()
            await app.wait_idle()
            assert app.detail is not None and app.detail.row.id == cid
            for _tab in range(5):
                doc = app.doc()
                text = doc.plain
                assert not _CONTROLS.search(text), (cid, app.active_tab)
                if app.active_tab in ("conversation", "raw"):
                    svg = app.export_screenshot()
                    assert not _CONTROLS.search(svg.replace("\n", "")), (cid, app.active_tab)
                await pilot.press("]")
                await pilot.pause()
            if cid == "chatcmpl-big":
                # capped: a 5 MB message shows the first CAP characters and says how to see more
                conv = app.doc("conversation").plain
                assert "more characters: press e to show all" in conv
                assert len(conv) < 4 * CAP + 10_000
            if cid == "chatcmpl-markup":
                conv = app.doc("conversation").plain
                assert "[@click=app.quit]x[/]" in conv  # shown as text, not an action
                assert "␛]0;pwned␇" in conv and "␛[2J" in conv  # escapes made visible
            if cid == "chatcmpl-badargs":
                tools = app.doc("tools").plain
                assert "invalid JSON, shown verbatim" in tools
                assert '{"order_id": "A-88' in tools
        # copying a surrogate-holding value never crashes
        app.go_to_id("chatcmpl-surrogate")
        await pilot.pause()
        await app.wait_idle()
        app.copy("the output content", "lone \ud800 high")
        assert app.clipboard == "lone \ufffd high"
        # the app is still alive and responsive
        await pilot.press("g")
        await app.wait_idle()
        assert app.is_running


@pytest.mark.slow
async def test_expand_shows_everything(db_path: Path) -> None:
    _build(db_path)
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.wait_idle()
        app.go_to_id("chatcmpl-big")
        await pilot.pause()
        await app.wait_idle()
        before = len(app.doc().plain)
        await pilot.press("e")
        await pilot.pause()
        await app.wait_idle(timeout=120)  # 5 MB are rendered and wrapped on a thread
        assert len(app.doc().plain) > 5_000_000 > before
        await pilot.press("e")
        await pilot.pause()
        assert len(app.doc().plain) == before


async def test_no_data_escape_reaches_the_terminal(db_path: Path) -> None:
    """Capture what a real driver would write: data escapes must arrive only as visible symbols."""
    _build(db_path)
    app = make_app(db_path)
    written: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_idle()
        app.go_to_id("chatcmpl-markup")
        await pilot.pause()
        await app.wait_idle()
        # render the whole screen the way App._display would, through the app's console
        update = app.screen._compositor.render_full_update()
        with app.console.capture() as capture:
            app.console.print(update, end="")
        written.append(capture.get())
        for tab in ("raw", "usage"):
            app.tabs.active = f"tab-{tab}"
            await pilot.pause()
            update = app.screen._compositor.render_full_update()
            with app.console.capture() as capture:
                app.console.print(update, end="")
            written.append(capture.get())
    output = "".join(written)
    assert "pwned" in output  # the text is on screen...
    for bad in ("\x1b]0;pwned", "\x1b]52;c;", "\x1b[2J", "\x9b31m", "\x07"):
        assert bad not in output  # ...but never as a live sequence
    assert ESCAPES not in output and MARKUP.split()[0] in output


async def test_escapes_never_reach_the_search_box(db_path: Path) -> None:
    conn = open_db(db_path)
    evil = {
        "id": "chatcmpl-evilmodel",
        "created": 1_700_000_100,
        "model": "gpt-4o\x1b]0;modeltitle\x07",
        "metadata": {"k": 'say "hi"\x1b[2J'},
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
    }
    Writer(conn).write([Record(evil, [])])
    conn.close()
    app = make_app(db_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"modeltitle")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.wait_idle()
        assert not _CONTROLS.search(app.query_text)
        assert app.query_text == "model:gpt-4o*"
        assert app.detail is not None and app.detail.row.id == "chatcmpl-evilmodel"
        # A pasted escape sequence is shown as visible symbols, not echoed to the terminal.
        app.set_query("hello \x1b]0;pwned\x07")
        await pilot.pause(0.3)
        from textual.widgets import Input

        value = app.query_one("#search", Input).value
        assert not _CONTROLS.search(value) and "␛]0;pwned␇" in value
