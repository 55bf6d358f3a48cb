"""Pushing tags from the TUI (`P`), against the emulator over loopback HTTP: the app's profile
points at it. It asks first and shows what changes (keys added, changed; refusals before any
request), pushes on a worker, reports in the status bar, and never loses a local label."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import KEY, NOW, settings_for, sync
from test_tui_support import make_app

from ccbrowser.config import parse_config
from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.faults import FaultOptions
from ccbrowser.emulator.server import RunningEmulator, run_in_thread
from ccbrowser.store import labels, open_db
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.screens.push import ConfirmPush

KEY_ENV = "CCBROWSER_TEST_PUSH_KEY"
OPTIONS = {"count": 30, "seed": 9, "now": NOW, "api_key": KEY}


@pytest.fixture
def upstream() -> Iterator[RunningEmulator]:
    with run_in_thread(EmulatorOptions(**OPTIONS)) as emu:  # type: ignore[arg-type]
        yield emu


def _app(db: Path, emu: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CCBrowserApp:
    """The app with a config whose profile `emu` points at the emulator (its key from the env)."""
    monkeypatch.setenv(KEY_ENV, KEY)
    config = parse_config(
        {
            "default_profile": "emu",
            "profiles": {"emu": {"base_url": emu.base_url, "api_key_env": KEY_ENV, "flavor": "openai"}},
        },
        tmp_path / "config.toml",
    )
    return make_app(db, config=config)


def _server_md(emu: RunningEmulator, cid: str) -> dict[str, str]:
    rec = emu.state.get(cid)
    assert rec is not None
    return dict(rec[0].get("metadata") or {})


def _tag(db: Path, ids: list[str], tag: str) -> None:
    conn = open_db(db)
    try:
        labels.apply(conn, ids, add_tags=[tag])
    finally:
        conn.close()


def _labels(db: Path, ids: list[str]) -> dict[str, labels.Label]:
    conn = open_db(db)
    try:
        return labels.labels_of(conn, ids)
    finally:
        conn.close()


async def _until(app: CCBrowserApp, pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await pilot.pause(0.05)
    await app.wait_idle()
    await pilot.pause()


async def _mark_tagged(app: CCBrowserApp, pilot: Any, n: int) -> None:
    """Search `tag:good`, then mark every row."""
    await pilot.press("slash", *"tag:good", "enter")
    await _until(app, pilot, lambda: app.status.state.matches == n and not app.status.state.searching)
    await pilot.press(*["space"] * n)
    assert app.status.state.marked == n


def _plan_text(app: CCBrowserApp) -> str:
    assert isinstance(app.screen, ConfirmPush)
    return (
        str(app.screen.query_one("#push-lines").render())
        + "\n"
        + str(app.screen.query_one("#push-summary").render())
    )


async def test_p_asks_shows_the_changes_and_refusals_then_pushes(
    upstream: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = upstream
    full, keyed, plain = emu.state.snapshot_ids()[:3]
    emu.state.update_metadata(full, {f"k{i}": "v" for i in range(16)})  # no room for `tags`
    emu.state.update_metadata(keyed, {"env": "prod", "tags": "old"})  # `tags` changes
    db = tmp_path / "push.db"
    await asyncio.to_thread(sync, db, settings_for(emu))
    _tag(db, [full, keyed, plain], "good")
    before = {cid: _server_md(emu, cid) for cid in (full, keyed, plain)}
    emu.state.reset_counters()
    app = _app(db, emu, tmp_path, monkeypatch)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.wait_idle()
        await _mark_tagged(app, pilot, 3)
        await pilot.press("P")
        await _until(app, pilot, lambda: isinstance(app.screen, ConfirmPush))
        text = _plan_text(app)
        assert f"{plain}  + tags = 'good'" in text
        assert f"{keyed}  ~ tags: 'old' -> 'good'" in text and "env" not in text  # only what changes
        assert f"{full}  refused: 17 metadata keys (the server allows 16)" in text
        assert "2 completions to update · 1 refused (not sent)" in text
        assert emu.state.requests() == 0  # asking costs no request
        await pilot.press("escape")  # no: nothing is sent
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmPush) and emu.state.requests() == 0
        assert app.status.state.push_text is None
        await pilot.press("ctrl+p")  # the palette's entry does the same as P
        await pilot.pause()
        await pilot.press(*"push the tags")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _until(app, pilot, lambda: isinstance(app.screen, ConfirmPush))
        assert f"{full}  refused" in _plan_text(app)
        await pilot.press("enter")
        await _until(app, pilot, lambda: (app.status.state.push_text or "").startswith("pushed"))
        assert app.status.state.push_text == "pushed tags of 2"
        assert "⇡ pushed tags of 2" in str(app.status.render_state())
    assert emu.state.requests("update") == 2  # the refused one was never sent
    assert _server_md(emu, plain) == {**before[plain], "tags": "good"}
    assert _server_md(emu, keyed) == {"env": "prod", "tags": "good"}
    assert _server_md(emu, full) == before[full]
    assert all(lab.tags == ("good",) for lab in _labels(db, [full, keyed, plain]).values())
    conn = open_db(db)
    try:  # the server's answer is in the mirror
        got = conn.execute("SELECT metadata FROM completions WHERE id = ?", (plain,)).fetchone()[0]
        assert '"tags":"good"' in got.replace(" ", "")
    finally:
        conn.close()


async def test_a_server_error_is_one_line_and_the_local_labels_stay(
    upstream: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "fail.db"
    await asyncio.to_thread(sync, db, settings_for(upstream))
    ids = upstream.state.snapshot_ids()[:2]
    _tag(db, ids, "good")
    faults = FaultOptions(error_rate=1.0, error_retry_after_ms=1, seed=1)  # every request: a 5xx
    with run_in_thread(EmulatorOptions(**OPTIONS, faults=faults)) as broken:  # type: ignore[arg-type]
        before = {cid: _server_md(broken, cid) for cid in ids}
        app = _app(db, broken, tmp_path, monkeypatch)
        async with app.run_test(size=(140, 40)) as pilot:
            await app.wait_idle()
            await _mark_tagged(app, pilot, 2)
            await pilot.press("P")
            await _until(app, pilot, lambda: isinstance(app.screen, ConfirmPush))
            await pilot.press("y")
            await _until(app, pilot, lambda: "failed" in (app.status.state.push_text or ""))
            assert app.status.state.push_text == "pushed tags of 0 · 2 failed"
            notes = [str(n.message) for n in app._notifications]
            assert sum(ids[0] in n or ids[1] in n for n in notes) == 2, notes
            assert all("Traceback" not in n and KEY not in n for n in notes)
            assert app.is_running
        assert broken.state.requests("update") == 0  # the reads failed first: nothing half-written
        assert {cid: _server_md(broken, cid) for cid in ids} == before
    assert all(lab.tags == ("good",) for lab in _labels(db, ids).values()) and len(_labels(db, ids)) == 2


async def test_nothing_to_push_and_no_key_say_so_without_asking(
    upstream: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "none.db"
    await asyncio.to_thread(sync, db, settings_for(upstream))
    upstream.state.reset_counters()
    app = _app(db, upstream, tmp_path, monkeypatch)
    async with app.run_test(size=(140, 40)) as pilot:
        await app.wait_idle()
        await pilot.press("P")  # the cursor's completion has no tags and the server none either
        await _until(app, pilot, lambda: bool(app._notifications))
        assert not isinstance(app.screen, ConfirmPush)
        assert any("nothing to push" in str(n.message) for n in app._notifications)
        monkeypatch.delenv(KEY_ENV)
        app.clear_notifications()
        await pilot.press("P")
        await pilot.pause()
        assert any(f"set {KEY_ENV} to push" in str(n.message) for n in app._notifications)
    assert upstream.state.requests() == 0


async def test_a_refused_key_stops_the_push_with_one_line(
    upstream: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "key.db"
    await asyncio.to_thread(sync, db, settings_for(upstream))
    ids = upstream.state.snapshot_ids()[:1]
    _tag(db, ids, "good")
    app = _app(db, upstream, tmp_path, monkeypatch)
    wrong = "sk-wrong-key-0123456789"
    monkeypatch.setenv(KEY_ENV, wrong)  # read when P is pressed, as a sync reads it
    upstream.state.reset_counters()
    async with app.run_test(size=(140, 40)) as pilot:
        await app.wait_idle()
        await _mark_tagged(app, pilot, 1)
        await pilot.press("P")
        await _until(app, pilot, lambda: isinstance(app.screen, ConfirmPush))
        await pilot.press("enter")
        await _until(app, pilot, lambda: (app.status.state.push_text or "").startswith("push failed"))
        shown = str(app.status.render_state()) + " ".join(str(n.message) for n in app._notifications)
        assert app.status.state.push_text.startswith("push failed: the API rejected the key (401")
        assert f"check ${KEY_ENV}" in shown
        assert wrong not in shown and KEY not in shown
    assert upstream.state.requests("update") == 0
    assert _labels(db, ids)[ids[0]].tags == ("good",)


def test_the_push_worker_posts_progress_then_one_result(upstream: RunningEmulator, tmp_path: Path) -> None:
    """`curation_io.run_push`, as the TUI's worker thread runs it: messages only, never a widget."""
    from ccbrowser.tui import curation_io
    from ccbrowser.tui.messages import Pushed, PushProgressed

    db = tmp_path / "worker.db"
    sync(db, settings_for(upstream))
    a, b, gone = upstream.state.snapshot_ids()[:3]
    upstream.state.delete(gone)
    posted: list[Any] = []
    tags = {a: ["good"], b: ["good", "keep"], gone: ["good"]}
    curation_io.run_push(posted.append, db, settings_for(upstream), tags, None)
    progress = [(m.done, m.total) for m in posted if isinstance(m, PushProgressed)]
    assert progress[0] == (1, 3) and progress[-1] == (3, 3)
    assert [type(m) for m in posted].count(Pushed) == 1 and isinstance(posted[-1], Pushed)
    result = posted[-1].result
    assert posted[-1].error is None and set(result.pushed) == {a, b}
    assert "not on the server" in result.failed[gone]
    assert _server_md(upstream, b)["tags"] == "good,keep"
