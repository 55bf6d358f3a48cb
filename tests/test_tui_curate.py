"""Pilot tests of curation in the TUI: marks and ranges, bulk star / tag / export / copy ids,
saved views (ctrl+s, @NAME, the palette) and the facets panel narrowing the query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tui_support import make_app, newest_first_ids

from ccbrowser import search
from ccbrowser.config import load_config
from ccbrowser.store import labels, open_db
from ccbrowser.tui.keymap import KEYS
from ccbrowser.tui.screens.ask import Ask
from ccbrowser.tui.screens.help import HelpScreen, help_content
from ccbrowser.tui.widgets.facets import FacetsPanel


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[views]\nrefunds = "refund"  # kept\n', encoding="utf-8")
    monkeypatch.setenv("CCBROWSER_CONFIG", str(path))
    return path


def _labelled(db: Path, query: str) -> list[str]:
    conn = open_db(db)
    try:
        return labels.ids_of(conn, search.matching_pks(conn, query))
    finally:
        conn.close()


async def _settle(app, pilot, delay: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(delay)
    await app.wait_idle()
    await pilot.pause()


async def test_marks_ranges_star_and_tag(sample: Path) -> None:
    ids = newest_first_ids(sample)
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("space", "space")  # rows 0 and 1 (marking moves on)
        assert app.status.state.marked == 2 and "● 2 marked" in str(app.status.render_state())
        await pilot.press("j", "j", "v")  # rows 1..4 now: 0, 1, 2, 3, 4 (from the last mark)
        assert app.status.state.marked == 5
        await pilot.press("k", "space")  # unmark row 3
        assert app.status.state.marked == 4
        assert set(app.targets()) == set(app.completion_list.pks[i] for i in (0, 1, 2, 4))
        await pilot.press("s")
        await _settle(app, pilot)
        assert sorted(_labelled(sample, "is:starred")) == sorted(ids[i] for i in (0, 1, 2, 4))
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        await pilot.press(*"two words", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Ask)  # refused under the box, still asking
        assert "one word" in str(app.screen.query_one("#ask-error").render())
        app.screen.query_one("#ask-input").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"golden", "enter")
        await _settle(app, pilot)
        assert not isinstance(app.screen, Ask)
        assert sorted(_labelled(sample, "tag:golden")) == sorted(ids[i] for i in (0, 1, 2, 4))
        # s again: all starred, so it unstars; the list follows a label query at once
        await pilot.press("slash", *"is:starred", "enter")
        await _settle(app, pilot, 0.4)
        assert app.status.state.matches == 4
        await pilot.press("s")
        await _settle(app, pilot, 0.4)
        assert _labelled(sample, "is:starred") == []
        assert app.status.state.matches == 0
        # with nothing marked, an action takes the cursor's row
        await pilot.press("escape")
        await _settle(app, pilot, 0.4)
        app.action_clear_marks()
        await pilot.pause()
        assert app.status.state.marked == 0 and "marked" not in str(app.status.render_state())
        app.completion_list.move_to(7)
        await pilot.press("t", *"-golden", "enter")
        await _settle(app, pilot)
        assert ids[7] not in _labelled(sample, "tag:golden")  # it never had it: nothing changed
        await pilot.press("t", *"solo", "enter")
        await _settle(app, pilot)
        assert _labelled(sample, "tag:solo") == [ids[7]]


async def test_export_and_copy_ids_of_the_marks(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = newest_first_ids(sample)
    monkeypatch.chdir(tmp_path)
    app = make_app(sample)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("space", "space", "space")
        app.post_message(__import__("ccbrowser.tui.messages", fromlist=["RunAction"]).RunAction("copy_ids"))
        await _settle(app, pilot)
        assert app.clipboard == "\n".join(ids[:3])
        app.action_export("evals")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        await pilot.press("enter")  # the proposed name
        await _settle(app, pilot, 0.4)
        lines = (tmp_path / "ccbrowser-evals.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["item"]["id"] for line in lines] == ids[:3]
        app.action_export("evals")  # the same name again: refused, the file is kept
        await pilot.pause()
        await pilot.press("enter")
        await _settle(app, pilot, 0.4)
        assert len((tmp_path / "ccbrowser-evals.jsonl").read_text(encoding="utf-8").splitlines()) == 3
        assert any("exists already" in str(n.message) for n in app._notifications)


async def test_save_view_and_search_it_by_name(sample: Path, config: Path) -> None:
    app = make_app(sample, config=load_config())
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, Ask)  # no query: nothing to save, said so
        await pilot.press("slash", *"has:tools order", "enter")
        await _settle(app, pilot, 0.4)
        want = app.status.state.matches
        assert want
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        await pilot.press(*"tools-orders", "enter")
        await pilot.pause()
        text = config.read_text(encoding="utf-8")
        assert text == '# mine\n[views]\nrefunds = "refund"  # kept\ntools-orders = "has:tools order"\n'
        # @NAME in the box: the same matches, the box still says @NAME
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"@tools-orders", "enter")
        await _settle(app, pilot, 0.4)
        assert app.query_text == "@tools-orders" and app.status.state.matches == want
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"@nope", "enter")
        await _settle(app, pilot, 0.4)
        assert "no saved view @nope" in str(app.search_bar.query_one("#query-error").render())
        # the palette lists the views
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"view refunds")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _settle(app, pilot, 0.4)
        assert app.query_text == "@refunds"
        assert app.status.state.matches == search.count(open_db(sample), "refund")


async def test_facets_count_the_result_and_narrow_the_query(sample: Path) -> None:
    conn = open_db(sample)
    ids = [r[0] for r in conn.execute("SELECT id FROM completions ORDER BY pk LIMIT 30")]
    labels.apply(conn, ids, add_tags=["good"])
    conn.close()
    app = make_app(sample)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.wait_idle()
        await pilot.press("F")
        await _settle(app, pilot, 0.3)
        panel = app.query_one("#facets", FacetsPanel)
        assert panel.display and app.focused is panel
        facets = panel.facets
        assert facets is not None and facets.total == 400
        assert ("good", 30) in facets.tag
        assert sum(n for _, n in facets.finish) == 400
        terms = [panel.get_option_at_index(i).id for i in range(panel.option_count)]
        assert "tag:good" in terms and any(t and t.startswith("model:") for t in terms)
        # narrow by a query, then by a facet: the text shows the filter it added
        await pilot.press("slash", *"refund", "enter")
        await _settle(app, pilot, 0.4)
        narrowed = panel.facets
        assert narrowed is not None and narrowed.total == app.status.state.matches < 400
        model, n = narrowed.model[0]
        term = f"model:{model}"
        panel.highlighted = [o.id for o in panel._options].index(term)
        app.screen.set_focus(panel)
        await pilot.press("enter")
        await _settle(app, pilot, 0.4)
        assert app.query_text == f"refund {term}"
        assert app.search_bar.box.value == f"refund {term}"
        assert app.status.state.matches == n
        assert panel.facets is not None and panel.facets.total == n and panel.facets.model == [(model, n)]
        await pilot.press("F")
        await pilot.pause()
        assert not panel.display and app.focused is app.completion_list


async def test_every_curation_key_is_in_help() -> None:
    text = str(help_content({s.id: s.keys for s in KEYS}))
    for needle in (
        "Mark / unmark",
        "Mark every row from the last mark",
        "Star / unstar",
        "Tag the marked",
        "Facets panel",
        "Save the query as a view",
        "is:starred",
        "tag:good",
    ):
        assert needle in text, needle
    ids = {s.id for s in KEYS}
    assert {"list.mark", "list.mark_range", "app.star", "app.tag", "app.facets", "app.save_view"} <= ids
    assert HelpScreen  # the screen `?` opens renders `help_content`
