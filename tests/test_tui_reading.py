"""Reading and comparing in the TUI: Markdown view, folded system prompts, JSON folds, the header,
the compare screen, and `$PAGER` / `$EDITOR` with real programs (driven with Pilot)."""

from __future__ import annotations

import gc
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile import hostile_records
from test_tui_support import make_app

from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer
from ccbrowser.tui import heap, markdown
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.screens.compare import CompareScreen
from ccbrowser.tui.widgets.detail import DetailHeader

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

REPLY = """## Shipping options

| Carrier | Days | Price |
|:--------|-----:|------:|
| Post    | 5    | 4.90 |
| Express | 1    | 19.00 |

```python
def total(items):
    return sum(i.price for i in items)
```

- **fast** and *cheap*
- see [the docs](https://example.com/docs)
"""
SYSTEM = "You are the shop's assistant.\n" + "Rule: be kind and brief. " * 60


def _completion(cid: str, content: str, created: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": extra.pop("model", "gpt-4o-mini-2024-07-18"),
        "choices": extra.pop(
            "choices",
            [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        ),
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280},
        **extra,
    }


def _inputs(question: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


@pytest.fixture
def reading_db(db_path: Path) -> Path:
    two = [
        {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        for i, text in enumerate(["Take the red one.", "Take the blue one."])
    ]
    records = [
        Record(
            _completion("chatcmpl-md", REPLY, 1_767_000_300, temperature=0.2), _inputs("How do you ship?")
        ),
        Record(
            _completion("chatcmpl-other", "We ship by post.", 1_767_000_200, temperature=0.9),
            _inputs("How do you ship to Italy?"),
        ),
        Record(_completion("chatcmpl-two", "", 1_767_000_100, n=2, choices=two), _inputs("Which one?")),
        Record(
            _completion(
                "chatcmpl-esc", "before \x1b]52;c;ZXZpbA==\x07 after \x1b[31mred\x1b[0m", 1_767_000_000
            ),
            _inputs("Escape?"),
        ),
    ]
    conn = open_db(db_path)
    Writer(conn).write(records)
    conn.close()
    return db_path


async def _select(app: CCBrowserApp, pilot: Any, cid: str) -> None:
    app.go_to_id(cid)
    await pilot.pause()
    await app.wait_idle()
    assert app.detail is not None and app.detail.row.id == cid


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_renders_tables_code_lists_and_links() -> None:
    lines = [line.plain for line in markdown.render(REPLY)]
    assert lines[0] == "Shipping options"
    assert "Carrier │ Days │ Price" in lines
    assert "Express │    1 │ 19.00" in lines  # right-aligned columns
    assert any(set(line) <= set("─┼") and "┼" in line for line in lines)
    assert "▎ def total(items):" in lines and "▎     return sum(i.price for i in items)" in lines
    assert "• fast and cheap" in lines
    assert "• see the docs <https://example.com/docs>" in lines
    assert not any("```" in line or "**" in line for line in lines)
    code = next(c for c in markdown.render(REPLY) if c.plain.startswith("▎ def"))
    assert len({str(span.style) for span in code.spans}) > 1  # highlighted, not one plain run


def test_markdown_never_interprets_markup_or_escapes() -> None:
    lines = markdown.render("[bold red]x[/] \x1b[2J **\x1b]0;t\x07** <b>html</b>\n\n```\n\x1b[31m\n```")
    plain = "\n".join(line.plain for line in lines)
    assert "[bold red]x[/]" in plain and "<b>html</b>" in plain
    assert not _CONTROLS.search(plain) and "␛[2J" in plain and "␛[31m" in plain


async def test_m_toggles_markdown_and_it_stays_across_completions(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-md")
        plain = app.doc().plain
        assert "```python" in plain and "| Carrier | Days | Price |" in plain  # plain text by default
        await pilot.press("m")
        await app.wait_idle()
        rendered = app.doc().plain
        assert "```" not in rendered and "Carrier │ Days │ Price" in rendered
        assert "▎ def total(items):" in rendered
        await pilot.press("j")
        await app.wait_idle()
        assert app.tabs.view.markdown  # the next completion is shown as Markdown too
        await pilot.press("k", "m")
        await app.wait_idle()
        assert app.doc().plain == plain


async def test_markdown_view_of_hostile_data_shows_everything_as_text(db_path: Path) -> None:
    conn = open_db(db_path)
    records = hostile_records()
    Writer(conn).write([Record(c, m) for c, m in records])
    conn.close()
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_idle()
        await pilot.press("m")
        for completion, _messages in records:
            await _select(app, pilot, completion["id"])
            await app.wait_idle(timeout=60)
            assert not _CONTROLS.search(app.doc().plain), completion["id"]
            assert not _CONTROLS.search(app.export_screenshot().replace("\n", "")), completion["id"]
        await _select(app, pilot, "chatcmpl-markup")
        assert "[@click=app.quit]x[/]" in app.doc().plain


async def test_a_big_markdown_render_leaves_the_ui_free(db_path: Path) -> None:
    """2 MB shown in full as Markdown: built on a thread, the handler returns at once."""
    big = ("## Part\n\nSome *text* with `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n" * 30_000)[:2_000_000]
    conn = open_db(db_path)
    Writer(conn).write([Record(_completion("chatcmpl-big", big, 1_767_000_000), [])])
    conn.close()
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-big")
        await pilot.press("m", "e")
        assert any(w.group == "render-conversation" and not w.is_finished for w in app.workers)
        await app.wait_idle(timeout=300)
        plain = app.doc().plain
        assert len(plain) > 1_000_000 and "a │ b" in plain and "more characters" not in plain
        assert gc.get_freeze_count() > 0  # the collector skips the big document while it is shown
        await pilot.press("e", "m")  # capped, plain text: built at once, the collector sees everything
        await app.wait_idle()
        assert "more characters" in app.doc().plain
        assert gc.get_freeze_count() == 0


def test_a_quiet_build_pauses_the_collector_and_release_lets_it_see_everything_again() -> None:
    assert gc.isenabled()
    with heap.quiet_build():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
    heap.release()
    assert gc.get_freeze_count() == 0


# -- system prompt, header, JSON ---------------------------------------------------------------


async def test_long_system_prompt_is_folded_until_s(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-md")
        folded = app.doc().plain
        assert "You are the shop's assistant." in folded
        assert "system prompt folded" in folded and "press S" in folded
        assert folded.count("be kind and brief") <= 8
        await pilot.press("S")
        await app.wait_idle()
        assert app.doc().plain.count("be kind and brief") == 60
        await pilot.press("j")  # it stays open on the next completion
        await app.wait_idle()
        assert "system prompt folded" not in app.doc().plain


async def test_folded_system_prompt_counts_the_matches_inside(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_idle()
        await pilot.press("slash", *"kind", "enter")
        await pilot.pause(0.3)
        await app.wait_idle()
        await _select(app, pilot, "chatcmpl-md")
        assert "60 matches inside" in app.doc().plain


async def test_header_shows_model_time_and_tokens(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(180, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-two")
        text = app.tabs.query_one(DetailHeader).render().plain
        assert "gpt-4o-mini-2024-07-18" in text
        assert "1,200 in → 80 out (1,280 tokens)" in text and "2 choices" in text
        assert re.search(r"2025-12-29 \d\d:\d\d:\d\d", text)
        assert app.detail is not None and app.detail.row.cost_usd  # the store priced it
        assert f"${app.detail.row.cost_usd:.4f}" in text
    narrow = make_app(reading_db)
    async with narrow.run_test(size=(80, 24)) as pilot:  # the short form fits a narrow pane
        await _select(narrow, pilot, "chatcmpl-two")
        await pilot.press("enter")  # one pane at 80 columns: the detail's
        await pilot.pause()
        head = narrow.tabs.query_one(DetailHeader)
        text = head.render().plain
        assert "1,280 tok" in text and "2 choices" in text and len(text) <= head.content_region.width


async def test_f_folds_json_and_a_click_opens_one_node(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-md")
        await pilot.press("f")  # switches to the JSON tab, folds below depth 1
        await app.wait_idle()
        assert app.active_tab == "raw"
        plain = app.doc().plain
        assert '"usage": {…},  ▸ 3 keys' in plain and '"prompt_tokens"' not in plain
        line = next(i for i, text in enumerate(plain.split("\n")) if text.startswith('  "usage"'))
        await pilot.click("#doc-raw", offset=(4, app.doc().row_of(line)))  # the view is at the top
        await app.wait_idle()
        opened = app.doc().plain
        assert '"usage": {  ▾' in opened and '"prompt_tokens": 1200' in opened
        assert '"choices": […],  ▸ 1 item' in opened  # the others stay folded
        await pilot.press("f", "f", "f")  # depth 2, 3, then everything open
        await app.wait_idle()
        assert "…" not in app.doc().plain
        assert json.loads(_json_of(app.doc().plain))["id"] == "chatcmpl-md"


def _json_of(plain: str) -> str:
    body = plain.split("\n", 1)[1] if plain.startswith("As the API") else plain
    return re.sub(r"  ▾$", "", body, flags=re.M)


# -- compare ----------------------------------------------------------------------------------


async def test_mark_and_compare_two_completions(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(140, 44)) as pilot:
        await _select(app, pilot, "chatcmpl-md")
        await pilot.press("equals_sign")
        await _select(app, pilot, "chatcmpl-other")
        await pilot.press("d")
        await pilot.pause()
        await app.wait_idle()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        plain = screen.plain
        assert "chatcmpl-md  ⟷  chatcmpl-other" in plain
        assert re.search(r"temperature\s+0\.2\s+0\.9", plain)
        assert "= 1 identical message (system)" in plain  # the shared system prompt: one line
        assert "≠ user #2/#2 · changed" in plain and "to Italy" in plain
        assert "≠ choice 0 #1/#1 · changed" in plain
        assert re.search(r"cost\s+\$0\.\d{6}\s+\$0\.\d{6}", plain)  # the store's estimates
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)


async def test_d_compares_the_choices_of_one_completion(reading_db: Path) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-other")
        await pilot.press("d")  # nothing marked, one choice: says what to do
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        assert any("Press = on a completion" in str(n.message) for n in app._notifications)
        await _select(app, pilot, "chatcmpl-two")
        await pilot.press("d")
        await pilot.pause()
        await app.wait_idle()
        assert isinstance(app.screen, CompareScreen)
        plain = app.screen.plain
        assert "chatcmpl-two choice 0  ⟷  chatcmpl-two choice 1" in plain
        assert "Input messages" not in plain  # the same inputs by construction


# -- $PAGER / $EDITOR -------------------------------------------------------------------------


def _copier(out: Path, status: int = 0) -> str:
    """A real program for $PAGER / $EDITOR: copies the file it gets, notes its path and mode."""
    code = (
        "import os, shutil, stat, sys; p = sys.argv[1]; "
        f"shutil.copy(p, {str(out)!r}); "
        f"open({str(out) + '.meta'!r}, 'w').write(p + ' ' + oct(stat.S_IMODE(os.stat(p).st_mode))); "
        f"sys.exit({status})"
    )
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


async def test_p_opens_the_message_in_the_pager_read_only_and_removes_it(
    reading_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", _copier(out))
    app = make_app(reading_db)
    async with app.run_test(size=(120, 20)) as pilot:  # small: the conversation scrolls
        await _select(app, pilot, "chatcmpl-md")
        await pilot.press("p")  # not scrolled: the reply
        await pilot.pause()
        assert out.read_text(encoding="utf-8") == REPLY
        path, mode = (tmp_path / "paged.txt.meta").read_text().split()
        assert mode == "0o400" and not Path(path).exists()
        await pilot.press("tab", "j")  # scrolled: the message at the top, the system prompt
        await pilot.pause()
        assert app.doc().scroll_y == 1
        await pilot.press("p")
        await pilot.pause()
        assert out.read_text(encoding="utf-8") == SYSTEM
        while app.tabs.active_key != "raw":  # `]` up to the JSON tab: the whole object
            await pilot.press("right_square_bracket")
        await pilot.press("p")
        await pilot.pause()
        assert json.loads(out.read_text(encoding="utf-8"))["id"] == "chatcmpl-md"


async def test_pager_gets_escapes_made_visible_and_the_editor_the_exact_text(
    reading_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged, edited = tmp_path / "paged.txt", tmp_path / "edited.txt"
    monkeypatch.setenv("PAGER", _copier(paged))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", _copier(edited))
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-esc")
        await pilot.press("p", "E")
        await pilot.pause()
        assert paged.read_text(encoding="utf-8") == "before ␛]52;c;ZXZpbA==␇ after ␛[31mred␛[0m"
        assert edited.read_text(encoding="utf-8") == "before \x1b]52;c;ZXZpbA==\x07 after \x1b[31mred\x1b[0m"


async def test_a_missing_or_failing_pager_is_one_clear_line(
    reading_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(reading_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(app, pilot, "chatcmpl-md")
        monkeypatch.setenv("PAGER", "ccbrowser-no-such-pager --flag")
        await pilot.press("p")
        monkeypatch.setenv("PAGER", _copier(tmp_path / "x.txt", status=3))
        await pilot.press("p")
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert "ccbrowser: pager not found: 'ccbrowser-no-such-pager' ($PAGER); set $PAGER" in said
        assert any(m.startswith("ccbrowser: pager ") and m.endswith("exited with status 3") for m in said)
        assert all("\n" not in m for m in said)
        temp = Path((tmp_path / "x.txt.meta").read_text().split()[0])
        assert not temp.exists()  # removed, though the pager failed


def test_the_detail_header_shows_a_tiny_cost_not_zero(tmp_path: Path) -> None:

    from ccbrowser.cli import main
    from ccbrowser.store.db import open_db
    from ccbrowser.store.reader import detail
    from ccbrowser.tui.widgets.detail import header

    src, db = tmp_path / "one.jsonl", tmp_path / "c.db"
    row = {
        "id": "chatcmpl-tiny",
        "object": "chat.completion",
        "created": 1_767_000_000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 43, "total_tokens": 54},
    }
    src.write_text(json.dumps(row) + "\n")
    assert main(["--db", str(db), "import", str(src)]) == 0
    conn = open_db(db)
    try:
        d = detail(conn, "chatcmpl-tiny")
    finally:
        conn.close()
    assert d is not None and d.row.cost_usd is not None and 0 < d.row.cost_usd < 0.0001
    text = header(d).plain
    assert text.endswith("  $0.000027"), text
