"""`ccbrowser show ID [--json]`: `--json` is the stored object, as strict JSON (see `formats`)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="completion id (or a unique prefix of one)")
    parser.add_argument("--json", action="store_true", help="the object exactly as the API returned it")


def run(args: argparse.Namespace) -> int:
    from ccbrowser.commands.formats import strict
    from ccbrowser.render import REMOVED_MARK, completion_text, json_for_terminal, local_time
    from ccbrowser.store import open_existing, reader

    conn = open_existing(args.db)
    cid = reader.resolve_id(conn, args.id)
    if args.json:
        raw = reader.get_raw(conn, cid)
        assert raw is not None
        sys.stdout.write(json_for_terminal(strict(raw)) + "\n")
        return 0
    d = reader.detail(conn, cid)
    assert d is not None
    state = d.row.messages_state
    extra = {
        "profile": d.row.profile,
        "removed": f"{REMOVED_MARK} removed upstream at {local_time(d.row.removed_at)}"
        if d.row.removed_at
        else None,
        "inputs": "not fetched yet"
        if state is None
        else ("missing upstream (404)" if state == "missing" else None),
    }
    sys.stdout.write(completion_text(d.raw, d.input_messages, extra))
    return 0
