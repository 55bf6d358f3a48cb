"""The curation jobs of the TUI, each on a worker thread with its own connection.

The TUI's reader threads never write; a bulk star, tag, note or export opens a connection, does
its one job through the store (`store.labels`, `store.reader`) and closes it. What it did comes
back as one line for a notification. A push (`run_push`) goes through `sync.push`, the one
write to the server, and reports as the sync runner does: messages posted to the app.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ccbrowser.datasets import Options, Skip, Skipped, evals, finetune, line
from ccbrowser.errors import CCBrowserError
from ccbrowser.store import labels
from ccbrowser.store.db import open_db
from ccbrowser.store.reader import Detail, export_rows, inputs_by_pk, pk_of
from ccbrowser.tui import messages as msg
from ccbrowser.words import plural

EXPORT_FORMATS = ("finetune", "evals")


@dataclass(frozen=True)
class Selection:
    """What a curation key acts on: completions by primary key, or a whole conversation (every
    completion of the thread that holds the API id `thread`: the conversation list's row)."""

    pks: tuple[int, ...] = ()
    thread: str | None = None

    def ids(self, conn: sqlite3.Connection) -> list[str]:
        if self.thread is not None:
            return labels.thread_members(conn, self.thread)
        return labels.ids_of(conn, self.pks)

    def noun(self, n: int) -> str:
        """`3 completions`, or `the conversation (3 completions)`."""
        count = f"{n:,} completion{'' if n == 1 else 's'}"
        return f"the conversation ({count})" if self.thread is not None else count


def selected_ids(conn: sqlite3.Connection, sel: Selection) -> list[str]:
    """On a reader thread: the API ids of the selection."""
    return sel.ids(conn)


def labelled(conn: sqlite3.Connection, d: Detail | None) -> Detail | None:
    """The detail with its labels, for the detail pane (on a reader thread)."""
    return d if d is None else replace(d, label=labels.label_of(conn, d.row.id))


def _open(db_path: Path) -> sqlite3.Connection:
    return open_db(db_path, migrate_schema=False)


def star(db_path: Path, sel: Selection) -> str:
    """Star them all, or unstar them all when every one is starred already (a toggle)."""
    conn = _open(db_path)
    try:
        ids = sel.ids(conn)
        have = labels.labels_of(conn, ids)
        on = not all(cid in have and have[cid].starred for cid in ids)
        change = labels.apply(conn, ids, star=on)
    finally:
        conn.close()
    if on:
        return f"Starred {change.starred} of {sel.noun(len(ids))}"
    return f"Unstarred {sel.noun(change.unstarred)}"


def tag(db_path: Path, sel: Selection, text: str) -> str:
    """`text` is `tag` (add) or `-tag` (remove)."""
    remove = text.startswith("-")
    name = text[1:] if remove else text
    conn = _open(db_path)
    try:
        ids = sel.ids(conn)
        change = labels.apply(
            conn, ids, add_tags=() if remove else [name], remove_tags=[name] if remove else ()
        )
    finally:
        conn.close()
    if remove:
        return f"Removed tag {name} from {change.untagged[name]} of {sel.noun(len(ids))}"
    return f"Tagged {change.tagged[name]} of {sel.noun(len(ids))} with {name}"


@dataclass(frozen=True)
class NoteDraft:
    """What the note editor opens with: the current note of the selection (`mixed`: they differ,
    so the box starts empty and saving replaces every one)."""

    count: int
    note: str
    mixed: bool


def note_of(conn: sqlite3.Connection, sel: Selection) -> NoteDraft:
    """On a reader thread (a read, not a write)."""
    ids = sel.ids(conn)
    have = labels.labels_of(conn, ids)
    notes = {have[cid].note if cid in have else None for cid in ids}
    if len(notes) > 1:
        return NoteDraft(len(ids), "", True)
    only = next(iter(notes), None)
    return NoteDraft(len(ids), only or "", False)


def note(db_path: Path, sel: Selection, text: str) -> str:
    """Set the note of every selected completion; an empty one removes it."""
    conn = _open(db_path)
    try:
        ids = sel.ids(conn)
        change = labels.apply(conn, ids, note=text)
    finally:
        conn.close()
    if not text:
        return f"Removed the note of {sel.noun(change.unnoted)}"
    return f"Noted {change.noted} of {sel.noun(len(ids))}"


def push_plan(db_path: Path, sel: Selection) -> Any:
    """`sync.push.PushPlan` of the selection's local tags against the mirror's metadata."""
    from ccbrowser.sync.push import plan_from_store

    conn = _open(db_path)
    try:
        return plan_from_store(conn, sel.ids(conn))
    finally:
        conn.close()


PUSH_PROGRESS_EVERY = 0.2  # seconds between progress messages (the last one always goes)


def run_push(
    post: Callable[[Any], object], db_path: Path, settings: Any, tags: dict[str, list[str]], limits: Any
) -> None:
    """In a worker thread, like `background.run_sync`: progress, then exactly one `Pushed`.
    Local labels are never written here, so a failure loses none."""
    import time

    from ccbrowser.sync.push import push_tags

    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done == total or now - last >= PUSH_PROGRESS_EVERY:
            last = now
            post(msg.PushProgressed(done, total))

    try:
        result = push_tags(db_path, settings, tags, limits=limits, on_progress=progress)
    except CCBrowserError as exc:
        post(msg.Pushed(None, str(exc)))
    except Exception as exc:  # a bug is a line in the status bar, never a closed browser
        post(msg.Pushed(None, f"push failed: {type(exc).__name__}: {exc}"))
    else:
        post(msg.Pushed(result, None))


def tag_problem(text: str) -> str | None:
    return labels.tag_problem(text[1:] if text.startswith("-") else text)


def export_to(db_path: Path, sel: Selection, fmt: str, name: str) -> str:
    """Write the selected completions (in order) as `fmt` to a new file (0600, never over one)."""
    path = Path(name).expanduser()
    opts, skipped, written = Options(), Skipped(), 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CCBrowserError(f"{path} exists already: choose another name") from None
    except OSError as exc:
        raise CCBrowserError(f"cannot write {path}: {exc.strerror}") from None
    conn = _open(db_path)
    try:
        pks: Sequence[int] = sel.pks
        if sel.thread is not None:
            pks = [pk for cid in sel.ids(conn) if (pk := pk_of(conn, cid)) is not None]
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
    return f"Wrote {path}: " + (skipped.line(written) or plural(written, "completion"))
