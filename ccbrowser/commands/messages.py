"""`ccbrowser messages ID [--json]`: the stored input messages of a completion."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="completion id (or a unique prefix of one)")
    parser.add_argument(
        "--json", action="store_true", help="a JSON array of the messages as the API returned them"
    )


def run(args: argparse.Namespace) -> int:
    from ccbrowser.commands.formats import dumps
    from ccbrowser.render import json_for_terminal, message_block
    from ccbrowser.store import open_existing, reader

    conn = open_existing(args.db)
    cid = reader.resolve_id(conn, args.id)
    msgs = reader.input_messages(conn, cid)
    state = reader.messages_state(conn, cid)
    if args.json:
        sys.stdout.write(json_for_terminal(dumps(msgs)) + "\n")
    else:
        sys.stdout.write("\n".join(message_block(m) for m in msgs) + ("\n" if msgs else ""))
    if state is None:
        sys.stderr.write(
            f"ccbrowser: the input messages of {cid} have not been fetched yet (run `ccbrowser sync`)\n"
        )
    elif state == "missing":
        sys.stderr.write(f"ccbrowser: the server had no input messages for {cid} (404)\n")
    return 0
