"""Shared by the TUI tests: a deterministic sample database and an app that waits for its readers."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from ccbrowser.demo_corpus import FROZEN_NOW, build
from ccbrowser.tui.app import CCBrowserApp

SAMPLE_COUNT = 400
_cache: dict[tuple[int, int], Path] = {}


def sample_db(dest: Path, cache_dir: Path, count: int = SAMPLE_COUNT, seed: int = 7) -> Path:
    """A copy of a sample database built once per session."""
    key = (count, seed)
    src = _cache.get(key)
    if src is None or not src.exists():
        src = build(cache_dir / f"sample-{count}-{seed}.db", count, seed=seed)
        _cache[key] = src
    shutil.copy(src, dest)
    return dest


def make_app(db: Path, **kwargs: object) -> CCBrowserApp:
    options: dict[str, object] = {
        "sync": False,
        "watch": False,
        "system_clipboard": False,
        "cursor_blink": False,
        "clock": lambda: float(FROZEN_NOW),
        "sync_interval": 0,
    }
    options.update(kwargs)
    app = CCBrowserApp(db, **options)  # type: ignore[arg-type]
    app.animation_level = "none"  # the tab underline animates; tests should not wait for it
    return app


def newest_first_ids(db: Path) -> list[str]:
    """The list's order, read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM completions ORDER BY created DESC, pk DESC")]
    finally:
        conn.close()
