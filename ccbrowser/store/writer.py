"""Idempotent, batched writes.

One call = one transaction: a page of completions, their bodies, tool calls, metadata and
(optionally) the sync checkpoint commit together, so a process killed at any instant leaves either
the whole page or none of it. Inserts are multi-row statements (a statement per row with FTS
triggers is several times slower).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ccbrowser.store import reader, threads
from ccbrowser.store.costs import COST_COLUMNS, Pricer, price_raw
from ccbrowser.store.extract import (
    DERIVED_ID,
    Body,
    CompletionRow,
    body_of,
    clean,
    completion_row,
    dumps,
    preview_of,
)
from ccbrowser.threads import Keys, Options, from_api, keys_of

_COMPLETION_COLS = (
    "id",
    "created",
    "model",
    "finish_reason",
    "service_tier",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "n_choices",
    "tool_call_count",
    "has_tools",
    "has_refusal",
    "has_audio",
    "has_annotations",
    "has_logprobs",
    "metadata",
    "profile",
    "fetched_at",
    "raw",
    "cost_usd",
    "cost_source",
    "cost_note",
)
# On a re-sync the object may have changed (metadata updates); what came from the input messages
# (preview, messages_state, input_count, has_images) is kept, and the row is live again (the
# upsert sets every column above but `id`, and clears `removed_at`).
_BODY_COLS = ("hash", "role", "content", "tool", "refusal", "transcript", "content_split", "raw")
_CACHE_SIZE = 50_000


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE`: take the write lock up front instead of failing on upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _max_vars(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # pragma: no cover - Python < 3.11
        return 999


def insert_many(
    conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
) -> list[Any]:
    """`head VALUES (?,..),(?,..) tail` in chunks under the variable limit; returns RETURNING rows."""
    if not rows:
        return []
    width = len(rows[0])
    per = max(1, min(500, _max_vars(conn) // width))
    group = "(" + ",".join("?" * width) + ")"
    out: list[Any] = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = f"{head} VALUES {','.join([group] * len(chunk))} {tail}"
        params = [v for row in chunk for v in row]
        cur = conn.execute(sql, params)
        if "RETURNING" in tail:
            out.extend(cur.fetchall())
    return out


@dataclass
class WriteResult:
    completions: int = 0
    inserted: int = 0  # completions new to the store
    messages: int = 0  # input + output messages written
    bodies: int = 0  # distinct bodies new to the store
    rejected: list[str] = field(default_factory=list)


@dataclass
class Record:
    """A completion as received, and its input messages when known (None: not fetched yet)."""

    completion: Any
    input_messages: list[Any] | None = None


def input_bodies(messages: list[Any]) -> list[tuple[Body, str | None]]:
    out = []
    for msg in messages:
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        out.append((body_of(msg, drop_id=True), clean(msg_id) if isinstance(msg_id, str) else None))
    return out


@dataclass
class Prepared:
    """Records turned into rows: pure Python work, no database."""

    rows: dict[str, tuple[CompletionRow, str, list[tuple[Body, str | None]] | None]]
    rejects: list[tuple[str, str]]
    keys: dict[str, Keys] = field(default_factory=dict)  # threading keys, when the inputs are known
    options: Options = field(default_factory=Options)  # the threading options `keys` were made with


def prepare(
    records: Iterable[Record | Mapping[str, Any]],
    pricer: Pricer | None = None,
    profile: str | None = None,
    thread_options: Options | None = None,
) -> Prepared:
    """Rows for ``records``; with a ``pricer``, their costs too (else the writer prices them)."""
    rows: dict[str, tuple[CompletionRow, str, list[tuple[Body, str | None]] | None]] = {}
    rejects: list[tuple[str, str]] = []
    keys: dict[str, Keys] = {}
    options = thread_options if thread_options is not None else Options()
    for rec in records:
        if not isinstance(rec, Record):
            rec = Record(rec)
        obj = rec.completion
        try:
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
            row = completion_row(obj)
            inputs = rec.input_messages if rec.input_messages is not None else row.embedded_inputs
            bodies = input_bodies(inputs) if inputs is not None else None
            raw = dumps(obj)
            if pricer is not None:
                row.columns["cost"] = pricer.price(obj, profile)
        except ValueError as exc:
            rejects.append((str(exc), _raw_or_note(obj)))
            continue
        except Exception as exc:  # noqa: BLE001 - one object's trouble (RecursionError, ...) stays its own
            rejects.append((f"cannot index this object ({type(exc).__name__})", _raw_or_note(obj)))
            continue
        rows[row.id] = (row, raw, bodies)  # the last copy of an id wins
        keys.pop(row.id, None)
        if inputs is not None:  # here, off the database thread (the import prepares in another process)
            try:
                keys[row.id] = keys_of(from_api(obj, inputs), options)
            except Exception:  # noqa: BLE001 - the store computes them again from its rows
                pass
    return Prepared(rows, rejects, keys, options)


def _raw_or_note(obj: Any) -> str:
    try:
        return dumps(obj)
    except (RecursionError, ValueError, TypeError) as exc:
        return dumps({"unencodable": type(exc).__name__})


@dataclass
class Checkpoint:
    """Where a profile's sync stands, saved in `sync_state` with each page (JSON, version 1).

    ``after``/``done``: the backfill's cursor (the last id committed) and whether it once reached
    the end of the list. ``head_floor``: the ``created`` an interrupted head walk must still reach.
    ``recheck_floor``: the ``created`` the next head walk must reach because a page down there held
    malformed objects (kept in ``rejects``): once the server sends them whole, they are stored;
    ``recheck_tries`` counts the syncs that walked down there for it (reset with the floor).
    """

    after: str | None = None
    done: bool = False
    head_floor: int | None = None
    recheck_floor: int | None = None
    recheck_tries: int = 0
    last_sync: float | None = None
    last_full: float | None = None

    VERSION = 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": self.VERSION,
            "backfill": {"after": self.after, "done": self.done},
            "head_floor": self.head_floor,
        }
        if self.recheck_floor is not None:
            out["recheck_floor"] = self.recheck_floor
            out["recheck_tries"] = self.recheck_tries
        if self.last_sync is not None:
            out["last_sync"] = self.last_sync
        if self.last_full is not None:
            out["last_full"] = self.last_full
        return out

    @classmethod
    def from_json(cls, saved: Any) -> Checkpoint:
        """A saved state, or a fresh one: an unknown version starts over (every write is idempotent)."""
        cp = cls()
        if not isinstance(saved, dict) or saved.get("v") != cls.VERSION:
            return cp
        backfill = saved.get("backfill")
        if isinstance(backfill, dict):
            after = backfill.get("after")
            cp.after = after if isinstance(after, str) else None
            cp.done = bool(backfill.get("done"))
        for key in ("head_floor", "recheck_floor"):
            floor = saved.get(key)
            setattr(cp, key, floor if isinstance(floor, int) and not isinstance(floor, bool) else None)
        tries = saved.get("recheck_tries")
        if cp.recheck_floor is not None and isinstance(tries, int) and not isinstance(tries, bool):
            cp.recheck_tries = max(0, tries)
        for key in ("last_sync", "last_full"):
            value = saved.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(cp, key, float(value))
        return cp


@dataclass
class PageOutcome:
    """What one list page changed in the store."""

    new: int = 0  # completions new to the store
    updated: int = 0  # stored ones whose object changed
    restored: int = 0  # marked removed upstream, listed again: live again
    rejected: list[str] = field(default_factory=list)  # one reason per malformed object
    need_messages: list[tuple[str, int | None]] = field(default_factory=list)  # (id, created)


class Writer:
    """Writes into one connection; remembers body ids to skip look-ups of shared system prompts."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        profile: str | None = None,
        source: str = "sync",
        pricer: Pricer | None = None,
        thread_options: Options | None = None,
    ) -> None:
        """`thread_options` (the config's `[threads]`): how completions group into conversations;
        when they differ from those the database was threaded with, every completion is threaded
        again here (`rethreaded`). None keeps the database's own."""
        self.conn = conn
        self.pricer = pricer or Pricer.default()
        # A database at an older schema (upgrade tests write one with this code) has no cost columns.
        self._width = len(_COMPLETION_COLS) - (0 if _has_cost_columns(conn) else len(COST_COLUMNS))
        self.profile = profile
        self.source = source
        self._body_ids: OrderedDict[bytes, int] = OrderedDict()
        # Threading needs its tables: a database of an earlier schema is threaded by the
        # migration that adds them (its upgrade tests write such databases with this writer).
        self._threaded = threads.present(conn)
        self.rethreaded: int | None = None  # completions threaded again for `thread_options`
        if thread_options is not None and self._threaded:
            with transaction(conn):
                self.rethreaded = threads.adopt(conn, thread_options)
        elif self._threaded:
            thread_options = threads.stored_options(conn)
        self.thread_options = thread_options if thread_options is not None else Options()
        self._encodings = threads.Encodings(self.thread_options)

    # -- public ---------------------------------------------------------------------------------

    def write_page(
        self,
        items: Sequence[Any],
        checkpoint: Checkpoint | None,
        *,
        rejects: Sequence[tuple[str, str]] = (),
    ) -> PageOutcome:
        """One list page (and the checkpoint that follows it) in one transaction.

        Only changed objects are rewritten: an object equal to its stored raw JSON, live and of
        this profile, costs a read. One that was marked removed upstream is live again.
        ``rejects`` ((reason, raw) of objects the caller set aside) are kept in the same transaction.
        """
        ids = [
            it["id"]
            for it in items
            if isinstance(it, dict) and isinstance(it.get("id"), str) and clean(it["id"]) == it["id"]
        ]
        stored = reader.sync_rows(self.conn, ids) if ids else {}
        todo: list[Any] = []
        out = PageOutcome()
        for it in items:
            cid = it.get("id") if isinstance(it, dict) else None
            if not isinstance(cid, str):
                todo.append(it)  # `prepare` keeps it in `rejects`
                continue
            row = stored.get(cid)
            embedded = isinstance(it.get("input_messages"), list)
            if row is None:
                out.new += 1
                todo.append(it)
                if not embedded:
                    out.need_messages.append((cid, _created(it)))
                continue
            raw, messages_state, removed_at, profile = row
            changed = profile != self.profile or raw != _dumps_or_none(it)
            if changed or removed_at is not None:
                todo.append(it)
                out.updated += changed
                out.restored += removed_at is not None
            if messages_state in (None, "missing") and not embedded:
                # Listed again: it exists, so a 404 on its messages last time was the server's fault.
                out.need_messages.append((cid, _created(it)))
        prepared = prepare(todo, self.pricer, self.profile, self.thread_options)
        if rejects:
            prepared.rejects[:0] = list(rejects)
        if prepared.rejects:  # `prepare` rejected some after all: they are neither new nor updated
            gone = {cid for it in todo if (cid := _id_or_none(it)) is not None and cid not in prepared.rows}
            out.new -= sum(1 for cid in gone if cid not in stored)
            out.need_messages = [(c, t) for c, t in out.need_messages if c not in gone]
        result = self.apply(
            prepared, checkpoint=None if checkpoint is None else (self.profile or "", checkpoint.to_json())
        )
        out.rejected = result.rejected
        return out

    def write(
        self,
        records: Iterable[Record | Mapping[str, Any]],
        *,
        checkpoint: tuple[str, Mapping[str, Any]] | None = None,
        fetched_at: float | None = None,
    ) -> WriteResult:
        """Upsert completions (and their inputs when given) in one transaction."""
        return self.apply(
            prepare(records, self.pricer, self.profile, self.thread_options),
            checkpoint=checkpoint,
            fetched_at=fetched_at,
        )

    def apply(
        self,
        prepared: Prepared,
        *,
        checkpoint: tuple[str, Mapping[str, Any]] | None = None,
        fetched_at: float | None = None,
    ) -> WriteResult:
        """The SQLite half of `write`: `prepare` can run on another thread, overlapping with this."""
        fetched_at = time.time() if fetched_at is None else fetched_at
        result = WriteResult(rejected=[err for err, _ in prepared.rejects])
        new_cache: dict[bytes, int] = {}
        with self._transaction():
            if prepared.rejects:  # a cold path: sqlite-utils (a savepoint inside this transaction)
                sqlite_utils.Database(self.conn).table("rejects").insert_all(
                    {"source": self.source, "error": err, "raw": raw, "at": fetched_at}
                    for err, raw in prepared.rejects
                )
            if prepared.rows:
                pk_of = self._write_parsed(prepared.rows, fetched_at, result, new_cache)
                if self._threaded:
                    # keys made under other options (an import's decoding process) are made again
                    known = prepared.keys if prepared.options == self.thread_options else None
                    threads.update(self.conn, pk_of, self._encodings, known=known)
            if checkpoint is not None:
                save_checkpoint(self.conn, checkpoint[0], checkpoint[1])
        self._remember(new_cache)
        return result

    def write_inputs(
        self,
        inputs: Mapping[str, list[Any] | None],
        *,
        checkpoint: tuple[str, Mapping[str, Any]] | None = None,
    ) -> WriteResult:
        """Store input messages fetched after their completion; None marks them missing (a 404)."""
        result = WriteResult()
        new_cache: dict[bytes, int] = {}
        bodies = {cid: input_bodies(msgs) for cid, msgs in inputs.items() if msgs is not None}
        with self._transaction():
            pks = self._pks(list(inputs))
            missing = [pk for cid, pk in pks.items() if inputs[cid] is None]
            if missing:
                self.conn.execute(
                    f"UPDATE completions SET messages_state = 'missing' WHERE pk IN ({','.join('?' * len(missing))})",
                    missing,
                )
            present = {pk: (cid, bodies[cid]) for cid, pk in pks.items() if cid in bodies}
            self._write_inputs(present, result, new_cache)
            if self._threaded:
                fetched = {pk: msgs for cid, pk in pks.items() if (msgs := inputs[cid]) is not None}
                hashes = {pk: [b.hash for b, _ in bodies[cid]] for cid, pk in pks.items() if cid in bodies}
                threads.update(self.conn, {}, self._encodings, inputs=fetched, hashes=hashes)
            if checkpoint is not None:
                save_checkpoint(self.conn, checkpoint[0], checkpoint[1])
        self._remember(new_cache)
        return result

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with transaction(self.conn) as conn:
                yield conn
        except BaseException:
            self._encodings.clear()  # cached by body id: ids of a rolled-back write are reused
            raise

    def _write_parsed(
        self,
        parsed: dict[str, tuple[CompletionRow, str, list[tuple[Body, str | None]] | None]],
        fetched_at: float,
        result: WriteResult,
        new_cache: dict[bytes, int],
    ) -> dict[str, int]:
        conn = self.conn
        ids = list(parsed)
        before = self._pks(ids)
        rows = []
        summarised = []  # rows whose input messages come with them: their summary goes in at once
        for cid, (row, raw, given) in parsed.items():
            cols = row.columns
            cost = cols.get("cost") or price_raw(self.pricer, raw, self.profile)
            row_values = (
                cid,
                *(cols[c] for c in _COMPLETION_COLS[1:18]),
                self.profile,
                fetched_at,
                raw,
                *cost,
            )
            if given is None:
                rows.append(row_values[: self._width])
            else:
                summarised.append((*row_values[: self._width], *_input_summary(given)))
        names = _COMPLETION_COLS[: self._width]
        pk_of: dict[str, int] = {}
        for group, given_cols in ((rows, names), (summarised, names + _INPUT_COLS)):
            upsert = ", ".join(f"{c} = excluded.{c}" for c in given_cols[1:]) + ", removed_at = NULL"
            returned = insert_many(
                conn,
                f"INSERT INTO completions ({', '.join(given_cols)})",
                group,
                f"ON CONFLICT(id) DO UPDATE SET {upsert} RETURNING id, pk",
            )
            pk_of.update((cid, pk) for cid, pk in returned)
        result.completions = len(pk_of)
        result.inserted = len(pk_of) - len(before)
        pks = list(pk_of.values())
        for chunk in _chunks(pks, 900):
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM messages WHERE kind = 1 AND completion IN ({marks})", chunk)
            conn.execute(f"DELETE FROM tool_calls WHERE completion IN ({marks})", chunk)
            conn.execute(f"DELETE FROM completion_metadata WHERE completion IN ({marks})", chunk)
        bodies = [b for row, _, _ in parsed.values() for b in row.outputs]
        body_ids = self._body_ids_for(bodies, result, new_cache)
        msg_rows = []
        call_rows = []
        meta_rows = []
        for cid, (row, _raw, _inputs) in parsed.items():
            pk = pk_of[cid]
            for pos, body in zip(row.output_positions, row.outputs, strict=True):
                msg_rows.append((pk, 1, pos, body_ids[body.hash], None))
            for choice, call in row.tool_calls:
                call_rows.append(
                    (
                        pk,
                        choice,
                        call.position,
                        call.call_id,
                        call.type,
                        clean(call.name) if call.name else call.name,
                        clean(call.arguments) if call.arguments else call.arguments,
                        int(call.valid_json),
                    )
                )
            for key, value in row.metadata.items():
                meta_rows.append((pk, key, value))
        insert_many(
            conn, "INSERT OR REPLACE INTO messages (completion, kind, position, body, msg_id)", msg_rows
        )
        insert_many(
            conn,
            "INSERT OR REPLACE INTO tool_calls (completion, choice, position, call_id, type, name, arguments, valid_json)",
            call_rows,
        )
        insert_many(conn, "INSERT OR REPLACE INTO completion_metadata (completion, key, value)", meta_rows)
        result.messages += len(msg_rows)
        inputs = {pk_of[cid]: (cid, inp) for cid, (_row, _raw, inp) in parsed.items() if inp is not None}
        self._write_inputs(inputs, result, new_cache, summarised=True)
        return pk_of

    def _write_inputs(
        self,
        inputs: Mapping[int, tuple[str, list[tuple[Body, str | None]]]],
        result: WriteResult,
        new_cache: dict[bytes, int],
        *,
        summarised: bool = False,
    ) -> None:
        """`inputs`: completion pk -> (completion id, its input messages); `summarised`: their
        rows already hold `_input_summary` (written with the row)."""
        if not inputs:
            return
        conn = self.conn
        body_ids = self._body_ids_for(
            [b for _, items in inputs.values() for b, _ in items], result, new_cache
        )
        for chunk in _chunks(list(inputs), 900):
            conn.execute(
                f"DELETE FROM messages WHERE kind = 0 AND completion IN ({','.join('?' * len(chunk))})", chunk
            )
        rows = [
            (pk, 0, pos, body_ids[body.hash], DERIVED_ID if msg_id == f"{cid}-{pos}" else msg_id)
            for pk, (cid, items) in inputs.items()
            for pos, (body, msg_id) in enumerate(items)
        ]
        insert_many(conn, "INSERT INTO messages (completion, kind, position, body, msg_id)", rows)
        result.messages += len(rows)
        if summarised:
            return
        updates = [(*_input_summary(items)[1:], pk) for pk, (_cid, items) in inputs.items()]
        conn.executemany(
            "UPDATE completions SET messages_state = 'ok', input_count = ?, preview = ?, has_images = ? WHERE pk = ?",
            updates,
        )

    def _body_ids_for(
        self, bodies: list[Body], result: WriteResult, new_cache: dict[bytes, int]
    ) -> dict[bytes, int]:
        ids: dict[bytes, int] = {}
        todo: dict[bytes, Body] = {}
        for body in bodies:
            h = body.hash
            if h in ids:
                continue
            known = self._body_ids.get(h) or new_cache.get(h)
            if known is not None:
                ids[h] = known
            else:
                todo[h] = body
        if todo:
            hashes = list(todo)
            for chunk in _chunks(hashes, 900):
                for bid, h in self.conn.execute(
                    f"SELECT id, hash FROM bodies WHERE hash IN ({','.join('?' * len(chunk))})", chunk
                ):
                    ids[h] = bid
            fresh = [todo[h] for h in hashes if h not in ids]
            if fresh:
                returned = insert_many(
                    self.conn,
                    f"INSERT INTO bodies ({', '.join(_BODY_COLS)})",
                    [
                        (b.hash, b.role, b.content, b.tool, b.refusal, b.transcript, int(b.split), b.raw)
                        for b in fresh
                    ],
                    "RETURNING hash, id",
                )
                for h, bid in returned:
                    ids[h] = bid
                result.bodies += len(fresh)
            for h in hashes:
                new_cache[h] = ids[h]
        return ids

    def _pks(self, ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(ids, 900):
            for cid, pk in self.conn.execute(
                f"SELECT id, pk FROM completions WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                out[cid] = pk
        return out

    def _remember(self, new_cache: Mapping[bytes, int]) -> None:
        """Only after COMMIT: a rolled-back body id must never be reused."""
        cache = self._body_ids
        for h, bid in new_cache.items():
            cache[h] = bid
            cache.move_to_end(h)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


# What a completion's row says of its input messages. Written with the row when the inputs come
# with it (an import): a row that grows by an UPDATE after its insert splits its full page, and
# the table ends up with a sixth of its pages empty.
_INPUT_COLS = ("messages_state", "input_count", "preview", "has_images")


def _input_summary(items: Sequence[tuple[Body, str | None]]) -> tuple[str, int, str | None, int]:
    return "ok", len(items), preview_of([b for b, _ in items]), int(any(b.has_images for b, _ in items))


def _has_cost_columns(conn: sqlite3.Connection) -> bool:
    return any(r[1] == "cost_usd" for r in conn.execute("PRAGMA table_info(completions)"))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _created(item: dict[str, Any]) -> int | None:
    value = item.get("created")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id_or_none(item: Any) -> str | None:
    cid = item.get("id") if isinstance(item, dict) else None
    return cid if isinstance(cid, str) else None


def _dumps_or_none(item: Any) -> str | None:
    try:
        return dumps(item)
    except (RecursionError, ValueError, TypeError):
        return None


def save_checkpoint(conn: sqlite3.Connection, profile: str, state: Checkpoint | Mapping[str, Any]) -> None:
    """Inside the caller's transaction (sqlite-utils nests a savepoint): the page and its checkpoint
    commit together."""
    data = state.to_json() if isinstance(state, Checkpoint) else dict(state)
    sqlite_utils.Database(conn).table("sync_state").upsert(
        {"profile": profile, "state": dumps(data), "updated": time.time()}, pk="profile"
    )


def load_checkpoint(conn: sqlite3.Connection, profile: str) -> Checkpoint | None:
    """The saved checkpoint (states saved by earlier versions load too), or None: never synced."""
    row = conn.execute("SELECT state FROM sync_state WHERE profile = ?", (profile,)).fetchone()
    if not row:
        return None
    try:
        saved = json.loads(row[0])
    except ValueError:
        saved = None
    return Checkpoint.from_json(saved)


def mark_removed(conn: sqlite3.Connection, ids: Sequence[str], at: float | None = None) -> int:
    """Gone upstream (expired or deleted): flagged, never deleted locally."""
    at = time.time() if at is None else at
    n = 0
    with transaction(conn):
        for chunk in _chunks(list(ids), 900):
            cur = conn.execute(
                f"UPDATE completions SET removed_at = ? WHERE removed_at IS NULL AND id IN ({','.join('?' * len(chunk))})",
                [at, *chunk],
            )
            n += cur.rowcount
    return n
