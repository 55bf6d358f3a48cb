"""`ccbrowser export [QUERY] [--format jsonl|csv|md|finetune|evals] [--output FILE]`: the matching completions.

Oldest first (an archive reads in time order). `jsonl` lines are
`{"completion": <the object exactly as stored>, "input_messages": [...] | null, "cost_usd": <the
estimate in US dollars> | null}` (null: never fetched; an unknown price), which `ccbrowser import`
reads back to identical `show --json` output. `csv` has flat columns for spreadsheets; `md`
readable transcripts; `finetune` and `evals` the files OpenAI's fine-tuning and Evals APIs read
(`ccbrowser.datasets`: what is skipped and why goes to stderr). A file given with `--output` is
created 0600: it holds prompts and replies; an existing file is replaced only with `--force`. Its
suffix (`.jsonl`, `.csv`, `.md`) sets the format when `--format` is not given, and a `--format`
that contradicts it is refused (a `.md` file of JSON Lines is a mistake). Progress shows on a
terminal only.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from ccbrowser.words import plural

CHUNK = 500
CSV_COLUMNS = (
    "id", "created", "created_local", "model", "finish_reason", "service_tier", "prompt_tokens",
    "completion_tokens", "total_tokens", "reasoning_tokens", "cached_tokens", "n_choices", "tool_calls",
    "has_refusal", "has_audio", "metadata", "profile", "removed", "input_count", "last_user_message", "output",
    "cost_usd", "cost_source",
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query", nargs="*", metavar="QUERY", help="only completions matching this query (default: all)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="jsonl, csv, md, finetune or evals (default: from the --output suffix, else jsonl)",
    )
    parser.add_argument(
        "--choice",
        type=int,
        default=0,
        metavar="N",
        help="finetune/evals: which choice is the output (default 0)",
    )
    parser.add_argument(
        "--include-refusals", action="store_true", help="finetune: keep refusals (skipped by default)"
    )
    parser.add_argument(
        "--include-truncated",
        action="store_true",
        help="finetune: keep finish_reason length (skipped by default)",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (created 0600) instead of stdout"
    )
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")


FORMATS = ("jsonl", "csv", "md", "finetune", "evals")
_NAMES = {"jsonl": "JSON Lines", "csv": "CSV", "md": "Markdown"}
_JSON_LINES = frozenset({"jsonl", "finetune", "evals"})  # the formats a `.jsonl` file may hold
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".md": "md", ".markdown": "md"}


def output_format(fmt: str | None, output: str | None) -> str:
    """The format to write: `--format`, else the one the file's suffix names, else jsonl."""
    from ccbrowser.errors import UsageError

    named = SUFFIXES.get(Path(output).suffix.lower()) if output and output != "-" else None
    if fmt is not None and named is not None and fmt != named and not {fmt, named} <= _JSON_LINES:
        raise UsageError(
            f"--output {output} names a {_NAMES[named]} file but --format is {fmt}: drop --format or change the name"
        )
    return fmt or named or "jsonl"


def _jsonl(raw: str, inputs: list[Any] | None, cost_usd: float | None) -> str:
    # The stored text is spliced in as is (strict JSON: see `formats`): the exported object is
    # byte-for-byte what was stored unless it held a non-finite number.
    from ccbrowser.commands.formats import dumps, strict

    msgs = "null" if inputs is None else dumps(inputs, compact=True)
    cost = dumps(cost_usd, compact=True)
    return '{"completion":' + strict(raw) + ',"input_messages":' + msgs + ',"cost_usd":' + cost + "}\n"


def _output_text(raw: dict[str, Any]) -> str:
    from ccbrowser.render import content_text

    choices = raw.get("choices") if isinstance(raw.get("choices"), list) else []
    for choice in choices or []:
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
            msg = choice["message"]
            return content_text(msg.get("content")) or (msg.get("refusal") or "")
    return ""


