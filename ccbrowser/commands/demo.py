"""`ccbrowser demo`: the emulator + the real sync engine + the TUI, on a throw-away database.

No key and no network: the emulator serves a realistic corpus on a free loopback port, the real
client syncs it over a real socket into a temporary directory, and the TUI opens while the sync
keeps filling the list in the background. Everything is removed on exit, an interrupted one
too: SIGTERM and SIGHUP end the demo like Ctrl-C does (the temporary directory is removed on the
way out), and a demo killed outright (SIGKILL) leaves a directory the next demo removes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from ccbrowser.words import plural

DEMO_KEY = "demo-key-not-secret"
PREFIX = "ccbrowser-demo-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--count", type=int, default=3000, metavar="N", help="completions in the corpus (default 3000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument(
        "--no-tui", action="store_true", help="sync, print a summary and exit (CI smoke test)"
    )
    parser.add_argument(
        "--keep", metavar="DIR", help="keep the demo database in DIR instead of a temporary one"
    )


def run(args: argparse.Namespace) -> int:
    from ccbrowser.commands.tui import require_terminal
    from ccbrowser.config import Secret, Settings
    from ccbrowser.emulator.app import EmulatorOptions
    from ccbrowser.emulator.server import run_in_thread
    from ccbrowser.errors import UsageError

    if not args.no_tui:
        require_terminal()
    if args.count < 0:
        raise UsageError("--count must be >= 0")
    _remove_abandoned()
    with _ended_by_signals(), tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        (Path(tmp) / "pid").write_text(str(os.getpid()))
        folder = Path(args.keep).expanduser() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "demo.db"
        options = EmulatorOptions(count=args.count, seed=args.seed, api_key=DEMO_KEY, chats=True)
        with run_in_thread(options) as emu:
            settings = Settings(
                profile="demo",
                base_url=emu.base_url,
                flavor="openai",
                api_key=Secret(DEMO_KEY),
                api_key_env=None,
            )
            if args.no_tui:
                return _sync_and_report(db, settings)
            from ccbrowser.tui.app import CCBrowserApp

            app = CCBrowserApp(db, profile="demo", settings_override=settings, sync_interval=60.0)
            _APP[:] = [app]
            try:
                app.run()
            finally:
                _APP.clear()
            return int(app.return_code or 0)


_APP: list[Any] = []  # the demo's running TUI, if any


@contextmanager
def _ended_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does: the `with` blocks unwind and the temporary
    database goes with them (the default action would kill the process first). A running TUI is
    asked to exit, so that it gives the terminal back."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if _APP and _APP[0].is_running:
            try:
                asyncio.get_running_loop().call_soon_threadsafe(partial(_APP[0].exit, return_code=130))
                return
            except RuntimeError:
                pass
        raise KeyboardInterrupt

    old = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _remove_abandoned() -> None:
    """Remove demo directories whose process is gone (a demo killed with SIGKILL)."""
    for folder in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((folder / "pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue  # another user's, or one being made: not ours to judge


def _sync_and_report(db: Path, settings: object) -> int:
    from ccbrowser.store import reader
    from ccbrowser.store.db import open_db
    from ccbrowser.sync.engine import sync_blocking

    start = time.perf_counter()
    summary = sync_blocking(db, settings)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    conn = open_db(db)
    try:
        total = reader.count(conn)
        models = reader.model_counts(conn)[:5]
    finally:
        conn.close()
    out = sys.stdout
    out.write(summary.line() + "\n")
    out.write(f"demo database: {plural(total, 'completion')} in {seconds:.1f} s\n")
    out.write("top models: " + ", ".join(f"{m} ({n:,})" for m, n in models) + "\n")
    return 0
