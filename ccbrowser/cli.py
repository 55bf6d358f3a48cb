"""Argument parsing, dispatch and the error boundary.

Each subcommand lives in `ccbrowser.commands.<name>` with `add_arguments(parser)` and
`run(args) -> int`. Those modules import heavy things (Textual, httpx, uvicorn) inside `run`, so
that `ccbrowser search` never pays for the TUI. Before `run`, `main` resolves what every command
would otherwise work out (and import this module) for itself: `args.db` is the database `Path`,
`args.config` the loaded :class:`~ccbrowser.config.Config` (None for the commands that need none,
so a typo in the config file never breaks `ccbrowser search` in a script).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from ccbrowser import __version__
from ccbrowser.errors import CCBrowserError
from ccbrowser.paths import resolve_db_path

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("tui", "open the terminal UI (the default)"),
    "sync": ("sync", "mirror stored completions from the API into the local database"),
    "search": ("search", "search the local mirror with the query language"),
    "show": ("show", "show one completion (--json: exactly as the API returned it)"),
    "diff": ("diff", "what differs between two completions (exit 1 when they differ)"),
    "messages": ("messages", "show the stored input messages of a completion"),
    "thread": ("thread", "show the conversation that holds a completion, turn by turn"),
    "args": ("args", "print a tool call's arguments"),
    "export": ("export", "export matching completions as jsonl, csv or md"),
    "label": ("label", "star, tag or annotate completions (local; --push writes tags to the server)"),
    "view": ("view", "save, list or delete named queries (@NAME in any query)"),
    "import": ("importer", "import completions from a JSON Lines file"),
    "stats": ("stats", "counts, tokens and estimated costs by model, tier, day and tool"),
    "prices": ("prices", "the price data and tier factors costs are estimated with (--update)"),
    "emulator": ("emulator", "serve a local emulator of the stored completions API"),
    "demo": ("demo", "emulator + sync + TUI on a throw-away database"),
    "datasette-metadata": ("datasette", "write a Datasette metadata file for browsing the database"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that fails with one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"ccbrowser: error: {message}\n")
        raise SystemExit(2)


def add_db_argument(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Subcommands use SUPPRESS so that `ccbrowser --db X show ID` keeps the top-level value.
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None if top else argparse.SUPPRESS,
        help="database file (default: $CCBROWSER_DB or ccbrowser.db in the user data dir)",
    )


def db_path(args: argparse.Namespace) -> Path:
    """The database chosen by --db, else $CCBROWSER_DB, else the platform default."""
    value = getattr(args, "db", None)
    return value if isinstance(value, Path) else resolve_db_path(value)


# Commands that use no database of the user's: they are not offered `--db` (the demo makes a
# throw-away one; `demo --keep DIR` keeps it), and a top-level `--db` before them is refused.
NO_DB_COMMANDS = frozenset({"demo", "emulator"})
# Commands that use the config file (profiles, keys, limits).
CONFIG_COMMANDS = frozenset({"tui", "sync"})
# Commands that use the config file (profiles, keys, limits, prices). Those that only read costs
# (search, export, stats) load it leniently themselves (`commands.prices.open_priced`).
CONFIG_COMMANDS = frozenset({"tui", "sync", "import", "prices"})
# Commands that write into the database: a damaged file is refused before anything is written
# (one full read: PRAGMA quick_check). A one-off `sync` runs the check beside its network work
# instead (`args.integrity`, see `store.db.IntegrityCheck`) and never reports success on a
# damaged file; `sync --watch` and `import` check first.
CHECKED_COMMANDS = frozenset({"sync", "import"})


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ccbrowser", description="Browse and search your stored OpenAI chat completions.")
    parser.add_argument("--version", action="version", version=f"ccbrowser {__version__}")
    add_db_argument(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(f"ccbrowser.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ccbrowser.commands.{module_name}":
                raise
            continue  # command not built yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name not in NO_DB_COMMANDS:
            add_db_argument(p)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


# Commands whose positional words form a query: `-word` there is an exclusion, not an option.
QUERY_COMMANDS = frozenset({"search", "export", "view"})
_NEG = "\x00neg:"


def _protect_negations(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Hide `-word` query terms from argparse so `ccbrowser search order -refund` just works."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None:
        return argv
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if argv[i] == "--db" else 1  # top-level options before the command
    if i >= len(argv) or argv[i] not in QUERY_COMMANDS or argv[i] not in sub.choices:
        return argv
    options = sub.choices[argv[i]]._option_string_actions
    out = argv[: i + 1]
    rest = argv[i + 1 :]
    for j, arg in enumerate(rest):
        if arg == "--":
            out.extend(rest[j:])
            break
        prev = out[-1]
        value_of_prev = prev in options and options[prev].nargs != 0
        # `--word` is an option (a misspelt one is refused by argparse), never an exclusion.
        negation = arg.startswith("-") and not arg.startswith("--") and len(arg) > 1
        if negation and arg.split("=", 1)[0] not in options and not value_of_prev:
            out.append(_NEG + arg[1:])
        else:
            out.append(arg)
    return out


def _restore_negations(args: argparse.Namespace) -> None:
    query = getattr(args, "query", None)
    if isinstance(query, list):
        args.query = ["-" + q[len(_NEG) :] if q.startswith(_NEG) else q for q in query]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = _protect_negations(parser, list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    _restore_negations(args)
    if args.command is None:
        args = parser.parse_args([*argv, "tui"]) if "tui" in _available(parser) else args
        if args.command is None:
            parser.print_help()
            return 0
    if args.command in NO_DB_COMMANDS and args.db is not None:
        hint = " (--keep DIR keeps the demo's database)" if args.command == "demo" else ""
        sys.stderr.write(
            f"ccbrowser: error: {args.command} uses no --db: it never touches your database{hint}\n"
        )
        return 2
    try:
        args.db = db_path(args)
        args.config = None
        if args.command in CONFIG_COMMANDS:
            from ccbrowser.config import load_config

            args.config = load_config()
        args.integrity = None
        if args.command in CHECKED_COMMANDS and args.db.is_file() and args.db.stat().st_size:
            from ccbrowser.store.db import IntegrityCheck, open_checked

            if args.command == "sync" and not args.watch:
                args.integrity = IntegrityCheck(args.db)
            else:
                open_checked(args.db).close()
        try:
            rc = int(args._module.run(args) or 0)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        except CCBrowserError:
            if args.integrity is not None:
                args.integrity.result()  # a damaged file explains the failure better than the failure
            raise
        except BaseException:
            if args.integrity is not None:
                args.integrity.cancel()
            raise
        if args.integrity is not None:
            args.integrity.result()
        return rc
    except CCBrowserError as exc:
        cause = exc.__cause__ or exc.__context__
        if type(exc) is CCBrowserError and isinstance(cause, sqlite3.DatabaseError):
            return _database_error(cause, args)  # wrapped on its way up: name what is wrong
        sys.stderr.write(f"ccbrowser: {exc}\n")
        return exc.exit_code
    except sqlite3.DatabaseError as exc:
        return _database_error(exc, args)
    except KeyboardInterrupt:
        sys.stderr.write("ccbrowser: interrupted\n")
        return 130
    except BrokenPipeError:
        # `ccbrowser search ... | head`: the reader went away; that is not an error.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 0
    except OSError as exc:
        # Output that cannot be written (`> /dev/full`, a full disk): one line, never a traceback.
        where = f" {exc.filename}" if exc.filename else " the output"
        sys.stderr.write(f"ccbrowser: cannot write{where}: {exc.strerror or exc}\n")
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the unflushed rest goes nowhere
        except OSError:
            pass
        return 1


def _database_error(exc: sqlite3.DatabaseError, args: argparse.Namespace) -> int:
    """An SQLite error that reached the boundary: damaged, read-only, or else, in one line."""
    from ccbrowser.store.db import database_error

    error = database_error(exc, db_path(args))
    sys.stderr.write(f"ccbrowser: {error}\n")
    return error.exit_code


def _available(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()