def _cell(value: Any, tty: bool) -> Any:
    """A CSV cell: UTF-8-safe, inert in spreadsheets, and free of escapes on a terminal."""
    if not isinstance(value, str):
        return value
    from ccbrowser.safe import visible
    from ccbrowser.store.extract import clean

    value = clean(value)
    if value[:1] in ("=", "+", "@", "\t", "\r"):
        value = "'" + value  # a spreadsheet would run it as a formula
    return visible(value) if tty else value


def _csv_row(r: tuple[Any, ...], tools: list[str], tty: bool = False) -> list[Any]:
    from ccbrowser.commands.formats import iso_time

    raw = json.loads(r[2])
    row = [
        r[1], r[4], iso_time(r[4]), r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], ";".join(tools),
        int(bool(r[14])), int(bool(r[15])), r[16] or "", r[17] or "", int(r[18] is not None), r[19], r[20] or "",
        _output_text(raw if isinstance(raw, dict) else {}), r[21], r[22] or "unknown",
    ]  # fmt: skip
    return [_cell(v, tty) for v in row]


def _md(r: tuple[Any, ...], inputs: list[Any] | None) -> str:
    from ccbrowser.render import json_for_terminal, local_time, message_block, output_label, shown
    from ccbrowser.safe import one_line

    raw = json.loads(r[2])
    raw = raw if isinstance(raw, dict) else {}

    def text(value: Any) -> str:
        return one_line(str(value))  # ids and models come from the API too: never raw escapes

    lines = [f"## {text(r[1])}", "", f"- created: {local_time(r[4])}", f"- model: {text(shown(r[5]))}"]
    lines.append(
        f"- finish: {text(shown(r[6]))} · tokens: {shown(r[8])} in + {shown(r[9])} out = {shown(r[10])}"
    )
    if r[16]:
        lines.append(f"- metadata: `{text(json_for_terminal(r[16]))}`")
    if r[18] is not None:
        lines.append("- removed upstream")
    lines.append("")
    blocks = [message_block(m) for m in (inputs or [])]
    for choice in raw.get("choices") or []:
        if isinstance(choice, dict):
            blocks.append(message_block(choice.get("message") or {}, output_label(choice)))
    body = "\n\n".join(blocks)
    # A fence longer than any run of backticks inside: the text (code fences in a reply included)
    # stays exactly as written, and still cannot close the block early (CommonMark).
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))
    lines += [fence + "text", body, fence]
    return "\n".join(lines) + "\n\n"


_BACKTICKS = re.compile("`+")


def _md_conversations(conn: Any, pks: list[int], out: TextIO) -> None:
    """Each conversation the matches belong to, once, in conversation order (its matched
    completions only), in the order the conversations first match."""
    from ccbrowser.commands.thread import transcript
    from ccbrowser.store import conversation
    from ccbrowser.store.reader import export_rows

    ids = [r[1] for start in range(0, len(pks), CHUNK) for r in export_rows(conn, pks[start : start + CHUNK])]
    wanted = set(ids)
    threads = dict.fromkeys(conversation.thread_of(conn, cid) for cid in ids)
    for thread in threads:
        turns = [t for t in conversation.turns(conn, thread) if t.node.id in wanted]
        out.write(transcript(turns, conversation.summary(conn, thread), markdown=True))
    out.flush()


def _output(path: str | None, force: bool = False) -> contextlib.AbstractContextManager[TextIO]:
    """stdout, or FILE written whole: a failed export leaves no truncated file and keeps the old one."""
    if path is None or path == "-":
        return contextlib.nullcontext(sys.stdout)
    from ccbrowser.outfile import atomic_output

    return atomic_output(path, force)


