"""Snapshots of curation in the TUI: marks with their count in the status bar, the facets panel
of a query, the note editor and a saved note in the detail, the push confirmation (keys added,
changed, refused). Update with `pytest tests/test_tui_curate_snapshots.py --snapshot-update`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ccbrowser.demo_corpus import build
from ccbrowser.store import labels, open_db
from ccbrowser.tui.screenshots import DEMO_SEED, freeze_timezone, make_app


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build(tmp_path_factory.mktemp("curate-snap") / "demo.db", 600, seed=DEMO_SEED)
    conn = open_db(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM completions ORDER BY pk")]
    labels.apply(conn, ids[::5], add_tags=["good"])
    labels.apply(conn, ids[::11], add_tags=["bad"])
    conn.close()
    return path


async def marked(app: Any, pilot: Any) -> None:
    await app.wait_idle()
    await pilot.press("space", "j", "space", "j", "j", "v")
    await pilot.pause()


async def facets(app: Any, pilot: Any) -> None:
    await app.wait_idle()
    await pilot.press("slash", *"refund", "enter")
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.press("F")
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.pause()


async def note(app: Any, pilot: Any) -> None:
    await app.wait_idle()
    await pilot.press("a")
    await pilot.pause(0.2)
    await pilot.press(*"Check the refund amount", "enter", *"against order A-8812 [/]")
    await pilot.pause()


async def noted(app: Any, pilot: Any) -> None:
    await note(app, pilot)
    await pilot.press("ctrl+s")
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.press("s")
    await pilot.pause(0.3)
    await app.wait_idle()
    app.clear_notifications()
    await pilot.pause()


async def push(app: Any, pilot: Any) -> None:
    """Three tagged completions: one gains `tags`, one has `tags` already, one has 16 keys."""
    from ccbrowser.config import Secret, Settings

    app.settings_override = Settings(
        profile="work", base_url="https://api.example.invalid/v1", api_key=Secret("k"), api_key_env=None
    )
    await app.wait_idle()
    await pilot.press("slash", *"tag:good", "enter")
    await pilot.pause(0.3)
    await app.wait_idle()
    conn = open_db(app.db_path)
    ids = labels.ids_of(conn, list(app.completion_list.pks[:3]))
    meta = [{"env": "prod", "tags": "old"}, {f"k{i}": "v" for i in range(16)}]
    for cid, md in zip(ids[1:], meta, strict=True):
        conn.execute("UPDATE completions SET metadata = ? WHERE id = ?", (json.dumps(md), cid))
    conn.commit()
    conn.close()
    await pilot.press("space", "space", "space", "P")
    await pilot.pause(0.3)
    await app.wait_idle()
    await pilot.pause()


SCENARIOS = {"marked": marked, "facets": facets, "note": note, "noted": noted, "push": push}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_snapshot(name: str, source: Path, tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    freeze_timezone()
    db = tmp_path / "demo.db"
    shutil.copy(source, db)
    app = make_app(db)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await SCENARIOS[name](app, pilot)

    assert snap_compare(app, terminal_size=(140, 36), run_before=run_before)
