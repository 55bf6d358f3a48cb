"""Snapshot tests of the main screens at 60x15, 80x24, 100x30 and 160x48 (pytest-textual-snapshot).

The scenarios are the ones `python -m ccbrowser.tui.screenshots` uses for the README. Clock,
corpus, time zone (conftest: TZ=UTC), cursor blink and animations are fixed; env and XDG dirs are
isolated by conftest. Update with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ccbrowser.demo_corpus import build
from ccbrowser.tui.screenshots import DEMO_SEED, SCENARIOS, freeze_timezone, make_app

SNAPSHOT_COUNT = 1000


@pytest.fixture(scope="session")
def snapshot_db_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("snap") / "demo.db", SNAPSHOT_COUNT, seed=DEMO_SEED, chats=True)


@pytest.fixture
def snapshot_db(snapshot_db_source: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "demo.db"
    shutil.copy(snapshot_db_source, dest)
    return dest


SIZES = [(60, 15), (80, 24), (100, 30), (160, 48)]  # a split tmux pane .. a big window


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_snapshot(name: str, size: tuple[int, int], snapshot_db: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    freeze_timezone()
    app = make_app(snapshot_db)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await SCENARIOS[name](app, pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
