"""Local labels: a star, tags and a note per completion, keyed by the API id (schema v9).

Labels are the user's own data: a sync or an import never writes these tables, and a completion's
row being rewritten (a metadata update, `sync --full`, a re-import) leaves them where they are
because they name the completion by its id, not by its row. Labels of an id that is not (or no
longer) stored are kept: the id may come back. Raw `sqlite3`: a bulk label of 100k ids is a few
statements over JSON arrays, like the reader's export paths.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ccbrowser.store.writer import transaction


@dataclass(frozen=True, slots=True)
class Label:
    """One completion's labels (the empty label when it has none)."""

    starred: bool = False
    tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.starred and not self.tags and self.note is None


@dataclass
class LabelChange:
    """What one `apply` changed: how many completions each part touched (already so: not counted)."""

    starred: int = 0
    unstarred: int = 0
    tagged: dict[str, int] = field(default_factory=dict)
    untagged: dict[str, int] = field(default_factory=dict)
    noted: int = 0
    unnoted: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.starred
            or self.unstarred
            or any(self.tagged.values())
            or any(self.untagged.values())
            or self.noted
            or self.unnoted
        )


MAX_TAG = 64
MAX_NOTE = 10_000


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot be a tag, or None. A tag is one word of the query language (`tag:NAME`) and
    one item of the comma-separated list `--push` writes: no spaces, commas, quotes or controls."""
    if not tag:
        return "a tag cannot be empty"
    if len(tag) > MAX_TAG:
        return f"a tag has at most {MAX_TAG} characters"
    if tag.startswith("-"):
        return f"tag {tag!r} cannot start with '-' (the query language reads -tag:NAME as an exclusion)"
    bad = [ch for ch in tag if ch.isspace() or ch in ',"' or not ch.isprintable()]
    if bad:
        return f"tag {tag!r} holds {bad[0]!r}: tags are one word, without spaces, commas, quotes or controls"
    return None


def note_problem(note: str) -> str | None:
    if len(note) > MAX_NOTE:
        return f"a note has at most {MAX_NOTE:,} characters (got {len(note):,})"
    if "\x00" in note:
        return "a note cannot hold a NUL character"
    return None


def _ids_json(ids: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(ids)))


_EACH = "(SELECT value FROM json_each(?))"


def apply(
    conn: sqlite3.Connection,
    ids: Sequence[str],
    *,
    star: bool | None = None,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    note: str | None = None,
) -> LabelChange:
    """Change the labels of `ids` in one transaction. `note=""` clears the note, None leaves it."""
    out = LabelChange()
    arr = _ids_json(ids)
    now = time.time()
    with transaction(conn):
        if star is not None or note is not None:
            conn.execute(
                "INSERT INTO labels (id, updated) SELECT value, ? FROM json_each(?) WHERE true "
                "ON CONFLICT(id) DO NOTHING",
                (now, arr),
            )
        if star is not None:
            cur = conn.execute(
                f"UPDATE labels SET starred = ?, updated = ? WHERE starred != ? AND id IN {_EACH}",
                (int(star), now, int(star), arr),
            )
            if star:
                out.starred = cur.rowcount
            else:
                out.unstarred = cur.rowcount
        if note is not None:
            value = note or None
            cur = conn.execute(
                f"UPDATE labels SET note = ?, updated = ? WHERE note IS NOT ? AND id IN {_EACH}",
                (value, now, value, arr),
            )
            if value is None:
                out.unnoted = cur.rowcount
            else:
                out.noted = cur.rowcount
        for tag in dict.fromkeys(add_tags):
            cur = conn.execute(
                "INSERT INTO label_tags (tag, id) SELECT ?, value FROM json_each(?) WHERE true "
                "ON CONFLICT DO NOTHING",
                (tag, arr),
            )
            out.tagged[tag] = cur.rowcount
        for tag in dict.fromkeys(remove_tags):
            cur = conn.execute(f"DELETE FROM label_tags WHERE tag = ? AND id IN {_EACH}", (tag, arr))
            out.untagged[tag] = cur.rowcount
        # A label row with nothing left in it is no label: `has:note`/`is:starred` never see it, and
        # dropping it keeps the table the size of what the user labelled.
        conn.execute(f"DELETE FROM labels WHERE starred = 0 AND note IS NULL AND id IN {_EACH}", (arr,))
    return out


def labels_of(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Label]:
    """id -> its labels, for the ids that have any."""
    arr = _ids_json(ids)
    base = {
        r[0]: (bool(r[1]), r[2])
        for r in conn.execute(f"SELECT id, starred, note FROM labels WHERE id IN {_EACH}", (arr,))
    }
    tags: dict[str, list[str]] = {}
    for cid, tag in conn.execute(
        f"SELECT id, tag FROM label_tags WHERE id IN {_EACH} ORDER BY id, tag", (arr,)
    ):
        tags.setdefault(cid, []).append(tag)
    out: dict[str, Label] = {}
    for cid in dict.fromkeys([*base, *tags]):
        starred, note = base.get(cid, (False, None))
        out[cid] = Label(starred, tuple(tags.get(cid, ())), note)
    return out


def label_of(conn: sqlite3.Connection, completion_id: str) -> Label:
    return labels_of(conn, [completion_id]).get(completion_id, Label())


def tag_names(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every tag in use with how many stored completions carry it, most used first."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT t.tag, count(*) FROM label_tags t JOIN completions c ON c.id = t.id "
            "GROUP BY t.tag ORDER BY 2 DESC, 1"
        )
    ]


def ids_of(conn: sqlite3.Connection, pks: Sequence[int]) -> list[str]:
    """The API ids of the rows `pks`, in that order (the search returns primary keys)."""
    found = {
        r[0]: r[1]
        for r in conn.execute(f"SELECT pk, id FROM completions WHERE pk IN {_EACH}", (json.dumps(list(pks)),))
    }
    return [found[pk] for pk in pks if pk in found]


def stored_metadata(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    """id -> the metadata the server last sent (as the sync stored it; {} when it had none)."""
    out: dict[str, dict[str, object]] = {}
    for cid, text in conn.execute(
        f"SELECT id, metadata FROM completions WHERE id IN {_EACH}", (_ids_json(ids),)
    ):
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            value = {}
        out[cid] = value if isinstance(value, dict) else {}
    return out


def thread_members(conn: sqlite3.Connection, completion_id: str) -> list[str]:
    """Every completion of the conversation that holds `completion_id` (itself first, then the
    others by turn): what a label on a thread is written to (docs/architecture.md, "Curation").
    Just `completion_id` when it is not threaded (an older database, or not stored)."""
    try:
        rows = conn.execute(
            "SELECT n.id FROM thread_nodes m JOIN thread_nodes n ON n.thread = m.thread "
            "WHERE m.id = ? ORDER BY n.id != m.id, n.turn, n.created, n.id",
            (completion_id,),
        ).fetchall()
    except sqlite3.OperationalError:  # no thread tables (a schema before threading)
        rows = []
    return [r[0] for r in rows] or [completion_id]
