"""`ccbrowser datasette-metadata [-o FILE] [--name NAME]`: a Datasette metadata file for the database.

    ccbrowser datasette-metadata -o metadata.json
    datasette serve ccbrowser.db -m metadata.json --setting truncate_cells_html 300

It names each foreign key's label column (a `messages` row shows its completion's id, not a pk),
the full-text index (the search box on `bodies` and on `messages_view`), the default sort and what
each table and column holds. Datasette keys table settings by database name, the file's stem, so
the name comes from `--db` (or `--name` when the file will be served under another name).
Written on request only: ccbrowser itself never reads it. See docs/datasette.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ccbrowser.errors import CCBrowserError
from ccbrowser.store.schema import FTS_COLUMNS, FTS_TABLE, VIEWS

TIME = "Unix time in seconds (UTC); completions_view shows it as ISO 8601"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--name", metavar="NAME", help="database name in Datasette (default: the database file's stem)"
    )


def metadata(database: str) -> dict[str, Any]:
    """The metadata document for a ccbrowser database served by Datasette under `database`."""
    fts = {"fts_table": FTS_TABLE}
    tables: dict[str, Any] = {
        "completions": {
            "description": "One row per stored chat completion, with typed columns for filtering; "
            "`raw` is the object exactly as the API returned it.",
            "label_column": "id",
            "sort_desc": "created",
            "columns": {
                "pk": "local row id (other tables refer to it)",
                "id": "the API's completion id",
                "created": TIME,
                "metadata": "the completion's metadata object as JSON",
                "profile": "the ccbrowser profile that synced it",
                "fetched_at": TIME,
                "removed_at": "set when the completion disappeared upstream (expired or deleted); "
                "it is never deleted here",
                "messages_state": "ok: input messages stored; missing: the API had none (404); "
                "empty: not fetched yet",
                "preview": "the last user message, cut to 200 characters",
                "raw": "the completion exactly as the API returned it",
            },
        },
        "bodies": {
            "description": "Each distinct message body once (a system prompt shared by thousands "
            "of completions is one row); full-text indexed over " + ", ".join(FTS_COLUMNS) + ".",
            "label_column": "content",
            **fts,
            "columns": {
                "hash": "content address: a hash of the body's canonical JSON",
                "content": "the message text",
                "tool": "tool names and arguments, searchable",
                "refusal": "the model's refusal text",
                "transcript": "audio transcript",
                "raw": "the message as received (its text may live in `content`)",
            },
        },
        "messages": {
            "description": "Which bodies make up each completion: kind 0 is an input message "
            "(in request order), kind 1 an output choice. Easier to read: messages_view.",
        },
        "tool_calls": {
            "description": "One row per tool call of an output choice.",
            "label_column": "name",
            "columns": {"valid_json": "1 when `arguments` parses as JSON"},
        },
        "completion_metadata": {"description": "The completions' metadata as key/value rows."},
        "rejects": {
            "description": "Objects a sync or an import could not read, kept verbatim.",
            "sort_desc": "at",
        },
        "sync_state": {"description": "Where each profile's last sync stopped (its checkpoint)."},
        "completions_view": {
            "description": "Completions as the list shows them: ISO times and the first user message.",
        },
        "messages_view": {
            "description": "Every message of every completion with its text, joined to its body; "
            "the search box searches the text.",
            **fts,
            "fts_pk": "body",
        },
    }
    assert set(VIEWS) <= set(tables)
    return {
        "title": "ccbrowser",
        "description": "Stored OpenAI chat completions, mirrored by ccbrowser.",
        "databases": {database: {"tables": tables}},
    }


def _database_name(args: argparse.Namespace) -> str:
    if args.name:
        return str(args.name)
    from ccbrowser.paths import default_db_path

    value = getattr(args, "db", None)
    return (Path(value).expanduser() if value else default_db_path()).stem


def run(args: argparse.Namespace) -> int:
    text = json.dumps(metadata(_database_name(args)), indent=2, ensure_ascii=False) + "\n"
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CCBrowserError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    sys.stderr.write(f"ccbrowser: wrote Datasette metadata to {os.fspath(args.output)}\n")
    return 0
