"""`ccbrowser thread ID [--json] [--totals]`: the conversation that holds a completion.

`--json`: JSON Lines, one completion a line in conversation order (depth first from the root,
branches in order), each with `id`, `thread`, `parent` (null at the root), `parent_choice`,
`turn`, `branch`, `continues`, `tool_step`, `created`, `model`, `total_tokens`, `cost_usd`.
Without it, a transcript: each completion's new messages only (the history it repeats is left
out), ending with the thread's totals. `--totals`: only the totals (with `--json`, one JSON
object), so the JSON Lines stay one completion a line. A cost that is not known is counted as
unknown, never as 0: `cost_usd` sums the known ones, `cost_unknown` counts the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ccbrowser.words import plural

if TYPE_CHECKING:
    from ccbrowser.store.conversation import Summary, Totals, Turn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="a completion id (or a unique prefix of one) in the conversation")
    parser.add_argument(
        "--json", action="store_true", help="JSON Lines: one completion a line, in conversation order"
    )
    parser.add_argument(
        "--totals",
        action="store_true",
        help="only the thread's totals (completions, turns, tokens, cost); with --json one JSON object",
    )


def record(turn: Turn) -> dict[str, Any]:
    n = turn.node
    return {
        "id": n.id,
        "thread": n.thread,
        "parent": n.parent,
        "parent_choice": n.parent_choice,
        "turn": n.turn,
        "branch": n.branch,
        "continues": n.continues,
        "tool_step": n.tool_step,
        "created": n.created,
        "model": n.model,
        "total_tokens": n.total_tokens,
        "cost_usd": n.cost_usd,
    }


def totals_record(thread: str, info: Summary | None, t: Totals) -> dict[str, Any]:
    return {
        "thread": thread,
        "completions": t.completions,
        "turns": info.turns if info is not None else None,
        "total_tokens": t.total_tokens,
        "tokens_unknown": t.tokens_unknown,
        "cost_usd": t.cost_usd,
        "cost_unknown": t.cost_unknown,
    }


def totals_line(t: Totals) -> str:
    """ "4 completions · 1,234 tokens · $0.012 (1 unknown)": unknown is said, never summed as 0."""
    from ccbrowser.render import usd_total

    tokens = f"{t.total_tokens:,} tokens" if t.total_tokens is not None else "tokens unknown"
    if t.total_tokens is not None and t.tokens_unknown:
        tokens += f" ({t.tokens_unknown:,} unknown)"
    done = "completion" if t.completions == 1 else "completions"
    return f"{t.completions:,} {done} · {tokens} · {usd_total(t.cost_usd, t.cost_unknown)}"


def _heading(turn: Turn) -> str:
    from ccbrowser.render import local_time

    n = turn.node
    parts = [f"turn {n.turn + 1}", n.id, str(n.model), local_time(n.created)]
    if n.tool_step:
        parts.insert(1, "tool step")
    if n.siblings > 1:
        parts.append(f"branch {n.branch + 1} of {n.siblings}")
    if n.continues:
        parts.append(f"continues {n.continues}")
    if len(turn.outputs) > 1:
        parts.append(f"choice {turn.shown} of {len(turn.outputs)}")
    return " · ".join(parts)


def _blocks(turn: Turn) -> list[str]:
    from ccbrowser.render import message_block

    blocks = [message_block(m) for m in turn.new]
    if turn.shown < len(turn.outputs):
        out = turn.outputs[turn.shown]
        blocks.append(message_block(out if isinstance(out, dict) else {}, f"assistant ({turn.finish})"))
    return blocks


def _title(info: Summary | None, thread: str) -> str:
    if info is None:
        return thread
    models = (info.models or "?").replace(",", ", ")
    tokens = f"{info.total_tokens:,}" if info.total_tokens is not None else "?"
    return f"{thread} · {plural(info.turns, 'turn')} · {plural(info.completions, 'completion')} · {models} · {tokens} tokens"


def transcript(turns: Sequence[Turn], info: Summary | None, *, markdown: bool = False) -> str:
    """The conversation read once, in order: each completion's new messages under its heading."""
    from ccbrowser.safe import one_line, visible

    thread = turns[0].node.thread if turns else (info.thread if info else "")
    if markdown:
        lines = [f"# Conversation {one_line(_title(info, thread))}", ""]
        if info is not None and info.preview:
            lines += [f"> {one_line(info.preview)}", ""]
        for turn in turns:
            lines += [f"## {one_line(_heading(turn))}", "", "```text"]
            lines.append("\n\n".join(b.replace("```", "``\u200b`") for b in _blocks(turn)))
            lines += ["```", ""]
        return "\n".join(lines) + "\n"
    lines = [visible(f"━━ conversation {_title(info, thread)}"), ""]
    for turn in turns:
        lines.append(visible(f"━━ {_heading(turn)}"))
        lines.append("\n\n".join(_blocks(turn)))
        lines.append("")
    if info is not None and info.totals is not None:
        lines += [f"━━ total: {totals_line(info.totals)}", ""]
    return "\n".join(lines)


def write_jsonl(turns: Iterable[Turn]) -> None:
    from ccbrowser.commands.formats import dumps
    from ccbrowser.render import json_for_terminal

    for turn in turns:
        sys.stdout.write(json_for_terminal(dumps(record(turn), compact=True)) + "\n")


def run(args: argparse.Namespace) -> int:
    from ccbrowser.store import conversation, open_existing, reader

    conn = open_existing(args.db)
    cid = reader.resolve_id(conn, args.id)
    thread = conversation.thread_of(conn, cid)
    if args.totals:
        from ccbrowser.commands.formats import dumps
        from ccbrowser.render import json_for_terminal
        from ccbrowser.safe import visible

        info = conversation.summary(conn, thread)
        t = conversation.totals(conn, [thread]).get(thread, conversation.Totals())
        if args.json:
            sys.stdout.write(json_for_terminal(dumps(totals_record(thread, info, t), compact=True)) + "\n")
        else:
            sys.stdout.write(visible(f"{thread}: {totals_line(t)}") + "\n")
        return 0
    turns = conversation.turns(conn, thread)
    if args.json:
        write_jsonl(turns)
    else:
        sys.stdout.write(transcript(turns, conversation.summary(conn, thread)))
    return 0
