"""Snapshots of curation in the TUI: marks with their count in the status bar, and the facets
panel of a query. Update with `pytest tests/test_tui_curate_snapshots.py --snapshot-update`."""

from __future__ import annotations

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


SCENARIOS = {"marked": marked, "facets": facets}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_snapshot(name: str, source: Path, tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    freeze_timezone()
    db = tmp_path / "demo.db"
    shutil.copy(source, db)
    app = make_app(db)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await SCENARIOS[name](app, pilot)

    assert snap_compare(app, terminal_size=(140, 36), run_before=run_before)
