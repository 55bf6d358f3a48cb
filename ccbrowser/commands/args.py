"""`ccbrowser args ID [--call N|NAME]`: a tool call's arguments, pretty-printed.

Which call: `--call N` is the N-th call of the completion (from 1, in choice then call order);
`--call NAME` the first call of that tool. Without `--call`, the first call is printed and, when
there are others, they are listed on stderr. Arguments that are not valid JSON are printed
verbatim (control characters made visible on a terminal only) with a note on stderr: a script
piping them gets the exact bytes the model produced.
"""

from __future__ import annotations

import argparse
import sys

from ccbrowser.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="completion id (or a unique prefix of one)")
    parser.add_argument(
        "--call", metavar="N|NAME", help="which tool call: its number (from 1) or its tool name"
    )


def run(args: argparse.Namespace) -> int:
    from ccbrowser.api.jsonio import decode
    from ccbrowser.commands.formats import dumps
    from ccbrowser.errors import CCBrowserError, UsageError
    from ccbrowser.render import json_for_terminal
    from ccbrowser.safe import one_line, visible
    from ccbrowser.store import open_existing, reader

    conn = open_existing(args.db)
    cid = reader.resolve_id(conn, args.id)
    calls = reader.tool_calls(conn, cid)
    if not calls:
        raise CCBrowserError(f"completion {cid} has no tool calls")
    index = 0
    if args.call is not None:
        choice = args.call.strip()
        if choice.isdigit():
            index = int(choice) - 1
            if not 0 <= index < len(calls):
                raise UsageError(
                    f"--call {choice}: completion {cid} has {plural(len(calls), 'tool call')}, numbered from 1"
                )
        else:
            named = [i for i, c in enumerate(calls) if c.name == choice]
            if not named:
                names = ", ".join(sorted({c.name or "?" for c in calls}))
                raise UsageError(
                    f"--call {one_line(choice)!r}: no call of that tool in {cid} (it called: {one_line(names)})"
                )
            index = named[0]
            if len(named) > 1:
                others = ", ".join(str(i + 1) for i in named[1:])
                sys.stderr.write(
                    f"ccbrowser: note: {choice} was called {len(named)} times; showing call {index + 1} (others: --call {others})\n"
                )
    elif len(calls) > 1:
        listing = "; ".join(f"{i + 1} {one_line(c.name or '?')}" for i, c in enumerate(calls) if i != 0)
        sys.stderr.write(
            f"ccbrowser: note: {len(calls)} tool calls; showing 1 ({one_line(calls[0].name or '?')}). "
            f"Others: {listing} (use --call N or NAME)\n"
        )
    call = calls[index]
    text = call.arguments
    if text is None:
        sys.stderr.write(f"ccbrowser: note: tool call {index + 1} has no arguments\n")
        return 0
    if call.type == "custom":  # a custom tool's input is free text: exactly as the model wrote it
        out = visible(text) if sys.stdout.isatty() else text
        sys.stdout.write(out + ("" if out.endswith("\n") else "\n"))
        return 0
    try:
        value = decode(text.encode("utf-8", "surrogatepass"), max_depth=10_000)
    except ValueError:  # BadJSON included
        sys.stderr.write(
            f"ccbrowser: note: the arguments of call {index + 1} are not valid JSON; printed verbatim\n"
        )
        out = visible(text) if sys.stdout.isatty() else text
        sys.stdout.write(out + ("" if out.endswith("\n") else "\n"))
        return 0
    pretty = dumps(value, indent=2, ensure_ascii=False)
    try:
        pretty.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the JSON: keep it escaped
        pretty = dumps(value, indent=2, ensure_ascii=True)
    sys.stdout.write(json_for_terminal(pretty) + "\n")
    return 0
