"""Read access for the CLI and the TUI: counts, one completion, keyset pages, input messages.

Pages are keyed on (created, pk) newest first, never OFFSET: page 10,000 costs what page 1 does.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ccbrowser.errors import AmbiguousId, NotFound
from ccbrowser.safe import one_line
from ccbrowser.store.extract import DERIVED_ID

LIST_COLUMNS = (
    "pk, id, created, model, preview, finish_reason, total_tokens, tool_call_count, "
    "has_refusal, has_audio, n_choices, removed_at, profile, messages_state, has_logprobs, "
    # the cost follows `raw` in the row: read from its covering index, not the row's overflow pages
    "(SELECT k.cost_usd FROM completions k INDEXED BY completions_pk_cost WHERE k.pk = completions.pk)"
)


@dataclass(frozen=True, slots=True)
class ListRow:
    """What one line of the completion list needs."""

    pk: int
    id: str
    created: int | None
    model: str | None
    preview: str | None
    finish_reason: str | None
    total_tokens: int | None
    tool_call_count: int
    has_refusal: bool
    has_audio: bool
    n_choices: int
    removed_at: float | None
    profile: str | None
    messages_state: str | None
    has_logprobs: bool = False
    cost_usd: float | None = None  # an estimate (or reported by the server); None: unknown


def _list_row(r: Sequence[Any]) -> ListRow:
    return ListRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7] or 0,
        bool(r[8]),
        bool(r[9]),
        r[10] or 0,
        r[11],
        r[12],
        r[13],
        bool(r[14]),
        r[15],
    )


@dataclass(frozen=True, slots=True)
class ToolCallInfo:
    choice: int
    position: int
    call_id: str | None
    type: str | None
    name: str | None
    arguments: str | None
    valid_json: bool

    @property
    def bad_json(self) -> bool:
        """Arguments meant as JSON that do not parse (a custom tool's free-text input is not JSON)."""
        return not self.valid_json and self.type != "custom"


@dataclass(frozen=True, slots=True)
class Detail:
    """Everything the detail pane shows of one completion."""

    row: ListRow
    raw: dict[str, Any]
    raw_text: str
    input_messages: list[dict[str, Any]]
    tool_calls: list[ToolCallInfo]
    cost_source: str | None = None  # estimate | reported | unknown
    cost_note: str | None = None  # why the price is unknown, or what is uncertain about it
    price: Any = None  # the whole estimate (a pricing.CostEstimate) when the reader priced it
    thread: Any = None  # its conversation, when the TUI read it (`tui.thread_reads.ThreadView`)
    label: Any = None  # its local labels, when the TUI read them (`store.labels.Label`)


def count(conn: sqlite3.Connection, *, include_removed: bool = True) -> int:
    where = "" if include_removed else " WHERE removed_at IS NULL"
    return int(conn.execute(f"SELECT count(*) FROM completions{where}").fetchone()[0])


def get_raw(conn: sqlite3.Connection, completion_id: str) -> str | None:
    row = conn.execute("SELECT raw FROM completions WHERE id = ?", (completion_id,)).fetchone()
    return row[0] if row else None


def get(conn: sqlite3.Connection, completion_id: str) -> dict[str, Any] | None:
    raw = get_raw(conn, completion_id)
    return json.loads(raw) if raw is not None else None


SHOWN_CANDIDATES = 5  # an ambiguous prefix names this many of its completions


def resolve_id(conn: sqlite3.Connection, id_or_prefix: str) -> str:
    """An exact id, or a unique prefix of one (ids are long; people paste parts)."""
    if conn.execute("SELECT 1 FROM completions WHERE id = ?", (id_or_prefix,)).fetchone():
        return id_or_prefix
    if len(id_or_prefix) >= 4:
        hi = id_or_prefix + "\U0010ffff"
        rows = conn.execute(
            "SELECT id FROM completions WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (id_or_prefix, hi, SHOWN_CANDIDATES + 1),
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if len(rows) > 1:
            ids = [str(r[0]) for r in rows]
            shown = ", ".join(one_line(i, 80) for i in ids[:SHOWN_CANDIDATES])
            more = ", ..." if len(ids) > SHOWN_CANDIDATES else ""
            raise AmbiguousId(
                f"id prefix {id_or_prefix!r} matches several completions ({shown}{more}); give more of it",
                id_or_prefix,
                ids[:SHOWN_CANDIDATES],
            )
    raise NotFound(f"no completion {id_or_prefix!r} in the local database")


def page(
    conn: sqlite3.Connection, *, before: tuple[int, int] | None = None, limit: int = 100
) -> list[ListRow]:
    """Newest first; `before` is the (created, pk) of the last row of the previous page."""
    if before is None:
        sql = f"SELECT {LIST_COLUMNS} FROM completions ORDER BY created DESC, pk DESC LIMIT ?"
        params: tuple[Any, ...] = (limit,)
    else:
        sql = (
            f"SELECT {LIST_COLUMNS} FROM completions WHERE (created, pk) < (?, ?) "
            "ORDER BY created DESC, pk DESC LIMIT ?"
        )
        params = (before[0], before[1], limit)
    return [_list_row(r) for r in conn.execute(sql, params)]


def all_pks(conn: sqlite3.Connection, limit: int | None = None) -> array[int]:
    """The id snapshot of the whole store, newest first (a virtual list indexes into it), or its
    first `limit` keys.

    An array, filled as the rows come: 8 bytes a key, where a list of a million ints peaks at
    ~36 MB while it is built and handed over."""
    sql = "SELECT pk FROM completions ORDER BY created DESC, pk DESC"
    rows = conn.execute(sql) if limit is None else conn.execute(f"{sql} LIMIT ?", (limit,))
    return array("q", (r[0] for r in rows))


def rows_by_pk(conn: sqlite3.Connection, pks: Sequence[int]) -> list[ListRow]:
    """Rows in the order of `pks` (missing ones skipped)."""
    found: dict[int, ListRow] = {}
    for start in range(0, len(pks), 900):
        chunk = list(pks[start : start + 900])
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(f"SELECT {LIST_COLUMNS} FROM completions WHERE pk IN ({marks})", chunk):
            found[r[0]] = _list_row(r)
    return [found[pk] for pk in pks if pk in found]


def pk_of(conn: sqlite3.Connection, completion_id: str) -> int | None:
    row = conn.execute("SELECT pk FROM completions WHERE id = ?", (completion_id,)).fetchone()
    return int(row[0]) if row else None


def input_messages(conn: sqlite3.Connection, completion_id: str) -> list[dict[str, Any]]:
    """The stored input messages in order, each with its API id restored."""
    rows = conn.execute(
        "SELECT m.position, m.msg_id, b.raw, b.content_split, b.content FROM messages m JOIN bodies b ON b.id = m.body "
        "JOIN completions c ON c.pk = m.completion WHERE c.id = ? AND m.kind = 0 ORDER BY m.position",
        (completion_id,),
    ).fetchall()
    return [
        body_json(raw, split, content, message_id(completion_id, pos, msg_id))
        for pos, msg_id, raw, split, content in rows
    ]


def message_id(completion_id: str, position: int, stored: str | bytes | None) -> str | None:
    """An input message's API id from `messages.msg_id` (see `extract.DERIVED_ID`)."""
    if stored == DERIVED_ID:
        return f"{completion_id}-{position}"
    return stored if isinstance(stored, str) else None


def body_json(raw: str, split: int, content: str | None, msg_id: str | None = None) -> Any:
    """A stored message body as the API sent it (see `extract.body_of`)."""
    body = json.loads(raw)
    if isinstance(body, dict):
        if split:
            body["content"] = content
        if msg_id is not None:
            body = {"id": msg_id, **body}
    return body


def messages_state(conn: sqlite3.Connection, completion_id: str) -> str | None:
    row = conn.execute("SELECT messages_state FROM completions WHERE id = ?", (completion_id,)).fetchone()
    return row[0] if row else None


def tool_calls(conn: sqlite3.Connection, completion_id: str) -> list[ToolCallInfo]:
    rows = conn.execute(
        "SELECT t.choice, t.position, t.call_id, t.type, t.name, t.arguments, t.valid_json FROM tool_calls t "
        "JOIN completions c ON c.pk = t.completion WHERE c.id = ? ORDER BY t.choice, t.position",
        (completion_id,),
    ).fetchall()
    return [ToolCallInfo(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]


def detail(conn: sqlite3.Connection, completion_id: str) -> Detail | None:
    r = conn.execute(
        f"SELECT {LIST_COLUMNS}, raw, cost_source, cost_note FROM completions WHERE id = ?", (completion_id,)
    ).fetchone()
    if r is None:
        return None
    raw_text = r[-3]
    return Detail(
        _list_row(r[:-3]),
        json.loads(raw_text),
        raw_text,
        input_messages(conn, completion_id),
        tool_calls(conn, completion_id),
        r[-2],
        r[-1],
    )


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection commits: confirms a file-watch event is a real write."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def model_counts(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT model, count(*) FROM completions WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC"
        )
    ]


def metadata_counts(conn: sqlite3.Connection, limit: int = 200) -> list[tuple[str, str | None, int]]:
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT key, value, count(*) FROM completion_metadata GROUP BY key, value ORDER BY 3 DESC LIMIT ?",
            (limit,),
        )
    ]


