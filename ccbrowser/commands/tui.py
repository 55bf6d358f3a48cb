"""`ccbrowser tui`: browse the local mirror (the default command)."""

from __future__ import annotations

import argparse

from ccbrowser.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-sync", action="store_true", help="do not sync in the background (browse offline)"
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="profile to sync (default: the config's default_profile)"
    )


def require_terminal() -> None:
    """A full-screen app on a pipe pours escape codes into it and never ends: refuse clearly."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the TUI needs a terminal; in scripts use `ccbrowser search`, `show` or `export`")


def run(args: argparse.Namespace) -> int:
    require_terminal()
    from ccbrowser.cli import db_path
    from ccbrowser.paths import config_path
    from ccbrowser.tui.keymap import KeymapError, load_keymap

    try:
        keymap = load_keymap(config_path())
    except KeymapError as exc:
        raise UsageError(str(exc)) from None
    from ccbrowser.tui.app import CCBrowserApp  # Textual only now: `ccbrowser search` never pays for it

    app = CCBrowserApp(db_path(args), sync=not args.no_sync, profile=args.profile, keymap=keymap)
    app.run()
    return int(app.return_code or 0)
