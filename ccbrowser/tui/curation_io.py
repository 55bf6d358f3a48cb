"""The curation writes of the TUI, each on a worker thread with its own connection (no Textual).

The TUI's reader threads never write; a bulk star, tag or export opens a connection, does its one
job through the store (`store.labels`, `store.reader`) and closes it. What it did comes back as
one line for a notification.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ccbrowser.datasets import Options, Skip, Skipped, evals, finetune, line
from ccbrowser.errors import CCBrowserError
from ccbrowser.store import labels
from ccbrowser.store.db import open_db
from ccbrowser.store.reader import export_rows, inputs_by_pk

EXPORT_FORMATS = ("finetune", "evals")


def star(db_path: Path, pks: Sequence[int]) -> str:
    """Star them all, or unstar them all when every one is starred already (a toggle)."""
    conn = open_db(db_path, migrate_schema=False)
    try:
        ids = labels.ids_of(conn, pks)
        have = labels.labels_of(conn, ids)
        on = not all(cid in have and have[cid].starred for cid in ids)
        change = labels.apply(conn, ids, star=on)
    finally:
        conn.close()
    noun = "completion" if len(ids) == 1 else "completions"
    return f"Starred {change.starred} of {len(ids)} {noun}" if on else f"Unstarred {change.unstarred} {noun}"


def tag(db_path: Path, pks: Sequence[int], text: str) -> str:
    """`text` is `tag` (add) or `-tag` (remove)."""
    remove = text.startswith("-")
    name = text[1:] if remove else text
    conn = open_db(db_path, migrate_schema=False)
    try:
        ids = labels.ids_of(conn, pks)
        change = labels.apply(
            conn, ids, add_tags=() if remove else [name], remove_tags=[name] if remove else ()
        )
    finally:
        conn.close()
    if remove:
        return f"Removed tag {name} from {change.untagged[name]} of {len(ids)}"
    return f"Tagged {change.tagged[name]} of {len(ids)} with {name}"


def tag_problem(text: str) -> str | None:
    return labels.tag_problem(text[1:] if text.startswith("-") else text)


def export_to(db_path: Path, pks: Sequence[int], fmt: str, name: str) -> str:
    """Write the completions `pks` (in that order) as `fmt` to a new file (0600, never over one)."""
    path = Path(name).expanduser()
    opts, skipped, written = Options(), Skipped(), 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CCBrowserError(f"{path} exists already: choose another name") from None
    except OSError as exc:
        raise CCBrowserError(f"cannot write {path}: {exc.strerror}") from None
    conn = open_db(db_path, migrate_schema=False)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            for start in range(0, len(pks), 500):
                chunk = list(pks[start : start + 500])
                inputs = inputs_by_pk(conn, chunk)
                for r in export_rows(conn, chunk):
                    msgs = inputs.get(r[0], []) if r[3] is not None else None
                    try:
                        raw = json.loads(r[2])
                        obj = finetune(raw, msgs, opts) if fmt == "finetune" else evals(raw, msgs, opts, r[1])
                        out.write(line(obj))
                    except Skip as why:
                        skipped.reasons[str(why)] += 1
                        continue
                    written += 1
    finally:
        conn.close()
    return f"Wrote {path}: " + (skipped.line(written) or f"{written:,} completions")
