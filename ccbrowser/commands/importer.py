"""`ccbrowser import FILE.jsonl`: load completions exported by `export` or dumped from the API.

A line is either a completion object (as `GET /chat/completions/{id}` returns it; Llama Stack style
`input_messages` inside it are stored as its input messages) or `{"completion": {...},
"input_messages": [...]}` as `export --format jsonl` writes. A bad line is reported with its number
and kept in the `rejects` table; the rest is imported.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ccbrowser.errors import CCBrowserError
from ccbrowser.words import plural

if TYPE_CHECKING:
    from ccbrowser.store.writer import Prepared

BATCH = 2000
SNIFF = 10  # this many bad lines before any good one: not a JSON Lines file at all
AHEAD = 3  # batches being decoded while one is written


class _NotJsonLines(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="JSON Lines file, or - for standard input")
    parser.add_argument(
        "--profile", default="import", help="profile recorded on imported rows (default: import)"
    )


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


def decode_batch(lines: list[tuple[int, bytes]]) -> tuple[Prepared, list[tuple[int, str, str]], int]:
    """JSON decoding and row preparation: pure Python, so it runs in a worker process while the
    parent writes the previous batch (threads would only take turns holding the GIL).

    Returns the prepared rows, the bad lines (number, error, raw text) and how many lines parsed.
    """
    from ccbrowser.api.jsonio import BadJSON, decode
    from ccbrowser.api.limits import Limits
    from ccbrowser.api.models import ImportedCompletion, ListedCompletion
    from ccbrowser.store.writer import Record, prepare
    from ccbrowser.sync.vet import problem

    depth = Limits().max_json_depth
    records: list[Record] = []
    bad: list[tuple[int, str, str]] = []
    for number, line in lines:
        try:
            # What sync reads from a server is read the same way here: UTF-8 only, bounded
            # nesting, and NaN/Infinity/1e999 kept as their literal text instead of floats.
            value = decode(line, max_depth=depth)
        except BadJSON as exc:
            reason = str(exc)
            if not reason.startswith("invalid UTF-8"):
                reason = "invalid JSON" + reason.removeprefix("invalid JSON")
            bad.append((number, reason, line.decode("utf-8", "replace")))
            continue
        completion, inputs = parse_line(value)
        # An `export` line holds what a sync stored: sync's schema. A bare object must also be a
        # completion (`created`, `choices`), not a request body or another tool's record.
        why = problem(completion, ListedCompletion if completion is not value else ImportedCompletion)
        if why is not None:
            bad.append((number, f"not a completion object ({why})", line.decode("utf-8", "replace")))
            continue
        records.append(Record(completion, inputs))
    return prepare(records), bad, len(records)


def _batches(stream: IO[bytes], size: int) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    batch: list[tuple[int, bytes]] = []
    read = 0
    for number, line in _lines(stream):
        read += len(line)
        batch.append((number, line))
        if len(batch) >= size:
            yield batch, read
            batch = []
    if batch:
        yield batch, read


def _pool() -> Executor:
    """One decoding process; in-process when processes are not available here."""
    try:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    except (ImportError, OSError, NotImplementedError):
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=1)


def run(args: argparse.Namespace) -> int:
    from collections import deque

    from ccbrowser.progress import Progress
    from ccbrowser.store import open_db
    from ccbrowser.store.db import end_bulk_write
    from ccbrowser.store.extract import clean
    from ccbrowser.store.writer import Writer, insert_many, transaction

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
    conn = open_db(args.db)
    conn.execute("PRAGMA wal_autocheckpoint = 10000")  # fewer, larger checkpoints while bulk loading
    from ccbrowser.commands.prices import ensure_costs, pricer_for
    from ccbrowser.threads import Options

    pricer = pricer_for(args)
    ensure_costs(conn, pricer)
    writer = Writer(
        conn,
        profile=args.profile,
        source="import",
        pricer=pricer,
        thread_options=Options.of(args.config.threads),
    )
    if writer.rethreaded:
        sys.stderr.write(
            f"ccbrowser: the [threads] settings changed: {plural(writer.rethreaded, 'stored completion')} "
            "threaded again\n"
        )
    progress = Progress("importing", total=total_bytes)
    imported = new = messages = parsed = 0
    bad: list[tuple[int, str, str]] = []
    pending: deque[tuple[Future[tuple[Prepared, list[tuple[int, str, str]], int]], int]] = deque()

    def write_one() -> None:
        nonlocal imported, new, messages, parsed
        future, read = pending.popleft()
        prepared, bad_lines, ok = future.result()
        bad.extend(bad_lines)
        parsed += ok
        if not parsed and len(bad) >= SNIFF:
            # Nothing so far was JSON: the wrong file (a log, a .env, a database). Keep none of
            # it: rejected lines are stored, and this may hold secrets.
            raise _NotJsonLines()
        result = writer.apply(prepared)
        imported += result.completions
        new += result.inserted
        messages += result.messages
        progress.update(read, plural(imported, "completion"))

    pool = _pool()
    try:
        # A small first batch: the wrong file is refused before much is read.
        for n, (lines, read) in enumerate(_batches(stream, BATCH)):
            if n == 0 and len(lines) > SNIFF:
                pending.append((pool.submit(decode_batch, lines[:SNIFF]), 0))
                write_one()
                lines = lines[SNIFF:]
            pending.append((pool.submit(decode_batch, lines), read))
            if len(pending) > AHEAD:
                write_one()
        while pending:
            write_one()
    except _NotJsonLines:
        conn.close()
        raise CCBrowserError(
            f"{args.file} does not look like JSON Lines: its first {SNIFF} lines are not JSON; nothing imported"
        ) from None
    except KeyboardInterrupt:
        progress.close()
        sys.stderr.write(
            f"ccbrowser: interrupted after {plural(imported, 'completion')} (each batch is committed)\n"
        )
        return 130
    finally:
        for future, _ in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    unparsed = [(n, err, raw) for n, err, raw in bad if raw]
    if unparsed:
        # Keep what could not be parsed too: nothing given to import is silently dropped.
        with transaction(conn):
            insert_many(
                conn,
                "INSERT INTO rejects (source, error, raw, at)",
                [
                    (f"import line {n}", err, clean(raw.rstrip("\r\n")), time.time())
                    for n, err, raw in unparsed
                ],
            )
    end_bulk_write(conn)
    conn.close()
    for number, err, _raw in sorted(bad)[:20]:
        sys.stderr.write(f"ccbrowser: {args.file}:{number}: {err}; line skipped\n")
    if len(bad) > 20:
        sys.stderr.write(f"ccbrowser: ... and {plural(len(bad) - 20, 'more bad line')}\n")
    summary = f"imported {plural(imported, 'completion')} ({new:,} new), {plural(messages, 'message')}"
    if bad:
        summary += f"; {plural(len(bad), 'bad line')} skipped (kept in the rejects table)"
    sys.stderr.write(f"ccbrowser: {summary}\n")
    return 1 if bad else 0