def run(args: argparse.Namespace) -> int:
    from ccbrowser import search
    from ccbrowser.commands.prices import open_priced
    from ccbrowser.commands.view import expand_query

    args.format = output_format(args.format, args.output)
    query = search.parse(expand_query(args, " ".join(args.query)))
    training = _training(args)  # a usage error before any file is created
    conn = open_priced(args)
    for hint in search.hints(conn, query):
        sys.stderr.write(f"ccbrowser: note: {hint}\n")
    pks = search.matching_pks(conn, query, sort="oldest")
    with _output(args.output, args.force) as out:
        if args.format == "md" and any(f.field == "thread" for f in query.filters):
            _md_conversations(conn, pks, out)  # a conversation reads as one transcript
            written = len(pks)
        else:
            written = _write(conn, pks, out, args.format, training)
    if training is not None:
        written = training.written
        if summary := training.skipped.line(written):
            sys.stderr.write(f"ccbrowser: {summary}\n")
    if args.output and args.output != "-":
        sys.stderr.write(f"ccbrowser: exported {plural(written, 'completion')} to {args.output}\n")
    return 0


def _write(conn: Any, pks: list[int], out: TextIO, fmt: str, training: _Training | None) -> int:
    """Write the completions `pks` to `out` as `fmt`; the number written."""
    from ccbrowser.progress import Progress
    from ccbrowser.render import json_for_terminal
    from ccbrowser.store.reader import export_rows, inputs_by_pk, tool_names

    tty = out.isatty()
    progress = Progress(f"exporting {fmt}", total=len(pks))
    writer = csv.writer(out) if fmt == "csv" else None
    try:
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        for start in range(0, len(pks), CHUNK):
            chunk = pks[start : start + CHUNK]
            rows = export_rows(conn, chunk)
            inputs = inputs_by_pk(conn, chunk) if fmt != "csv" else {}
            tools = tool_names(conn, chunk) if writer is not None else {}
            for r in rows:
                pk = r[0]
                msgs = inputs.get(pk, []) if r[3] is not None else None
                if fmt == "jsonl":
                    line = _jsonl(r[2], msgs, r[21])
                    out.write(json_for_terminal(line) if tty else line)
                elif writer is not None:
                    writer.writerow(_csv_row(r, tools.get(pk, []), tty))
                elif training is not None:
                    kept = training.line(r, msgs)
                    if kept is not None:
                        out.write(json_for_terminal(kept) if tty else kept)
                else:
                    out.write(_md(r, msgs))
            progress.update(start + len(chunk))
        out.flush()
    finally:
        progress.close()
    return len(pks)


class _Training:
    """The `finetune` / `evals` writer: one line per completion kept, a count per reason skipped."""

    def __init__(self, fmt: str, opts: Any) -> None:
        from ccbrowser.datasets import Skipped

        self.fmt = fmt
        self.opts = opts
        self.skipped = Skipped()
        self.written = 0

    def line(self, r: tuple[Any, ...], msgs: list[Any] | None) -> str | None:
        from ccbrowser.commands.formats import dumps
        from ccbrowser.datasets import Skip, evals, finetune

        try:
            raw = json.loads(r[2])
            obj = (
                finetune(raw, msgs, self.opts)
                if self.fmt == "finetune"
                else evals(raw, msgs, self.opts, r[1])
            )
        except Skip as why:
            self.skipped.reasons[str(why)] += 1
            return None
        self.written += 1
        return dumps(obj, compact=True) + "\n"


def _training(args: argparse.Namespace) -> _Training | None:
    from ccbrowser.errors import UsageError

    if args.format not in ("finetune", "evals"):
        if args.choice or args.include_refusals or args.include_truncated:
            raise UsageError(
                "--choice, --include-refusals and --include-truncated are for --format finetune or evals"
            )
        return None
    if args.choice < 0:
        raise UsageError("--choice must be 0 or more")
    if args.format == "evals" and (args.include_refusals or args.include_truncated):
        raise UsageError("an evals export keeps refusals and truncated outputs already")
    from ccbrowser.datasets import Options

    return _Training(args.format, Options(args.choice, args.include_refusals, args.include_truncated))