def newest_created(conn: sqlite3.Connection, profile: str | None = None) -> int | None:
    if profile is None:
        row = conn.execute("SELECT max(created) FROM completions").fetchone()
    else:
        row = conn.execute("SELECT max(created) FROM completions WHERE profile = ?", (profile,)).fetchone()
    return row[0] if row else None


# -- helpers for the TUI (appended) ----------------------------------------------------------------


def detail_by_pk(conn: sqlite3.Connection, pk: int) -> Detail | None:
    """`detail` for a list row: the TUI's snapshot holds primary keys, not API ids."""
    row = conn.execute("SELECT id FROM completions WHERE pk = ?", (pk,)).fetchone()
    return detail(conn, row[0]) if row else None


def last_sync(conn: sqlite3.Connection) -> float | None:
    """When any profile's sync last committed a checkpoint (None: never synced)."""
    row = conn.execute("SELECT max(updated) FROM sync_state").fetchone()
    return float(row[0]) if row and row[0] is not None else None


def profiles(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Profiles present in the store with their completion counts."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT profile, count(*) FROM completions WHERE profile IS NOT NULL GROUP BY profile ORDER BY 2 DESC"
        )
    ]


# -- for the sync engine ---------------------------------------------------------------------------


def sync_rows(
    conn: sqlite3.Connection, ids: Sequence[str]
) -> dict[str, tuple[str, str | None, float | None, str | None]]:
    """id -> (raw, messages_state, removed_at, profile) for the ids already stored.

    The sync compares a listed object with its stored raw JSON to skip rewriting unchanged rows.
    """
    out: dict[str, tuple[str, str | None, float | None, str | None]] = {}
    for start in range(0, len(ids), 900):
        chunk = list(ids[start : start + 900])
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(
            f"SELECT id, raw, messages_state, removed_at, profile FROM completions WHERE id IN ({marks})",
            chunk,
        ):
            out[r[0]] = (r[1], r[2], r[3], r[4])
    return out


