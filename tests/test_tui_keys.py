"""Keys sent in one burst, as a terminal delivers fast typing or a paste: none may be lost.

`Pilot.press` waits for the app to go idle after every key, so it never catches a key that
arrives before the previous one is handled. `burst` posts every key at once, the way the
driver does when one read from the terminal holds several keys.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_tui_support import make_app
from textual import events
from textual.widgets import Input

from ccbrowser.tui.app import CCBrowserApp

NAMES = {
    "/": "slash",
    "\r": "enter",
    "\x1b": "escape",
    "[": "left_square_bracket",
    "]": "right_square_bracket",
}


def burst(app: CCBrowserApp, text: str) -> None:
    """Queue `text` as key events with no pause between them, as one read from a terminal does."""
    for char in text:
        app.post_message(events.Key(NAMES.get(char, char), char))


async def _settle(app: CCBrowserApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause(0.05)
        await app.wait_idle()


def _block() -> None:
    time.sleep(0.3)  # the UI thread is busy: every key of the burst waits in the queue


def _search(app: CCBrowserApp) -> Input:
    return app.query_one("#search", Input)


@pytest.mark.parametrize("word", ["quokka", "zipper", "gjkGnNe[]y"])
async def test_keys_after_slash_go_to_the_search_box(sample: Path, word: str) -> None:
    """`/quokka` must not quit (`q`), `/zipper` must not expand (`e`): every key lands in the box."""
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        burst(app, "/" + word)
        await _settle(app, pilot)
        assert app.is_running
        assert _search(app).value == word
        assert app.focused is _search(app)
        assert app.tabs.expanded is False
        assert app.completion_list.cursor == 0
        assert app.active_tab == "conversation"


async def test_burst_right_after_start(sample: Path) -> None:
    """The first page and detail are still loading when the keys arrive."""
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        burst(app, "/quokka")
        await _settle(app, pilot)
        assert app.is_running
        assert _search(app).value == "quokka"
        assert app.focused is _search(app)


async def test_burst_while_the_app_is_busy(sample: Path) -> None:
    """A blocked event loop (a slow frame, a long handler) queues the keys behind it."""
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        app.call_later(_block)
        burst(app, "/zipper")
        await _settle(app, pilot)
        assert app.is_running
        assert _search(app).value == "zipper"
        assert app.tabs.expanded is False
        # escape leaves the box, escape again clears the query; then list keys, then `/` again
        burst(app, "\x1b\x1b")
        await _settle(app, pilot)
        assert app.focused is app.completion_list and _search(app).value == ""
        app.call_later(_block)
        burst(app, "jj")
        await _settle(app, pilot)
        assert app.completion_list.cursor == 2
        app.call_later(_block)
        burst(app, "j/ok")  # the first key still moves the list, the rest are text
        await _settle(app, pilot)
        assert _search(app).value == "ok"
        assert app.focused is _search(app)


async def test_slash_inside_the_box_is_a_character(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        burst(app, "/a/b")
        await _settle(app, pilot)
        assert _search(app).value == "a/b"
