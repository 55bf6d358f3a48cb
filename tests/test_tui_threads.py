"""The TUI's conversations, driven with Pilot on a database holding the scripted chats: the Thread
tab, turn and branch keys, tool-loop folding, the conversation list (`c`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_tui_support import make_app

from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.emulator.corpus.chats import Call, chats
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.widgets.conversation_list import ConversationList

SEED = 4


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tui-threads") / "chats.db", 80, seed=SEED, chats=True)


@pytest.fixture
def db(source: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "chats.db"
    dest.write_bytes(source.read_bytes())
    return dest


def chat(name: str) -> list[Call]:
    return [c for c in chats(FROZEN_NOW, SEED) if c.chat == name]


async def select(app: CCBrowserApp, pilot, completion_id: str) -> None:  # type: ignore[no-untyped-def]
    app.go_to_id(completion_id)
    await settle(app, pilot)
    assert app.detail is not None and app.detail.row.id == completion_id


async def settle(app: CCBrowserApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.wait_idle()
    await pilot.pause()


def thread_text(app: CCBrowserApp) -> str:
    return app.doc("thread").plain


async def test_thread_tab_reads_the_chat_once_and_turn_keys_move_the_cursor(db: Path) -> None:
    trip = chat("trip")
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, trip[1].id)
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        text = thread_text(app)
        for c in trip:
            assert text.count(c.messages[-1]["content"]) == 1  # each question once, in order
        assert text.index("four days in Lisbon") < text.index("not miss") < text.index("short plan")
        assert "4 turns · 4 completions" in text
        marked = [line for line in text.splitlines() if line.startswith("▶ turn")]
        assert marked == [
            line for line in text.splitlines() if "turn 2 " in line
        ]  # the selected one (turns count from 1)
        await pilot.press("right_curly_bracket")
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == trip[2].id
        assert app.active_tab == "thread"
        await pilot.press("right_curly_bracket", "right_curly_bracket")
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == trip[3].id  # the last turn: no further
        await pilot.press("left_curly_bracket")
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == trip[2].id


async def test_b_switches_branch_at_the_nearest_branch_point(db: Path) -> None:
    haiku = chat("haiku")
    root = haiku[0]
    branches = sorted(
        (c for c in haiku if c.parent == root.id), key=lambda c: (c.completion["created"], c.id)
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, branches[0].id)
        app.tabs.active = "tab-thread"
        seen = []
        for _ in range(len(branches) + 1):
            await settle(app, pilot)
            assert app.detail is not None
            seen.append(app.detail.row.id)
            text = thread_text(app)
            n = seen[-1]
            assert f"branch {[b.id for b in branches].index(n) + 1} of 3" in text
            fog = next(c for c in haiku if "fog" in c.messages[-1]["content"])
            assert ("And one about fog." in text) == (fog.parent == n)  # the path goes on below it
            await pilot.press("b")
        assert seen == [b.id for b in branches] + [branches[0].id]  # round and back
        await settle(app, pilot)  # the last `b` went on to the second branch
        await pilot.press("B")
        await settle(app, pilot)
        await pilot.press("B")
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == branches[-1].id  # backwards, wrapping


async def test_tool_loops_fold_and_z_unfolds_them(db: Path) -> None:
    desk = chat("support")
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, desk[-1].id)
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        folded = thread_text(app)
        assert "tool loop: 2 steps, lookup_order → refund_order (z unfolds)" in folded
        assert "lost in transit" not in folded  # the tool results are folded away
        assert "refund R-1907" in folded  # the answer the loop ended with is shown
        await pilot.press("z")
        await settle(app, pilot)
        unfolded = thread_text(app)
        assert "lost in transit" in unfolded and "tool loop" not in unfolded
        assert unfolded.count("turn 1 ") == 3  # the three completions of the first turn
        await pilot.press("left_curly_bracket")  # another completion: still unfolded
        await settle(app, pilot)
        assert "lost in transit" in thread_text(app)
        await pilot.press("z")
        await settle(app, pilot)
        assert "tool loop" in thread_text(app)


async def test_c_lists_conversations_and_picking_one_shows_its_thread(db: Path) -> None:
    names = chat("names")
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        assert not app.conversations.display
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        assert table.display and not app.completion_list.display and app.focused is table
        rows = table.row_count
        # one row per thread: the 80 generated completions, the chats' 8 threads
        assert rows == 80 + 8
        table.move_cursor(row=table.get_row_index(names[0].id))
        await settle(app, pilot)
        assert app.active_tab == "thread"
        text = thread_text(app)
        assert "Three names for a grey kitten" in text and "I like Ash" in text
        assert "choice 2 of 3" in text
        assert table.get_cell(names[0].id, "turns") == "2"
        assert str(table.get_cell(names[0].id, "preview")).startswith(
            "Three names for a grey"
        )  # cut to the pane
        assert str(table.get_cell(names[0].id, "models")) == "gpt-4o-mini"
        header = "".join(seg.text for seg in table.render_line(0))
        assert header.split()[:4] == ["turns", "first", "user", "message"]  # then the numbers
        await pilot.press("c")
        await settle(app, pilot)
        assert app.completion_list.display and app.focused is app.completion_list


async def open_conversations(app: CCBrowserApp, pilot) -> ConversationList:  # type: ignore[no-untyped-def]
    """The app started and `c` pressed: the conversation list, focused."""
    await settle(app, pilot)
    await pilot.press("c")
    await settle(app, pilot)
    return app.conversations


async def test_keys_leaving_the_search_box_go_back_to_the_conversation_list(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        table = await open_conversations(app, pilot)
        for leave in ("down", "enter", "escape"):
            await pilot.press("slash", *"trip", leave)
            await settle(app, pilot)
            assert app.focused is table, leave
            await pilot.press("escape")  # on the list: the query goes
            await settle(app, pilot)
            assert app.query_text == "" and app.focused is table
        assert table.row_count > 2
        table.move_cursor(row=0)
        await settle(app, pilot)
        first = app.picked_root
        await pilot.press("slash", "down", "j")  # leave the box, then one row down
        await settle(app, pilot)
        assert app.focused is table and table.cursor_row == 1 and app.picked_root != first
        await pilot.press("tab", "tab")  # to the detail and back
        assert app.focused is table


async def test_the_previews_are_cut_again_when_the_pane_changes(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        table = await open_conversations(app, pilot)

        def widest() -> int:
            return max(len(str(table.get_cell(k, "preview"))) for k in table.rows_by_key)

        wide = widest()
        await pilot.resize_terminal(120, 40)
        await settle(app, pilot)
        assert widest() != wide and widest() <= table._preview_width()  # one pane at 120: wider
        await pilot.resize_terminal(160, 48)
        await settle(app, pilot)
        assert widest() == wide


async def test_a_completion_without_inputs_says_so_in_the_thread_tab(db: Path) -> None:
    from ccbrowser.store import open_db
    from ccbrowser.store.writer import Writer

    conn = open_db(db)
    Writer(conn).write_page(
        [{"id": "chatcmpl-lonely", "created": FROZEN_NOW, "model": "gpt-4o", "choices": []}], None
    )
    conn.close()
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, "chatcmpl-lonely")
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        assert "1 turn · 1 completion" in thread_text(app)


async def test_help_lists_the_conversation_keys(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        shown = " ".join(str(w.render()) for w in app.screen.query("*"))
        for words in ("List conversations", "Next branch", "Previous turn", "tool loops"):
            assert words in shown, words


def threads_of(db: Path, pks: list[int]) -> dict[str, list[int]]:
    """Thread -> the given completions it holds (in the given order), read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        rows = dict(
            conn.execute("SELECT c.pk, n.thread FROM completions c JOIN thread_nodes n ON n.id = c.id")
        )
    finally:
        conn.close()
    out: dict[str, list[int]] = {}
    for pk in pks:
        out.setdefault(rows[pk], []).append(pk)
    return out