RETRY_MISSING = 1000  # a sync asks again for the messages of at most this many 404s, newest first


def pending_messages(conn: sqlite3.Connection, profile: str | None) -> list[tuple[str, int | None]]:
    """(id, created) of the live completions of a profile whose input messages were never fetched,
    then of the newest live ones whose messages got a 404 (a live completion has messages: the
    server may answer now). A completion really gone is marked removed and not asked again."""
    never = conn.execute(
        "SELECT id, created FROM completions WHERE messages_state IS NULL AND removed_at IS NULL "
        "AND profile IS ? ORDER BY created DESC",
        (profile,),
    ).fetchall()
    again = conn.execute(
        "SELECT id, created FROM completions WHERE messages_state = 'missing' AND removed_at IS NULL "
        "AND profile IS ? ORDER BY created DESC LIMIT ?",
        (profile, RETRY_MISSING),
    ).fetchall()
    return [(r[0], r[1]) for r in (*never, *again)]


def live_ids(conn: sqlite3.Connection, profile: str | None, *, created_above: int | None = None) -> set[str]:
    """Ids of a profile not marked removed; with `created_above`, only those created strictly later."""
    if created_above is None:
        rows = conn.execute(
            "SELECT id FROM completions WHERE removed_at IS NULL AND profile IS ?", (profile,)
        )
    else:
        rows = conn.execute(
            "SELECT id FROM completions WHERE removed_at IS NULL AND profile IS ? AND created > ?",
            (profile, created_above),
        )
    return {r[0] for r in rows}


