"""`ccbrowser diff ID1 [ID2] [--json] [-U N]`: what differs between two completions.

With one id, the choices of that `n > 1` completion are compared (choice 0 against each other).
Exit codes follow diff(1): 0 the same, 1 different, 2 trouble (a bad or unknown id, no database),
so scripts can branch on it. Ids and the `created` time are not differences: two completions
always differ there.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id1", help="completion id (or a unique prefix of one)")
    parser.add_argument("id2", nargs="?", help="the other completion (none: compare the choices of ID1)")
    parser.add_argument(
        "--json", action="store_true", help="the comparison as JSON (fields, messages, words)"
    )
    parser.add_argument(
        "-U", "--unified", type=int, default=3, metavar="N", help="lines of context (default 3)"
    )


def run(args: argparse.Namespace) -> int:
    from ccbrowser.errors import CCBrowserError, UsageError

    try:
        if args.unified < 0:
            raise UsageError("-U must be 0 or more")
        return _run(args)
    except CCBrowserError as exc:  # exit 1 means "different" here: trouble is 2, as for diff(1)
        sys.stderr.write(f"ccbrowser: {exc}\n")
        return 2


def _run(args: argparse.Namespace) -> int:
    from ccbrowser import compare
    from ccbrowser.commands.formats import dumps
    from ccbrowser.errors import UsageError
    from ccbrowser.render import json_for_terminal
    from ccbrowser.store import open_existing, reader

    conn = open_existing(args.db)

    def side(id_or_prefix: str) -> compare.Side:
        d = reader.detail(conn, reader.resolve_id(conn, id_or_prefix))
        assert d is not None
        return compare.Side(d.row.id, d.raw, d.input_messages, d.row.cost_usd)

    left = side(args.id1)
    if args.id2 is None:
        sides = compare.choice_sides(left)
        if len(sides) < 2:
            raise UsageError(f"{left.label} has one choice: give a second id to compare with")
        pairs = [(sides[0], other) for other in sides[1:]]
    else:
        pairs = [(left, side(args.id2))]
    comparisons = [compare.compare(a, b) for a, b in pairs]
    if args.json:
        # JSON Lines like every other --json: one comparison a line (one id: a line per other choice).
        for c in comparisons:
            sys.stdout.write(json_for_terminal(dumps(c.as_json(), compact=True)) + "\n")
    else:
        sys.stdout.write("".join(compare.unified(a, b, args.unified) for a, b in pairs))
    return 0 if all(c.same for c in comparisons) else 1
