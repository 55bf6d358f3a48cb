"""`ccbrowser demo`: the emulator + the real sync engine + the TUI, on a throw-away database.

No key and no network: the emulator serves a realistic corpus on a free loopback port, the real
client syncs it over a real socket into a temporary directory, and the TUI opens while the sync
keeps filling the list in the background. Everything is removed on exit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

DEMO_KEY = "demo-key-not-secret"


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
    with tempfile.TemporaryDirectory(prefix="ccbrowser-demo-") as tmp:
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
            app.run()
            return int(app.return_code or 0)


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
    out.write(f"demo database: {total:,} completions in {seconds:.1f} s\n")
    out.write("top models: " + ", ".join(f"{m} ({n:,})" for m, n in models) + "\n")
    return 0
