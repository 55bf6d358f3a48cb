"""What the TUI says about a search: no matches, a bad query, a model typed as text, `n` finding
matches the visible tab does not show, and an id prefix that several completions share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_tui_support import make_app
from textual.widgets import Static

from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer
from ccbrowser.tui import document
from ccbrowser.tui.app import CCBrowserApp

T = 1_780_000_000
LONG = "filler words " * (document.CAP // 13 + 100) + "the needle-in-a-haystack zebrafish"


def _completion(
    cid: str, created: int, content: str | None, *, model: str = "gpt-4o-mini", tool: str = ""
) -> Any:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool:
        message["tool_calls"] = [
            {"id": f"call_{cid}", "type": "function", "function": {"name": "lookup", "arguments": tool}}
        ]
    return {
        "id": cid,
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def db(db_path: Path) -> Path:
    conn = open_db(db_path)
    records = [
        Record(
            _completion("chatcmpl-weather-a", T, "sunny weather today"),
            [{"role": "user", "content": "weather?"}],
        ),
        Record(
            _completion("chatcmpl-weather-b", T + 1, "rainy weather"),
            [{"role": "user", "content": "weather?"}],
        ),
        Record(_completion("chatcmpl-long", T + 2, LONG), [{"role": "user", "content": "a long one"}]),
        Record(
            _completion(
                "chatcmpl-tool", T + 3, "Looking it up.", model="gpt-4o", tool='{"q": "okapi facts"}'
            ),
            [{"role": "user", "content": "tell me about that animal"}],
        ),
    ]
    Writer(conn).write(records)
    conn.close()
    return db_path


async def _search(app: CCBrowserApp, pilot: Any, text: str) -> None:
    app.set_query(text)
    await pilot.pause()
    await app.wait_idle()
    await pilot.pause()
    await app.wait_idle()


def _record_notes(app: CCBrowserApp) -> list[str]:
    """What the app notifies, kept (a toast expires after seconds, slower than a loaded machine)."""
    said: list[str] = []
    notify = app.notify

    def record(message: str, **kw: Any) -> None:
        said.append(message)
        notify(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    return said


def _under_bar(app: CCBrowserApp) -> str:
    line = app.query_one("#query-error", Static)
    return str(line.render()) if line.display else ""


async def test_zero_hits_say_no_matches_not_the_empty_store_hint(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "zzyzx")
        assert list(app.completion_list.pks) == []
        shown = app.doc().plain
        assert "No matches for zzyzx" in shown and "No completions yet" not in shown


async def test_a_query_without_searchable_words_matches_nothing_and_says_why(db: Path) -> None:
    """`🎉` has no FTS token: nothing matches (as in the CLI), never the whole store."""
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "🎉")
        assert list(app.completion_list.pks) == []
        assert "no searchable words in '🎉'" in _under_bar(app)
        await _search(app, pilot, "🎉 OR weather")  # beside a word of an OR it is left out
        assert len(app.completion_list.pks) == 2


async def test_a_bad_query_keeps_the_last_good_results_and_says_so(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "weather")
        good = list(app.completion_list.pks)
        assert len(good) == 2
        await _search(app, pilot, "weather tokens:abc")
        assert list(app.completion_list.pks) == good
        line = _under_bar(app)
        assert "tokens:" in line and "showing the last good results (weather)" in line


async def test_a_bad_first_query_says_it_shows_everything(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "since:xyz")
        line = _under_bar(app)
        assert "since:" in line and line.rstrip().endswith("· showing everything"), line


async def test_a_model_typed_as_text_gets_the_planner_hint(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "GPT-4o-Mini")
        assert "model:gpt-4o-mini filters by it" in _under_bar(app)
        await _search(app, pilot, "model:GPT-4o-Mini")
        assert len(app.completion_list.pks) == 3


async def test_n_expands_capped_text_to_reach_a_match(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "zebrafish")
        said = _record_notes(app)
        assert app.detail is not None and app.detail.row.id == "chatcmpl-long"
        assert not app.doc().match_rows  # past the cap: not shown yet
        await pilot.press("n")
        await pilot.pause()
        await pilot.pause()
        assert app.tabs.expanded and app.doc().match_rows
        assert app.status.state.match_pos == (1, len(app.doc().match_rows))
        assert any("capped text" in m for m in said), said


async def test_n_switches_to_the_tab_that_holds_the_match(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "okapi")
        assert app.detail is not None and app.detail.row.id == "chatcmpl-tool"
        assert app.tabs.active_key == "conversation"
        if app.doc().match_rows:  # the conversation shows the call's arguments: jump there first
            app.tabs.active = "tab-usage"
            await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.pause()
        assert app.tabs.active_key != "usage" and app.doc().match_rows
        assert app.status.state.match_pos is not None and app.status.state.match_pos[0] == 1


async def test_an_ambiguous_id_prefix_lists_its_candidates(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        said = _record_notes(app)
        app.go_to_id("chatcmpl-weather")
        await pilot.pause(0.1)
        await app.wait_idle()
        await pilot.pause(0.1)
        await app.wait_idle()
        assert app.search_bar.box.value == "id:chatcmpl-weather"
        assert len(app.completion_list.pks) == 2
        assert any("chatcmpl-weather-a, chatcmpl-weather-b" in m for m in said), said


async def test_erasing_a_bad_query_and_pressing_enter_clears_its_error(db: Path) -> None:
    """Typed fast (Enter before the debounce), the box is back to the last good text: no stale error."""
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await _search(app, pilot, "since:xyz")
        assert "since:" in _under_bar(app)
        await pilot.press("slash")
        app.search_bar.box.value = ""
        await pilot.press("enter")
        await pilot.pause()
        await app.wait_idle()
        assert _under_bar(app) == ""
