"""Notes (`a`) and labels on a whole conversation (`s` / `t` / `a` in the conversation list),
driven with Pilot on real database files."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_support import make_app, newest_first_ids

from ccbrowser import search
from ccbrowser.config import Secret, Settings
from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.emulator.corpus.chats import chats
from ccbrowser.store import labels, open_db
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.screens.ask import Ask
from ccbrowser.tui.screens.note import NoteEditor
from ccbrowser.tui.screens.push import ConfirmPush

SEED = 4


def _matching(db: Path, query: str) -> list[str]:
    conn = open_db(db)
    try:
        return labels.ids_of(conn, search.matching_pks(conn, query))
    finally:
        conn.close()


def _labels(db: Path, ids: list[str]) -> dict[str, labels.Label]:
    conn = open_db(db)
    try:
        return labels.labels_of(conn, ids)
    finally:
        conn.close()


async def settle(app: CCBrowserApp, pilot, delay: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(delay)
    await app.wait_idle()
    await pilot.pause()


async def _editor(app: CCBrowserApp, pilot) -> NoteEditor:  # type: ignore[no-untyped-def]
    await pilot.press("a")
    await settle(app, pilot, 0.1)
    assert isinstance(app.screen, NoteEditor)
    return app.screen


def _area_text(editor: NoteEditor) -> str:
    from textual.widgets import TextArea

    return editor.query_one(TextArea).text


async def test_a_writes_a_note_shown_in_the_detail_and_found_by_has_note(sample: Path) -> None:
    ids = newest_first_ids(sample)
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        editor = await _editor(app, pilot)
        assert _area_text(editor) == ""
        await pilot.press(*"check the refund [/] amount")  # markup-looking text stays text
        await pilot.press("escape")  # cancel: nothing written
        await settle(app, pilot)
        assert not isinstance(app.screen, NoteEditor) and _matching(sample, "has:note") == []
        editor = await _editor(app, pilot)
        await pilot.press(*"check the refund [/] amount", "enter", *"second line")
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.3)
        assert not isinstance(app.screen, NoteEditor)
        assert _matching(sample, "has:note") == [ids[0]]
        assert _labels(sample, [ids[0]])[ids[0]].note == "check the refund [/] amount\nsecond line"
        doc = app.doc("conversation").plain
        assert "✎ note" in doc and "check the refund [/] amount" in doc and "second line" in doc
        # again: the editor opens on the note; emptied and saved, the note goes
        editor = await _editor(app, pilot)
        assert _area_text(editor) == "check the refund [/] amount\nsecond line"
        from textual.widgets import TextArea

        editor.query_one(TextArea).clear()
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.3)
        assert _matching(sample, "has:note") == []
        assert "✎ note" not in app.doc("conversation").plain


async def test_notes_of_the_marks_and_an_escaped_note(sample: Path) -> None:
    ids = newest_first_ids(sample)
    conn = open_db(sample)
    hostile = "before \x1b]52;c;SGVsbG8=\x07 after\x1b[2J"
    labels.apply(conn, [ids[0]], note=hostile, star=True, add_tags=["good"])
    labels.apply(conn, [ids[1]], note="other")
    conn.close()
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        shown = "\n".join(app.doc("conversation").plain.split("\n")[:6])
        assert "★ starred" in shown and "tags good" in shown
        assert "\x1b" not in shown and "\x07" not in shown and "after" in shown
        editor = await _editor(app, pilot)
        assert "\x1b" not in _area_text(editor) and "after" in _area_text(editor)
        await pilot.press("ctrl+s")  # not edited: the note stays byte for byte
        await settle(app, pilot)
        assert _labels(sample, [ids[0]])[ids[0]].note == hostile
        # two marked with different notes: the editor says so, saving replaces both
        await pilot.press("space", "space")
        editor = await _editor(app, pilot)
        assert _area_text(editor) == ""
        assert "differ" in str(editor.query_one("#note-hint").render())
        await pilot.press(*"both")
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.3)
        found = _labels(sample, ids[:2])
        assert found[ids[0]].note == "both" and found[ids[1]].note == "both"
        assert found[ids[0]].starred and found[ids[0]].tags == ("good",)  # the rest untouched
        # a third mark without a note: they differ again, and an empty save removes every note
        await pilot.press("space")
        editor = await _editor(app, pilot)
        assert _area_text(editor) == ""
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.3)
        assert _matching(sample, "has:note") == []
        assert _labels(sample, [ids[0]])[ids[0]].starred  # a note removed, the star stays


@pytest.fixture
def chats_db(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    src = build(tmp_path_factory.mktemp("curate-threads") / "chats.db", 40, seed=SEED, chats=True)
    dest = tmp_path / "chats.db"
    dest.write_bytes(src.read_bytes())
    return dest


async def test_s_t_a_in_the_conversation_list_label_the_whole_thread(chats_db: Path) -> None:
    trip = [c.id for c in chats(FROZEN_NOW, SEED) if c.chat == "trip"]
    others = [c.id for c in chats(FROZEN_NOW, SEED) if c.chat != "trip"]
    assert len(trip) > 2
    nowhere = Settings(base_url="https://api.example.invalid/v1", api_key=Secret("k"), api_key_env=None)
    app = make_app(chats_db, settings_override=nowhere)  # P only plans and asks here: no request
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        table.move_cursor(row=table.get_row_index(trip[0]))
        await settle(app, pilot)
        assert app.picked_root == trip[0]
        await pilot.press("s")
        await settle(app, pilot, 0.3)
        assert sorted(_matching(chats_db, "is:starred")) == sorted(trip)
        assert any(
            f"of the conversation ({len(trip)} completions)" in str(n.message) for n in app._notifications
        )
        await pilot.press("t")
        await settle(app, pilot, 0.1)
        assert isinstance(app.screen, Ask) and "the conversation" in str(app.screen._title)
        await pilot.press(*"itinerary", "enter")
        await settle(app, pilot, 0.3)
        assert sorted(_matching(chats_db, "tag:itinerary")) == sorted(trip)
        editor = await _editor(app, pilot)
        assert "the conversation" in editor._title
        await pilot.press(*"good trip")
        await pilot.press("ctrl+s")
        await settle(app, pilot, 0.3)
        assert sorted(_matching(chats_db, "has:note")) == sorted(trip)
        assert sorted(
            _matching(chats_db, "thread:" + trip[0] + " is:starred tag:itinerary has:note")
        ) == sorted(trip)
        assert not set(_matching(chats_db, "is:starred OR tag:itinerary OR has:note")) & set(others)
        d = app.detail  # the row's detail is read again with its labels
        assert d is not None and d.row.id == trip[0] and d.label.note == "good trip" and d.label.starred
        await pilot.press("P")  # the conversation's tags, every completion of it, asked first
        await settle(app, pilot, 0.3)
        assert isinstance(app.screen, ConfirmPush)
        lines = str(app.screen.query_one("#push-lines").render()).splitlines()
        assert len(lines) == len(trip) and all("+ tags = 'itinerary'" in line for line in lines)
        await pilot.press("n")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmPush)
        await pilot.press("s")  # every one starred: s unstars the conversation
        await settle(app, pilot, 0.3)
        assert _matching(chats_db, "is:starred") == []
        # back in the completion list, s acts on the cursor's completion only
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot, 0.3)
        assert len(_matching(chats_db, "is:starred")) == 1
