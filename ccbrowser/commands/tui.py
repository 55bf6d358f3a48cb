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
    from ccbrowser.config import Config
    from ccbrowser.errors import ConfigError
    from ccbrowser.tui.keymap import KEYS

    config: Config = args.config or Config()
    keymap = config.keys  # typed by the config's schema; the binding ids are the TUI's to know
    known = {s.id for s in KEYS}
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise ConfigError(
            f"config file {config.path}: unknown binding id keys.{unknown[0]} (see ? in the TUI)"
        )
    empty = sorted(k for k, v in keymap.items() if not v.strip())
    if empty:
        raise ConfigError(f'config file {config.path}: keys.{empty[0]} must name keys, such as "j,down"')
    if args.profile is not None and args.profile not in config.profile_names:
        raise UsageError(
            f"no profile {args.profile!r} in the config file (known: {', '.join(config.profile_names)})"
        )
    if args.db.is_file():  # costs computed from other prices are recomputed here, with a progress line
        from ccbrowser.commands.prices import ensure_costs, pricer_for
        from ccbrowser.store.db import open_reader

        conn = open_reader(args.db)
        try:
            ensure_costs(conn, pricer_for(args))
        finally:
            conn.close()
    from ccbrowser.tui.app import CCBrowserApp  # Textual only now: `ccbrowser search` never pays for it

    app = CCBrowserApp(args.db, sync=not args.no_sync, profile=args.profile, keymap=keymap, config=config)
    app.run()
    return int(app.return_code or 0)