async def search_for(app: CCBrowserApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await pilot.pause(0.3)
    await settle(app, pilot)


async def test_c_with_a_search_groups_its_matches_by_conversation(db: Path) -> None:
    trip = chat("trip")
    app = make_app(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "Lisbon")
        matches = list(app.completion_list.pks)
        assert matches and app.query_text == "Lisbon"
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        assert table.border_title == "Conversations with matches"
        grouped = threads_of(db, matches)
        assert table.row_count == len(grouped) < len(matches)  # one row per thread, not per match
        shown = {str(table.coordinate_to_cell_key((r, 0)).row_key.value): r for r in range(table.row_count)}
        assert set(shown) == set(grouped)
        first_seen = sorted(grouped, key=lambda t: matches.index(grouped[t][0]))
        assert sorted(shown, key=shown.__getitem__) == first_seen  # ranked by each one's first match
        for thread, pks in grouped.items():
            assert table.get_cell(thread, "hits") == str(len(pks))  # the match count
        assert table.get_cell(trip[0].id, "hits") == str(len(trip))  # every turn mentions Lisbon
        # the cursor's row shows its first match, marked in the Thread tab
        assert app.detail is not None and app.detail.row.pk == matches[0]
        # `c` again: the matches, the query kept
        await pilot.press("c")
        await settle(app, pilot)
        assert app.completion_list.display and list(app.completion_list.pks) == matches
        assert app.query_text == "Lisbon" and app.search_bar.box.value == "Lisbon"
        # a new query while the conversations are shown regroups them
        await pilot.press("c")
        await settle(app, pilot)
        await search_for(app, pilot, "grey kitten")
        assert app.conversations.display
        kitten = threads_of(db, list(app.completion_list.pks))
        assert {str(k.value) for k in table.rows} == set(kitten)
        assert chat("names")[0].id in kitten


async def test_a_search_no_conversation_holds_says_so(db: Path) -> None:
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await search_for(app, pilot, "zzzyzzzx")
        await pilot.press("c")
        await settle(app, pilot)
        assert app.conversations.row_count == 0
        assert "No matches for zzzyzzzx" in thread_text(app)


def costs(db: Path, ids: list[str]) -> list[float | None]:
    conn = sqlite3.connect(db)
    try:
        return [
            conn.execute("SELECT cost_usd FROM completions WHERE id = ?", (i,)).fetchone()[0] for i in ids
        ]
    finally:
        conn.close()


async def test_thread_totals_in_the_list_and_the_thread_tab_count_unknown_costs_as_unknown(db: Path) -> None:
    from ccbrowser.render import usd

    trip = [c.id for c in chat("trip")]
    known = costs(db, trip)
    assert all(c is not None and c > 0 for c in known)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE completions SET cost_usd = NULL WHERE id = ?", (trip[1],))  # a model without a price
    conn.commit()
    conn.close()
    total = sum(c for c in known if c is not None) - (known[1] or 0)
    conn = sqlite3.connect(db)
    marks = ",".join("?" * len(trip))
    tokens = conn.execute(
        f"SELECT sum(total_tokens) FROM completions WHERE id IN ({marks})", trip
    ).fetchone()[0]
    conn.close()
    app = make_app(db)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, trip[0])
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        header = thread_text(app).splitlines()[0]
        assert f"{usd(total)} (1 unknown)" in header, header
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        assert table.get_cell(trip[0], "cost") == usd(total, short=True) + "+?"  # known, and "some unknown"
        assert table.get_cell(trip[0], "tokens") == f"{tokens:,}"


