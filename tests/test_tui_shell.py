"""The TUI shell's plumbing: the background sync reports through messages, failed workers are
reported (never silent), progress lines replace each other in a busy queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_tui_support import make_app

from ccbrowser.config import Secret, Settings
from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import run_in_thread
from ccbrowser.tui.app import CCBrowserApp
from ccbrowser.tui.messages import SyncFinished, SyncProgressed

KEY = "test-key-not-secret"


def _settings(base_url: str, key: str) -> Settings:
    return Settings(profile="t", base_url=base_url, flavor="openai", api_key=Secret(key), api_key_env=None)


async def _until(app: CCBrowserApp, predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    await app.wait_idle()


async def test_background_sync_fills_the_list(db_path: Path) -> None:
    """The sync thread posts progress and `SyncFinished`; the commit shows up as `DataChanged`."""
    with run_in_thread(EmulatorOptions(count=120, seed=5, api_key=KEY)) as emu:
        app = make_app(db_path, sync=True, settings_override=_settings(emu.base_url, KEY))
        async with app.run_test(size=(120, 36)):
            await _until(app, lambda: len(app.completion_list.pks) == 120)
            state = app.status.state
            assert state.total == 120 and state.sync_error is None and state.connectivity is None
            await _until(app, lambda: app.status.state.sync_text is None)
            assert app.detail is not None


async def test_sync_error_is_shown_not_raised(db_path: Path) -> None:
    """A wrong key: the status bar says why, the app keeps browsing."""
    with run_in_thread(EmulatorOptions(count=10, seed=5, api_key=KEY)) as emu:
        app = make_app(db_path, sync=True, settings_override=_settings(emu.base_url, "wrong-key"))
        async with app.run_test(size=(120, 36)) as pilot:
            await _until(app, lambda: app.status.state.sync_error is not None)
            assert app.status.state.sync_text is None
            assert "wrong-key" not in str(app.status.render_state())  # never the key
            await pilot.press("j")
            assert app.is_running


async def test_failed_worker_is_reported(db_path: Path) -> None:
    """go_to_id of an unknown id: its worker raises NotFound; the one handler says so."""
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.wait_idle()
        app.go_to_id("chatcmpl-nothere")
        await pilot.pause(0.1)
        await app.wait_idle()
        await pilot.pause(0.1)
        notes = [n.message for n in app._notifications]
        assert any("no completion 'chatcmpl-nothere'" in m for m in notes), notes
        assert app.is_running


def test_progress_lines_replace_each_other_but_not_waits() -> None:
    counter, newer = SyncProgressed("1 listed"), SyncProgressed("2 listed")
    wait = SyncProgressed("rate limited, waiting…", replaceable=False)
    assert newer.can_replace(counter)
    assert not newer.can_replace(wait)  # a wait stays visible
    assert not wait.can_replace(counter)
    assert not newer.can_replace(SyncFinished(None, None))


async def test_the_app_uses_the_config_it_is_given(db_path: Path, tmp_path: Path) -> None:
    """Loaded once by the CLI: the profile in the status bar and the palette's profiles come from
    the Config object, and its [limits] bound the app's own sync (a 1-page walk cap here)."""
    from ccbrowser.config import parse_config

    config = parse_config(
        {"default_profile": "work", "profiles": {"work": {}, "home": {}}, "limits": {"max_pages": 1}},
        tmp_path / "config.toml",
    )
    with run_in_thread(EmulatorOptions(count=250, seed=5, api_key=KEY)) as emu:
        app = make_app(db_path, sync=True, settings_override=_settings(emu.base_url, KEY), config=config)
        async with app.run_test(size=(120, 36)):
            assert app.status.state.profile == "work"
            assert app.profile_names() == ["default", "work", "home"]
            await _until(app, lambda: app.status.state.sync_text is None and len(app.completion_list.pks) > 0)
            assert len(app.completion_list.pks) == 100  # one page of 100, then max_pages stopped it
