"""`ccbrowser import FILE.jsonl`: load completions exported by `export` or dumped from the API.

A line is either a completion object (as `GET /chat/completions/{id}` returns it; Llama Stack style
`input_messages` inside it are stored as its input messages) or `{"completion": {...},
"input_messages": [...]}` as `export --format jsonl` writes. A bad line is reported with its number
and kept in the `rejects` table; the rest is imported.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ccbrowser.errors import CCBrowserError

if TYPE_CHECKING:
    from ccbrowser.store.writer import Prepared, Record

BATCH = 500
SNIFF = 10  # this many bad lines before any good one: not a JSON Lines file at all


class _NotJsonLines(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="JSON Lines file, or - for standard input")
    parser.add_argument("--profile", default="import", help="profile recorded on imported rows (default: import)")


def parse_line(value: Any) -> tuple[Any, list[Any] | None]:
    """(completion object, input messages or None) from one decoded line."""
    if isinstance(value, dict) and isinstance(value.get("completion"), dict) and "choices" not in value:
        inputs = value.get("input_messages")
        return value["completion"], inputs if isinstance(inputs, list) else None
    return value, None


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def run(args: argparse.Namespace) -> int:
    from ccbrowser.cli import db_path
    from ccbrowser.progress import Progress
    from ccbrowser.store import open_db
    from ccbrowser.store.extract import clean
    from ccbrowser.store.writer import Record, Writer, insert_many, prepare, transaction

    if args.file == "-":
        stream: IO[bytes] = sys.stdin.buffer
        total_bytes = None
    else:
        path = Path(args.file)
        if path.is_dir():
            raise CCBrowserError(f"cannot import {args.file}: it is a directory, not a JSON Lines file")
        if not path.is_file():
            raise CCBrowserError(f"cannot import {args.file}: no such file")
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CCBrowserError(f"cannot import {args.file}: {exc.strerror}") from None
        total_bytes = path.stat().st_size
    conn = open_db(db_path(args))
    writer = Writer(conn, profile=args.profile, source="import")
    progress = Progress("importing", total=total_bytes)
    batch: list[Record] = []
    batch_lines: list[int] = []
    imported = new = messages = 0
    bad: list[tuple[int, str, str]] = []  # (line number, error, raw text)
    read = 0

    # Two stages: this thread decodes and prepares rows (Python), a writer thread runs SQLite
    # (which releases the GIL), so the two overlap.
    pending: queue.Queue[tuple[list[int], list[Record], Prepared] | None] = queue.Queue(maxsize=3)
    failure: list[BaseException] = []

    def write_loop() -> None:
        nonlocal imported, new, messages
        while (item := pending.get()) is not None:
            if failure:
                continue
            lines, records, prepared = item
            try:
                result = writer.apply(prepared)
            except BaseException as exc:  # reported by the main thread
                failure.append(exc)
                continue
            imported += result.completions
            new += result.inserted
            messages += result.messages
            if result.rejected:
                for number, record in zip(lines, records, strict=True):
                    if not (isinstance(record.completion, dict) and isinstance(record.completion.get("id"), str)):
                        bad.append((number, "not a completion object (no string `id`)", ""))

    thread = threading.Thread(target=write_loop, name="import-writer", daemon=True)
    thread.start()

    def flush() -> None:
        nonlocal batch, batch_lines
        if batch:
            pending.put((batch_lines, batch, prepare(batch)))
            batch, batch_lines = [], []

    try:
        for number, line in _lines(stream):
            read += len(line)
            try:
                text = line.decode("utf-8")
                value = json.loads(text)
            except UnicodeDecodeError:
                bad.append((number, "not valid UTF-8", line.decode("utf-8", "replace")))
                continue
            except json.JSONDecodeError as exc:
                bad.append((number, f"invalid JSON ({exc.msg} at column {exc.colno})", text))
                if len(bad) >= SNIFF and not batch_lines and not imported and not pending.qsize():
                    # Nothing so far was JSON: the wrong file (a log, a .env, a database). Keep
                    # none of it: rejected lines are stored, and this may hold secrets.
                    raise _NotJsonLines() from None
                continue
            completion, inputs = parse_line(value)
            batch.append(Record(completion, inputs))
            batch_lines.append(number)
            if len(batch) >= BATCH:
                flush()
                progress.update(read, f"{imported:,} completions")
                if failure:
                    break
        flush()
        pending.put(None)
        thread.join()
    except _NotJsonLines:
        pending.put(None)
        thread.join()
        progress.close()
        conn.close()
        raise CCBrowserError(
            f"{args.file} does not look like JSON Lines: its first {SNIFF} lines are not JSON; nothing imported"
        ) from None
    except KeyboardInterrupt:
        pending.put(None)
        thread.join()
        progress.close()
        sys.stderr.write(f"ccbrowser: interrupted after {imported:,} completions (each batch is committed)\n")
        return 130
    finally:
        progress.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    if failure:
        raise CCBrowserError(f"import stopped after {imported:,} completions: {failure[0]}")
    unparsed = [(n, err, raw) for n, err, raw in bad if raw]
    if unparsed:
        # Keep what could not be parsed too: nothing given to import is silently dropped.
        with transaction(conn):
            insert_many(
                conn,
                "INSERT INTO rejects (source, error, raw, at)",
                [(f"import line {n}", err, clean(raw.rstrip("\r\n")), time.time()) for n, err, raw in unparsed],
            )
    conn.close()
    for number, err, _raw in sorted(bad)[:20]:
        sys.stderr.write(f"ccbrowser: {args.file}:{number}: {err}; line skipped\n")
    if len(bad) > 20:
        sys.stderr.write(f"ccbrowser: ... and {len(bad) - 20} more bad lines\n")
    summary = f"imported {imported:,} completions ({new:,} new), {messages:,} messages"
    if bad:
        summary += f"; {len(bad):,} bad lines skipped (kept in the rejects table)"
    print(summary, file=sys.stderr)
    return 1 if bad else 0