async def test_the_thread_tab_opens_at_the_selected_turn(db: Path) -> None:
    trip = chat("trip")
    app = make_app(db)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, trip[0].id)
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        doc = app.doc("thread")
        assert doc.scroll_y == 0  # the root: from the top, the header in view
        await select(app, pilot, trip[2].id)
        await settle(app, pilot)
        lines = doc.plain.splitlines()
        assert doc.scroll_y > 0 and lines[doc.top_line].startswith("▶ turn 3"), lines[doc.top_line]
        await pilot.press("left_curly_bracket")  # the previous turn: the view follows
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == trip[1].id
        assert doc.plain.splitlines()[doc.top_line].startswith("▶ turn 2")


@pytest.mark.parametrize("listed", ["completions", "conversations"])
async def test_turn_and_branch_keys_typed_before_the_detail_lands_act_as_typed_slowly(
    db: Path, monkeypatch: pytest.MonkeyPatch, listed: str
) -> None:
    """`} b` at once: `b` acts on where `}` went, not on the completion still shown (every read
    is slowed down here, so the second key always comes before the first key's detail)."""
    import time

    from ccbrowser.tui import thread_reads

    haiku = chat("haiku")
    root = haiku[0]
    branches = sorted(
        (c for c in haiku if c.parent == root.id), key=lambda c: (c.completion["created"], c.id)
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        if listed == "conversations":
            await pilot.press("c")
            await settle(app, pilot)
            app.conversations.move_cursor(row=app.conversations.get_row_index(root.id))
        else:
            await select(app, pilot, root.id)
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == root.id
        for name in ("detail", "detail_by_id"):
            real = getattr(thread_reads, name)

            def slow(*a: object, _real=real, **kw: object) -> object:  # type: ignore[no-untyped-def]
                time.sleep(0.3)
                return _real(*a, **kw)

            monkeypatch.setattr(thread_reads, name, slow)
        await pilot.press("right_curly_bracket", "b")
        assert app.detail is not None and app.detail.row.id == root.id  # nothing landed yet
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == branches[1].id
        await pilot.press("B", "B")
        await settle(app, pilot)
        assert app.detail is not None and app.detail.row.id == branches[2].id  # backwards, wrapping


async def test_thread_labels_show_in_the_thread_tab_and_on_the_conversation_row(db: Path) -> None:
    """A label on every completion of a thread is the thread's: the Thread tab's header and the
    conversation list's row show it; a star on some of them only is not. Labelling the row with
    `s` updates both."""
    from ccbrowser.store import labels, open_db

    trip, names = [c.id for c in chat("trip")], [c.id for c in chat("names")]
    conn = open_db(db)
    labels.apply(conn, trip, star=True, add_tags=["itinerary", "[bold]x"])
    labels.apply(conn, trip[:1], add_tags=["first"])  # on one completion only: not the thread's
    labels.apply(conn, names[:1], star=True)
    conn.close()
    app = make_app(db)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, trip[1])
        app.tabs.active = "tab-thread"
        await settle(app, pilot)
        head = thread_text(app).splitlines()[:3]
        assert head[1] == "  ★ starred  tags [bold]x, itinerary", head  # tags as data, not markup
        await select(app, pilot, names[0])
        await settle(app, pilot)
        assert "★" not in "\n".join(thread_text(app).splitlines()[:3])
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        cell = table.get_cell(trip[0], "preview")
        assert str(cell).startswith("★ #[bold]x #itinerary ")
        assert not str(table.get_cell(names[0], "preview")).startswith("★")
        table.move_cursor(row=table.get_row_index(names[0]))
        await settle(app, pilot)
        await pilot.press("s")  # the rest of the thread starred: now it is the thread's
        await pilot.pause(0.3)
        await settle(app, pilot)
        await settle(app, pilot)
        assert str(table.get_cell(names[0], "preview")).startswith("★ ")
        assert "★ starred" in "\n".join(thread_text(app).splitlines()[:3])


async def test_a_preview_with_markup_in_it_is_shown_as_written(tmp_path: Path) -> None:
    """The conversation list shows the user's text literally: brackets are not Rich markup (an
    unbalanced closing tag would otherwise stop the row from rendering)."""
    from ccbrowser.store import open_db
    from ccbrowser.store.writer import Record, Writer

    path = tmp_path / "markup.db"
    conn = open_db(path)
    typed = "[/red] close [bold]this[/] and [link=https://x.invalid]that"
    completion = {
        "id": "chatcmpl-markup",
        "object": "chat.completion",
        "created": int(FROZEN_NOW) - 60,
        "model": "gpt-4o-mini",
        "metadata": {},
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    }
    Writer(conn).write([Record(completion, [{"role": "user", "content": typed}])])
    conn.close()
    app = make_app(path)
    async with app.run_test(size=(200, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        table = app.conversations
        assert table.row_count == 1
        cell = table.get_cell("chatcmpl-markup", "preview")
        assert typed.startswith(str(cell).rstrip("…")) and len(str(cell)) > 16
        shown = "".join(seg.text for seg in table.render_line(1))
        assert typed[:16] in shown, shown  # as typed, as far as the column shows it
