"""The list shows what matters: snippets for a text query, a sort toggle, markers; search history."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_tui_support import make_app
from textual.widgets import Input

from ccbrowser.store import reader
from ccbrowser.store.db import open_db
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.widgets.row_format import format_row


def _rows(db: Path, pks: list[int]) -> list[reader.ListRow]:
    conn = open_db(db)
    try:
        return reader.rows_by_pk(conn, pks)
    finally:
        conn.close()


async def _settle(app: CCBrowserApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause(0.1)
        await app.wait_idle()


async def test_sort_toggle_cycles_and_shows_in_the_status_bar(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        lst = app.completion_list
        assert "newest" in app.status.render_state().plain
        await pilot.press("o")  # no words: relevance is newest, so the next one is oldest
        await _settle(app, pilot)
        rows = _rows(sample, list(lst.pks))
        assert "oldest" in app.status.render_state().plain
        created = [r.created or 0 for r in rows]
        assert created == sorted(created)
        await pilot.press("o")
        await _settle(app, pilot)
        rows = _rows(sample, list(lst.pks))
        tokens = [r.total_tokens or 0 for r in rows]
        assert "tokens" in app.status.render_state().plain
        assert tokens == sorted(tokens, reverse=True)
        await pilot.press("o")
        await _settle(app, pilot)
        rows = _rows(sample, list(lst.pks))
        costs = [r.cost_usd for r in rows]
        assert "cost" in app.status.render_state().plain
        known = [c for c in costs if c is not None]
        assert known == sorted(known, reverse=True) and costs[: len(known)] == known  # unknown last
        await pilot.press("o")
        await _settle(app, pilot)
        assert "newest" in app.status.render_state().plain
        await pilot.press("slash", *"refund", "enter")
        await _settle(app, pilot)
        assert "newest" in app.status.render_state().plain  # the chosen order stays
        n = len(lst.pks)
        await pilot.press("o", "o", "o", "o")  # oldest, tokens, cost, and with words to rank: relevance
        await _settle(app, pilot)
        assert "relevance" in app.status.render_state().plain
        assert len(lst.pks) == n
        await pilot.press("o")
        await _settle(app, pilot)
        assert "newest" in app.status.render_state().plain
        assert len(lst.pks) == n  # the same matches, another order
        rows = _rows(sample, list(lst.pks))
        created = [r.created or 0 for r in rows]
        assert created == sorted(created, reverse=True)


async def test_text_query_rows_show_the_matched_snippet(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_idle()
        await pilot.press("slash", *"refund", "enter")
        await _settle(app, pilot)
        lst = app.completion_list
        shown = [lst.render_line(y) for y in range(5)]
        for strip in shown:
            assert "refund" in strip.text.lower(), strip.text
            assert any(seg.style is not None and seg.style.underline for seg in strip), strip.text
        await pilot.press("escape", "escape")  # clear the query: previews again
        await _settle(app, pilot)
        assert not any(
            seg.style is not None and seg.style.underline for seg in app.completion_list.render_line(0)
        )


def test_markers_for_truncated_several_choices_and_logprobs(sample: Path) -> None:
    conn = open_db(sample)
    try:
        row = reader.rows_by_pk(conn, reader.all_pks(conn)[:1])[0]
    finally:
        conn.close()
    plain = replace(row, finish_reason="stop", n_choices=1, has_logprobs=False, tool_call_count=0)
    assert not any(m in format_row(plain, 100).plain for m in "✂⧉ℓ")
    assert "✂" in format_row(replace(plain, finish_reason="length"), 100).plain
    assert "⧉" in format_row(replace(plain, n_choices=3), 100).plain
    assert "ℓ" in format_row(replace(plain, has_logprobs=True), 100).plain
    assert "✂" in format_row(replace(plain, finish_reason="length"), 40).plain  # kept when narrow


def _box(app: CCBrowserApp) -> Input:
    return app.query_one("#search", Input)


async def test_search_history_up_and_down(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        for query in ("refund", "tokens:>100", "refund"):
            await pilot.press("slash", "ctrl+u", *query, "enter")
            await _settle(app, pilot)
        await pilot.press("slash", "ctrl+u", *"dra")
        await pilot.press("up")
        assert _box(app).value == "refund"  # the newest first, a repeat only once
        await pilot.press("up")
        assert _box(app).value == "tokens:>100"
        await pilot.press("up")  # the oldest: stays
        assert _box(app).value == "tokens:>100"
        await pilot.press("down")
        assert _box(app).value == "refund"
        await pilot.press("down")  # past the newest: what was being typed
        assert _box(app).value == "dra"
        assert app.focused is _box(app)
        await pilot.press("down")  # and once more: into the list, with the query applied
        await _settle(app, pilot)
        assert app.focused is app.completion_list
        assert app.query_text == "dra"


async def test_down_arrow_moves_from_the_box_into_the_list(sample: Path) -> None:
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("slash", *"refund", "down")
        await _settle(app, pilot)
        assert app.focused is app.completion_list
        assert app.query_text == "refund"
        await pilot.press("j")
        assert app.completion_list.cursor == 1


async def test_start_up_shows_the_newest_first_then_every_key(sample: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first screenful comes from a bounded read (`reads.HEAD` keys); the whole snapshot
    follows after the first paint, in the same order, with the count right from the start."""
    from ccbrowser.tui import reads

    monkeypatch.setattr(reads, "HEAD", 50)
    conn = open_db(sample)
    everything, total = list(reader.all_pks(conn)), reader.count(conn)
    conn.close()
    assert total > 50
    from ccbrowser.tui.widgets.completion_list import CompletionList

    heads: list[int] = []
    set_snapshot = CompletionList.set_snapshot

    def spy(self, pks, **kw):  # type: ignore[no-untyped-def]
        heads.append(len(pks))
        set_snapshot(self, pks, **kw)

    monkeypatch.setattr(CompletionList, "set_snapshot", spy)
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await _settle(app, pilot)
        assert heads[:2] == [50, total]
        assert list(app.completion_list.pks) == everything
        assert app.status.state.total == total
        assert app.detail is not None and app.detail.row.pk == everything[0]
        await pilot.press("G")  # the end of the whole list, not of the first step
        await _settle(app, pilot)
        assert app.completion_list.current_pk == everything[-1]


async def test_a_go_to_during_start_up_is_not_undone_by_its_second_step(sample: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ccbrowser.tui import reads

    monkeypatch.setattr(reads, "HEAD", 50)
    conn = open_db(sample)
    everything = list(reader.all_pks(conn))
    target = reader.rows_by_pk(conn, [everything[-3]])[0]  # far outside the first step
    conn.close()
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        lst = app.completion_list
        while len(lst.pks) == 0:
            await pilot.pause(0.001)
        app.go_to_id(target.id)  # while the whole snapshot is still to come
        await _settle(app, pilot)
        assert lst.current_pk == target.pk and list(lst.pks) == everything
        assert app.detail is not None and app.detail.row.id == target.id
