"""`ccbrowser label ID... [--star|--unstar] [--tag T] [--untag T] [--note TEXT] [--query Q] [--thread] [--push]`.

Local labels: kept in the database (never sent anywhere unless `--push` says so), found again with
`is:starred`, `tag:NAME`, `-tag:NAME` and `has:note`. Ids are full ids or unique prefixes, as
everywhere; `--query Q` labels every match instead. Without a change it prints the labels. With
changes it says what changed, counting only the completions that were not already so.
`--thread` makes each id (or match) stand for its whole conversation: a label on a thread is that
label on every completion of it (docs/architecture.md, "Curation"), as `s` / `t` / `a` do in the
TUI's conversation list.

`--push` also writes the tags to the server's metadata (`POST /chat/completions/{id}`) as one key,
`tags`, holding the completion's tags comma-separated, merged with the metadata it already has;
the server allows 16 keys and values of 512 characters, so anything beyond is refused before a
request is made. It shows what will change and asks (`--yes` for scripts).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="completion ids (or unique prefixes)")
    parser.add_argument("--query", "-q", metavar="Q", help="label every completion matching Q instead")
    parser.add_argument(
        "--thread", action="store_true", help="each id (or match) stands for its whole conversation"
    )
    star = parser.add_mutually_exclusive_group()
    star.add_argument("--star", action="store_true", help="star them")
    star.add_argument("--unstar", action="store_true", help="remove the star")
    parser.add_argument("--tag", action="append", default=[], metavar="T", help="add tag T (repeatable)")
    parser.add_argument("--untag", action="append", default=[], metavar="T", help="remove tag T (repeatable)")
    parser.add_argument("--note", metavar="TEXT", help='set the note ("" clears it)')
    parser.add_argument(
        "--push", action="store_true", help="also write the tags to the server's metadata (key `tags`)"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="push without asking")
    parser.add_argument("--profile", help="the profile to push through (default: the default profile)")


def targets(args: argparse.Namespace, conn: Any, ids: Sequence[str], query: str | None) -> list[str]:
    """The completion ids a command acts on: the given ids (or prefixes), or the matches of `query`."""
    from ccbrowser import search
    from ccbrowser.errors import UsageError
    from ccbrowser.store import reader
    from ccbrowser.store.labels import ids_of

    if ids and query is not None:
        raise UsageError("give completion ids or --query, not both")
    if query is not None:
        from ccbrowser.commands.view import expand_query

        q = search.parse(expand_query(args, query))
        for hint in search.hints(conn, q):
            sys.stderr.write(f"ccbrowser: note: {hint}\n")
        return ids_of(conn, search.matching_pks(conn, q, sort="newest"))
    if not ids:
        raise UsageError("give completion ids (or --query Q)")
    return list(dict.fromkeys(reader.resolve_id(conn, i) for i in ids))


def _validate(args: argparse.Namespace) -> None:
    from ccbrowser.errors import UsageError
    from ccbrowser.store.labels import note_problem, tag_problem

    for tag in [*args.tag, *args.untag]:
        if problem := tag_problem(tag):
            raise UsageError(problem)
    if both := set(args.tag) & set(args.untag):
        raise UsageError(f"--tag and --untag name the same tag ({sorted(both)[0]})")
    if args.note is not None and (problem := note_problem(args.note)):
        raise UsageError(problem)
    if args.yes and not args.push:
        raise UsageError("--yes only confirms --push")
    if args.push and not args.yes and not sys.stdin.isatty():
        raise UsageError("--push asks before writing to the server: run it on a terminal, or add --yes")


def describe(change: Any, total: int, star: bool | None, note: str | None) -> str:
    """One line saying what `change` did to `total` completions (already-so ones are noted)."""
    noun = "completion" if total == 1 else "completions"
    parts: list[str] = []

    def part(verb: str, n: int, already: str) -> None:
        rest = total - n
        parts.append(f"{verb} {n}" + (f" ({rest} {already})" if rest else ""))

    if star is not None:
        if star:
            part("starred", change.starred, "already starred")
        else:
            part("unstarred", change.unstarred, "were not starred")
    for tag, n in change.tagged.items():
        part(f"tag {tag} added to", n, "already had it")
    for tag, n in change.untagged.items():
        part(f"tag {tag} removed from", n, "did not have it")
    if note is not None:
        if note:
            part("note set on", change.noted, "already had that note")
        else:
            part("note cleared on", change.unnoted, "had none")
    return f"{total:,} {noun}: " + "; ".join(parts)


def _show(conn: Any, ids: Sequence[str]) -> None:
    from ccbrowser.safe import one_line
    from ccbrowser.store.labels import labels_of

    found = labels_of(conn, ids)
    for cid in ids:
        label = found.get(cid)
        if label is None:
            sys.stdout.write(f"{one_line(cid)}  (no labels)\n")
            continue
        bits = ["starred"] if label.starred else []
        if label.tags:
            bits.append("tags: " + ", ".join(one_line(t) for t in label.tags))
        if label.note is not None:
            bits.append("note: " + one_line(label.note, 60))
        sys.stdout.write(f"{one_line(cid)}  " + "  ".join(bits) + "\n")


def run(args: argparse.Namespace) -> int:
    from ccbrowser.store import labels as store_labels
    from ccbrowser.store import open_existing

    _validate(args)
    conn = open_existing(args.db)
    ids = targets(args, conn, args.ids, args.query)
    if args.thread:
        ids = list(dict.fromkeys(m for cid in ids for m in store_labels.thread_members(conn, cid)))
    star = True if args.star else False if args.unstar else None
    changing = star is not None or args.tag or args.untag or args.note is not None
    if not changing and not args.push:
        _show(conn, ids)
        return 0
    if not ids:
        sys.stderr.write("ccbrowser: no completions match; nothing labelled\n")
        return 0
    if args.push:
        from ccbrowser.commands.label_push import plan_push

        pushes = plan_push(conn, ids, add=args.tag, remove=args.untag)
    if changing:
        change = store_labels.apply(
            conn, ids, star=star, add_tags=args.tag, remove_tags=args.untag, note=args.note
        )
        sys.stdout.write(describe(change, len(ids), star, args.note) + "\n")
    if args.push:
        from ccbrowser.commands.label_push import push

        return push(args, pushes)
    return 0