def sync_states(conn: sqlite3.Connection) -> dict[str, tuple[float, dict[str, Any]]]:
    """profile -> (time of the last committed sync step, checkpoint): the TUI's "last sync" line."""
    return {
        r[0]: (r[2], json.loads(r[1])) for r in conn.execute("SELECT profile, state, updated FROM sync_state")
    }


# -- for export and `search --json`: many completions at once (hot paths: raw sqlite3, one
# statement per chunk of primary keys passed as one JSON array) -------------------------------

EXPORT_COLUMNS = (
    "pk, id, raw, messages_state, created, model, finish_reason, service_tier, prompt_tokens, "
    "completion_tokens, total_tokens, reasoning_tokens, cached_tokens, n_choices, has_refusal, has_audio, "
    "metadata, profile, removed_at, input_count, preview, cost_usd, cost_source"
)


def export_rows(conn: sqlite3.Connection, pks: Sequence[int]) -> list[tuple[Any, ...]]:
    """Rows of `EXPORT_COLUMNS` in the order of `pks` (missing ones skipped)."""
    found = {
        r[0]: r
        for r in conn.execute(
            f"SELECT {EXPORT_COLUMNS} FROM completions WHERE pk IN (SELECT value FROM json_each(?))",
            (json.dumps(list(pks)),),
        )
    }
    return [found[pk] for pk in pks if pk in found]


def inputs_by_pk(conn: sqlite3.Connection, pks: Sequence[int]) -> dict[int, list[Any]]:
    """Input messages of several completions at once, as `input_messages` returns them."""
    out: dict[int, list[Any]] = {}
    rows = conn.execute(
        "SELECT m.completion, c.id, m.position, m.msg_id, b.raw, b.content_split, b.content FROM messages m "
        "JOIN bodies b ON b.id = m.body JOIN completions c ON c.pk = m.completion "
        "WHERE m.kind = 0 AND m.completion IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.completion, m.position",
        (json.dumps(list(pks)),),
    )
    for pk, cid, pos, msg_id, raw, split, content in rows:
        out.setdefault(pk, []).append(body_json(raw, split, content, message_id(cid, pos, msg_id)))
    return out


def tool_names(conn: sqlite3.Connection, pks: Sequence[int]) -> dict[int, list[str]]:
    """pk -> the names of its tool calls, in choice then call order ("" for a call without a name)."""
    out: dict[int, list[str]] = {pk: [] for pk in pks}
    if not pks:
        return out
    rows = conn.execute(
        "SELECT completion, name FROM tool_calls WHERE completion IN (SELECT value FROM json_each(?)) "
        "ORDER BY completion, choice, position",
        (json.dumps(list(pks)),),
    )
    for pk, name in rows:
        out[pk].append(name or "")
    return out
