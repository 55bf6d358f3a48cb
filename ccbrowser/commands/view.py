"""`ccbrowser view save NAME QUERY | list | delete NAME`: named queries, kept in the config file.

Views live in the config file's `[views]` table (human-editable TOML, so they travel with a user's
dotfiles); `@NAME` in any query (`search`, `export`, `label --query`, the TUI's search box) stands
for the view. Saving checks the query first: a view that cannot be searched is never written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    save = sub.add_parser("save", help="save QUERY under NAME (replaces a view of that name)")
    save.add_argument("name", metavar="NAME")
    save.add_argument("query", nargs="+", metavar="QUERY")
    sub.add_parser("list", help="list the saved views")
    delete = sub.add_parser("delete", help="delete a saved view")
    delete.add_argument("name", metavar="NAME")


def config_of(args: argparse.Namespace) -> Any:
    """The loaded config (commands that need it only for views load it here, on demand)."""
    from ccbrowser.config import load_config

    if getattr(args, "config", None) is None:
        args.config = load_config()
    return args.config


def expand_query(args: argparse.Namespace, text: str) -> str:
    """`text` with its `@NAME` views expanded (the config file is read only when there is one)."""
    from ccbrowser.search.views import expand, references

    if not references(text):
        return text
    return expand(text, config_of(args).views)


def run(args: argparse.Namespace) -> int:
    from ccbrowser.config_edit import delete_view, save_view
    from ccbrowser.errors import UsageError
    from ccbrowser.paths import config_path
    from ccbrowser.safe import one_line

    config = config_of(args)
    path = config.path or config_path()
    if args.action == "list" or args.action is None:
        views = config.views
        if not views:
            sys.stderr.write("ccbrowser: no saved views (`ccbrowser view save NAME QUERY`)\n")
            return 0
        width = min(24, max(len(n) for n in views) + 1)
        for name, query in views.items():
            sys.stdout.write(f"@{name:<{width}} {one_line(query)}\n")
        return 0
    if args.action == "save":
        from ccbrowser import search
        from ccbrowser.search.views import expand

        query = " ".join(args.query)
        others = {k: v for k, v in config.views.items() if k != args.name}
        search.parse(expand(query, {**others, args.name: query}))  # a bad query or a cycle: exit 2
        _, old = save_view(path, args.name, query)
        if old is None:
            sys.stdout.write(f"saved @{args.name}: {one_line(query)}\n")
        elif old == query:
            sys.stdout.write(f"@{args.name} unchanged: {one_line(query)}\n")
        else:
            sys.stdout.write(f"replaced @{args.name}: {one_line(old)} -> {one_line(query)}\n")
        return 0
    if args.action == "delete":
        delete_view(path, args.name)
        sys.stdout.write(f"deleted @{args.name}\n")
        return 0
    raise UsageError(f"unknown view action {args.action!r}")  # pragma: no cover - argparse checks
