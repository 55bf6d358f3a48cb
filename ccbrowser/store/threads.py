"""Conversation threads in the store: the `threads.Index` over SQLite, the write-time update, the backfill.

Tables (schema migration "threads"):

- `thread_nodes`: one row per completion (keyed by its API id): the threading keys that
  `threads.keys_from` computes (`prefix_key`, `anchor_key`, `grp`, `tool_step`, `length`) and where it
  sits (`thread`, `parent`, `parent_choice`, `turn`, `branch`, `continues`).
- `thread_keys`: one row per (completion, choice): `full_key`, `tail_key`.
- `threads`: one row per thread, the summary the conversation list shows and `turns:` filters on
  (kept current after every write: only the threads a write touched are recomputed).
- `thread_options` (schema migration "thread options"): the `threads.Options` (the config's
  `[threads]` table) the tables were built with. Keys made under other options never match
  these, so a writer given other options threads every completion again first (`adopt`).

Keys are computed from the rows just written (`messages` and `bodies`), never from the request
objects: the same code serves a page write, input messages fetched later and the backfill, and a
body's encoding is cached by body id, so a system prompt shared by a thousand completions is
encoded once per writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ccbrowser.store.reader import body_json
from ccbrowser.threads import Assignment, Keys, MemoryIndex, Options, SystemMode, Threader
from ccbrowser.threads.canon import SYSTEM_ROLES, encoding, mask, text_encoding
from ccbrowser.threads.keys import group_of, keys_from, output_encodings

DDL = """
CREATE TABLE thread_nodes (
    id TEXT PRIMARY KEY,
    created INTEGER NOT NULL DEFAULT 0,
    grp TEXT,
    prefix_key BLOB,
    anchor_key BLOB,
    tool_step INTEGER NOT NULL DEFAULT 0,
    length INTEGER NOT NULL DEFAULT 0,
    thread TEXT NOT NULL,
    parent TEXT,
    parent_choice INTEGER,
    turn INTEGER NOT NULL DEFAULT 0,
    branch INTEGER NOT NULL DEFAULT 0,
    continues TEXT
) WITHOUT ROWID;
CREATE INDEX thread_nodes_prefix ON thread_nodes(prefix_key) WHERE prefix_key IS NOT NULL;
CREATE INDEX thread_nodes_anchor ON thread_nodes(anchor_key) WHERE anchor_key IS NOT NULL;
CREATE INDEX thread_nodes_parent ON thread_nodes(parent) WHERE parent IS NOT NULL;
CREATE INDEX thread_nodes_roots ON thread_nodes(grp) WHERE parent IS NULL AND grp IS NOT NULL;
CREATE INDEX thread_nodes_thread ON thread_nodes(thread, turn);
CREATE INDEX thread_nodes_is_root ON thread_nodes(id) WHERE parent IS NULL;
CREATE TABLE thread_keys (
    id TEXT NOT NULL,
    choice INTEGER NOT NULL,
    full_key BLOB NOT NULL,
    tail_key BLOB,
    PRIMARY KEY (id, choice)
) WITHOUT ROWID;
CREATE INDEX thread_keys_full ON thread_keys(full_key);
CREATE INDEX thread_keys_tail ON thread_keys(tail_key) WHERE tail_key IS NOT NULL;
CREATE TABLE threads (
    thread TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    completions INTEGER NOT NULL,
    turns INTEGER NOT NULL,
    branches INTEGER NOT NULL,
    first_created INTEGER,
    last_created INTEGER,
    total_tokens INTEGER,
    models TEXT,
    preview TEXT
) WITHOUT ROWID;
CREATE INDEX threads_last ON threads(last_created);
CREATE INDEX threads_turns ON threads(turns);
"""

_NODE_COLS = "created, grp, prefix_key, anchor_key, tool_step, length"
_ASSIGN_COLS = "thread, parent, parent_choice, turn, branch, continues"
_ENC_CACHE = 50_000
_CHUNK = 900
_UNSEEN = object()

# The summary of each thread from its nodes: `turns` counts user turns (the root's is turn 0);
# the root is the earliest parentless node (an explicit group may have several).
_SUMMARY = """
INSERT OR REPLACE INTO threads
    (thread, root, completions, turns, branches, first_created, last_created, total_tokens, models, preview)
SELECT n.thread,
    (SELECT r.id FROM thread_nodes r WHERE r.thread = n.thread AND r.parent IS NULL
        ORDER BY r.created, r.id LIMIT 1),
    count(*), max(n.turn) + 1, sum(n.branch > 0), min(c.created), max(c.created),
    sum(coalesce(c.total_tokens, 0)), group_concat(DISTINCT c.model),
    (SELECT p.preview FROM thread_nodes r JOIN completions p ON p.id = r.id
        WHERE r.thread = n.thread AND r.parent IS NULL ORDER BY r.created, r.id LIMIT 1)
FROM thread_nodes n JOIN completions c ON c.id = n.id
"""


OPTIONS_DDL = """
CREATE TABLE thread_options (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    options TEXT NOT NULL
);
"""


def options_json(options: Options) -> str:
    return json.dumps({"id_keys": list(options.id_keys), "system": str(options.system)})


def stored_options(conn: sqlite3.Connection) -> Options | None:
    """The options the thread tables were built with (the defaults before they were recorded);
    None when the record cannot be read (the next writer with options builds them again)."""
    try:
        row = conn.execute("SELECT options FROM thread_options WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a schema before the table: built with the defaults
        return Options()
    if row is None:
        return Options()
    try:
        data = json.loads(row[0])
        return Options(tuple(str(k) for k in data["id_keys"]), SystemMode(data["system"]))
    except (ValueError, KeyError, TypeError):
        return None


def record_options(conn: sqlite3.Connection, options: Options) -> None:
    conn.execute(
        "INSERT INTO thread_options (id, options) VALUES (1, ?) "
        "ON CONFLICT(id) DO UPDATE SET options = excluded.options",
        (options_json(options),),
    )


def adopt(conn: sqlite3.Connection, options: Options) -> int | None:
    """Make `options` the ones the tables hold (inside the caller's transaction): when they
    differ from the recorded ones, every completion is threaded again (the backfill). Returns
    how many completions were, None when nothing changed."""
    if stored_options(conn) == options:
        return None
    count = backfill(conn, options)
    record_options(conn, options)
    return count


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def present(conn: sqlite3.Connection) -> bool:
    """Whether this database has the thread tables (its schema is recent enough)."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'thread_nodes'"
    return conn.execute(sql).fetchone() is not None


class SqliteIndex:
    """`threads.Index` over `thread_nodes`/`thread_keys`, for one batch inside one transaction.

    The tables are read, never written, while the threader works: every row it changes moves
    into an in-memory overlay (a `MemoryIndex`) that answers for it from then on, and `flush`
    writes the overlay back in a few multi-row statements. `prefetch` answers the batch's own
    key look-ups with four queries instead of one per key. `touched` collects every thread whose
    membership changed (old and new thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._keys: dict[str, Keys | None] = {}  # the tables' rows, as read
        self._assign: dict[str, Assignment | None] = {}
        self.mem = MemoryIndex()
        self._moved: set[str] = set()  # ids the overlay answers for
        self._rekeyed: set[str] = set()
        self._by: dict[tuple[str, bytes], list[Any]] = {}  # prefetched look-ups of the tables
        self.touched: set[str] = set()

    # -- reading the tables ---------------------------------------------------------------------

    def preload(self, ids: Iterable[str]) -> None:
        todo = [i for i in dict.fromkeys(ids) if i not in self._keys]
        for chunk in _chunks(todo, _CHUNK):
            for cid in chunk:
                self._keys[cid] = None
                self._assign[cid] = None
            marks = _marks(len(chunk))
            rows = self.conn.execute(
                f"SELECT id, {_NODE_COLS}, {_ASSIGN_COLS} FROM thread_nodes WHERE id IN ({marks})",
                list(chunk),
            ).fetchall()
            pairs: dict[str, list[tuple[bytes, bytes | None]]] = {}
            sql = f"SELECT id, full_key, tail_key FROM thread_keys WHERE id IN ({marks}) ORDER BY id, choice"
            for cid, full, tail in self.conn.execute(sql, list(chunk)):
                pairs.setdefault(cid, []).append((full, tail))
            for row in rows:
                cid, created, grp, prefix, anchor, tool_step, length = row[:7]
                got = pairs.get(cid, [])
                self._keys[cid] = Keys(
                    cid,
                    created,
                    grp,
                    prefix,
                    tuple(f for f, _ in got),
                    tuple(t for _, t in got),
                    anchor,
                    bool(tool_step),
                    length,
                )
                self._assign[cid] = Assignment(cid, *row[7:])

    def prefetch(self, batch: Sequence[Keys]) -> None:
        """The look-ups `Threader.add` makes for this batch (and the keys it replaces), at once."""
        self.preload(k.id for k in batch)
        every = [*batch, *(old for k in batch if (old := self._keys.get(k.id)) is not None)]
        wanted: dict[str, set[bytes]] = {"prefix": set(), "anchor": set(), "full": set(), "tail": set()}
        for k in every:
            wanted["prefix"].update(k.full_keys)  # who waits on my outputs
            wanted["anchor"].update(t for t in k.tail_keys if t is not None)
            if k.prefix_key is not None:
                wanted["full"].add(k.prefix_key)  # my parent
            if k.anchor_key is not None:
                wanted["tail"].add(k.anchor_key)
        queries = {
            "prefix": "SELECT prefix_key, id FROM thread_nodes WHERE prefix_key IN ({})",
            "anchor": "SELECT anchor_key, id FROM thread_nodes WHERE anchor_key IN ({})",
            "full": "SELECT full_key, id, choice FROM thread_keys WHERE full_key IN ({})",
            "tail": "SELECT DISTINCT tail_key, id FROM thread_keys WHERE tail_key IN ({})",
        }
        found: list[str] = []
        for kind, keys in wanted.items():
            for key in keys:
                self._by[(kind, key)] = []
            for chunk in _chunks(sorted(keys), _CHUNK):
                for key, *rest in self.conn.execute(queries[kind].format(_marks(len(chunk))), list(chunk)):
                    self._by[(kind, key)].append(tuple(rest) if kind == "full" else rest[0])
                    found.append(rest[0])
        self.preload(found)

    def _table(self, kind: str, key: bytes, sql: str) -> list[Any]:
        hit = self._by.get((kind, key))
        if hit is None:
            hit = [tuple(r) if kind == "full" else r[0] for r in self.conn.execute(sql, (key,))]
            self._by[(kind, key)] = hit
        return hit

    # -- the protocol -----------------------------------------------------------------------------

    def keys(self, cid: str) -> Keys | None:
        if cid in self._moved:
            return self.mem.keys(cid)
        if cid not in self._keys:
            self.preload([cid])
        return self._keys[cid]

    def assignment(self, cid: str) -> Assignment | None:
        if cid in self._moved:
            return self.mem.assignment(cid)
        if cid not in self._assign:
            self.preload([cid])
        return self._assign[cid]

    def _move(self, cid: str) -> None:
        """From now on the overlay answers for `cid`: it starts as the tables' row."""
        if cid in self._moved:
            return
        keys, assign = self.keys(cid), self.assignment(cid)
        self._moved.add(cid)
        if keys is not None:
            self.mem.put_keys(keys)
        if assign is not None:
            self.mem.put_assignment(assign)

    def put_keys(self, keys: Keys) -> None:
        self._move(keys.id)
        self.mem.put_keys(keys)
        self._rekeyed.add(keys.id)

    def put_assignment(self, assignment: Assignment) -> None:
        self._move(assignment.id)
        old = self.mem.assignment(assignment.id)
        if old is not None:
            self.touched.add(old.thread)
        self.touched.add(assignment.thread)
        self.mem.put_assignment(assignment)

    def _ids(self, kind: str, key: Any, sql: str, mem: Iterable[str]) -> list[str]:
        base = [cid for cid in self._table(kind, key, sql) if cid not in self._moved]
        return base + [cid for cid in mem if cid not in base]

    def with_full_key(self, key: bytes) -> Iterable[tuple[str, int]]:
        sql = "SELECT id, choice FROM thread_keys WHERE full_key = ?"
        base = [(cid, j) for cid, j in self._table("full", key, sql) if cid not in self._moved]
        return base + list(self.mem.with_full_key(key))

    def with_tail_key(self, key: bytes) -> Iterable[str]:
        sql = "SELECT DISTINCT id FROM thread_keys WHERE tail_key = ?"
        return self._ids("tail", key, sql, dict.fromkeys(self.mem.with_tail_key(key)))

    def with_prefix_key(self, key: bytes) -> Iterable[str]:
        sql = "SELECT id FROM thread_nodes WHERE prefix_key = ?"
        return self._ids("prefix", key, sql, self.mem.with_prefix_key(key))

    def with_anchor_key(self, key: bytes) -> Iterable[str]:
        sql = "SELECT id FROM thread_nodes WHERE anchor_key = ?"
        return self._ids("anchor", key, sql, self.mem.with_anchor_key(key))

    def children(self, cid: str) -> Iterable[str]:
        sql = "SELECT id FROM thread_nodes WHERE parent = ?"
        base = [r[0] for r in self.conn.execute(sql, (cid,)) if r[0] not in self._moved]
        return base + sorted(self.mem.children(cid))

    def group_roots(self, group: str) -> Iterable[str]:
        sql = "SELECT id FROM thread_nodes WHERE grp = ? AND parent IS NULL"
        base = [r[0] for r in self.conn.execute(sql, (group,)) if r[0] not in self._moved]
        return base + sorted(self.mem.group_roots(group))

    # -- writing back -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every row the overlay holds, in multi-row statements."""
        conn = self.conn
        rows = []
        for cid in self._moved:
            k, a = self.mem.keys(cid), self.mem.assignment(cid)
            if k is None:
                continue
            a = a if a is not None else Assignment(cid, k.group or cid)
            rows.append(
                (cid, k.created, k.group, k.prefix_key, k.anchor_key, int(k.tool_step), k.length)
                + (a.thread, a.parent, a.parent_choice, a.turn, a.branch, a.continues)
            )
        cols = ("created", "grp", "prefix_key", "anchor_key", "tool_step", "length") + (
            "thread",
            "parent",
            "parent_choice",
            "turn",
            "branch",
            "continues",
        )
        upsert = ", ".join(f"{c} = excluded.{c}" for c in cols)
        insert_rows(
            conn,
            f"INSERT INTO thread_nodes (id, {', '.join(cols)})",
            rows,
            f"ON CONFLICT(id) DO UPDATE SET {upsert}",
        )
        rekeyed = sorted(self._rekeyed)
        for chunk in _chunks(rekeyed, _CHUNK):
            conn.execute(f"DELETE FROM thread_keys WHERE id IN ({_marks(len(chunk))})", list(chunk))
        pairs: list[tuple[str, int, bytes, bytes | None]] = []
        for cid in rekeyed:
            k = self.mem.keys(cid)
            assert k is not None
            pairs.extend(
                (cid, j, f, t) for j, (f, t) in enumerate(zip(k.full_keys, k.tail_keys, strict=True))
            )
        insert_rows(conn, "INSERT INTO thread_keys (id, choice, full_key, tail_key)", pairs)


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
    """`head VALUES (...),(...) tail`, a few hundred rows a statement."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, min(500, 32_000 // width))
    group = "(" + ",".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        conn.execute(f"{head} VALUES {','.join([group] * len(chunk))} {tail}", [v for r in chunk for v in r])


class Encodings:
    """`canon.encoding` of stored bodies by (body id, kind) (bounded LRU): bodies repeat across a
    chat. The JSON of a body without its text (`{"role": "user", "name": null, ...}`) is shared
    by most bodies, so it is parsed once per distinct string."""

    def __init__(self, options: Options | None = None, size: int = _ENC_CACHE) -> None:
        self.options = options if options is not None else Options()
        self.size = size
        self._cache: OrderedDict[tuple[int, int], bytes | None] = OrderedDict()
        self._parsed: dict[str, Any] = {}
        self._templates: dict[str, tuple[str, str, str] | None] = {}
        self._hashed: OrderedDict[bytes, bytes | None] = OrderedDict()

    def of_input(self, msg: Any, body_hash: bytes | None) -> bytes | None:
        """`canon.encoding` of an input message just fetched, by the hash of its body (which
        covers every field but the message id, and so everything the encoding reads): a chat
        sends its history again with every turn, so most are encoded once."""
        if body_hash is None:
            return encoding(msg, self.options.system)
        cache = self._hashed
        if body_hash in cache:
            cache.move_to_end(body_hash)
            return cache[body_hash]
        enc = cache[body_hash] = encoding(msg, self.options.system)
        if len(cache) > self.size:
            cache.popitem(last=False)
        return enc

    def _message(self, raw: str, split: int, content: str | None) -> Any:
        if not split or len(raw) > 200:
            return body_json(raw, split, content)
        return {**base, "content": content} if isinstance(base := self._base(raw), dict) else base

    def _base(self, raw: str) -> Any:
        base = self._parsed.get(raw)
        if base is None:
            if len(self._parsed) > 4096:
                self._parsed.clear()
                self._templates.clear()
            base = self._parsed[raw] = json.loads(raw)
        return base

    def _template(self, raw: str) -> tuple[str, str, str] | None:
        """(role, name, tool call id) when every body with this `raw` and a non-empty string
        content takes `canon.encoding`'s text path (as an input and as an output alike), else None.
        Decided on the same fields that path checks, so the bytes are the same."""
        found = self._templates.get(raw, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        base = self._base(raw)
        found = None
        if type(base) is dict:
            role, name, call_id = base.get("role"), base.get("name"), base.get("tool_call_id")
            if (
                type(role) is str
                and not base.get("content_parts")
                and not base.get("tool_calls")
                and not base.get("function_call")
                and (name is None or type(name) is str)
                and (call_id is None or type(call_id) is str)
            ):
                found = (role, name or "", call_id or "")
        self._templates[raw] = found
        return found

    def get(
        self, conn: sqlite3.Connection, wanted: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes | None]:
        """(body id, kind) -> its encoding as an input (kind 0) or as an output (kind 1)."""
        out: dict[tuple[int, int], bytes | None] = {}
        todo: dict[int, set[int]] = {}
        cache = self._cache
        for key in wanted:
            if key in out:
                continue
            if key in cache:
                out[key] = cache[key]
            else:
                todo.setdefault(key[0], set()).add(key[1])
        system = self.options.system
        ids = list(todo)
        for chunk in _chunks(ids, _CHUNK):
            sql = f"SELECT id, raw, content_split, content FROM bodies WHERE id IN ({_marks(len(chunk))})"
            for bid, raw, split, content in conn.execute(sql, list(chunk)):
                kinds = todo[bid]
                template = (
                    self._template(raw)
                    if split and content and type(content) is str and len(raw) <= 200
                    else None
                )
                if template is not None:  # the text path, without building the message
                    role, name, call_id = template
                    enc: bytes | None
                    if role in SYSTEM_ROLES and system is not SystemMode.EXACT:
                        enc = (
                            None
                            if system is SystemMode.IGNORE
                            else text_encoding(role, name, call_id, mask(content))
                        )
                    else:
                        enc = text_encoding(role, name, call_id, content)
                    for kind in kinds:
                        out[(bid, kind)] = cache[(bid, kind)] = enc if kind == 0 else enc or b""
                    continue
                msg = self._message(raw, split, content)
                for kind in kinds:
                    enc = encoding(msg, system) if kind == 0 else output_encodings([msg], system)[0]
                    out[(bid, kind)] = cache[(bid, kind)] = enc
        while len(cache) > self.size:
            cache.popitem(last=False)
        return out

    def clear(self) -> None:
        """After a rollback: a body id of the rolled-back transaction may be reused for another body."""
        self._cache.clear()


def stored_keys(
    conn: sqlite3.Connection,
    pks: Sequence[int],
    encodings: Encodings,
    inputs: Mapping[int, Sequence[Any]] | None = None,
    hashes: Mapping[int, Sequence[bytes]] | None = None,
) -> list[Keys]:
    """The threading keys of these completions, from their stored rows (or from `inputs`, the
    input messages just fetched, when given: no need to decode what is in hand; `hashes`, their
    body hashes, when known, spare encoding a message seen before)."""
    out: list[Keys] = []
    options = encodings.options
    given = inputs or {}
    hashed = hashes or {}
    for chunk in _chunks(list(pks), _CHUNK):
        marks = _marks(len(chunk))
        heads = conn.execute(
            f"SELECT pk, id, coalesce(created, 0), messages_state FROM completions WHERE pk IN ({marks})",
            list(chunk),
        ).fetchall()
        meta: dict[int, dict[str, Any]] = {}
        if options.id_keys:
            sql = (
                f"SELECT completion, key, value FROM completion_metadata WHERE completion IN ({marks}) "
                f"AND key IN ({_marks(len(options.id_keys))})"
            )
            for pk, key, value in conn.execute(sql, [*chunk, *options.id_keys]):
                meta.setdefault(pk, {})[key] = value
        msgs: dict[int, tuple[list[tuple[str | None, int]], list[int]]] = {}
        # Inputs just fetched are in hand: of those completions only the outputs are read (no
        # join for roles), not the inputs the same transaction has just written.
        fresh = [pk for pk in chunk if pk in given]
        stored = [pk for pk in chunk if pk not in given]
        rows: list[tuple[int, int, int, str | None]] = []
        if stored:
            rows += conn.execute(
                "SELECT m.completion, m.kind, m.body, b.role FROM messages m JOIN bodies b ON b.id = m.body "
                f"WHERE m.completion IN ({_marks(len(stored))}) ORDER BY m.completion, m.kind, m.position",
                stored,
            ).fetchall()
        if fresh:
            rows += conn.execute(
                "SELECT completion, kind, body, NULL FROM messages "
                f"WHERE completion IN ({_marks(len(fresh))}) AND kind = 1 ORDER BY completion, kind, position",
                fresh,
            ).fetchall()
        bodies: list[tuple[int, int]] = []
        for pk, kind, body, role in rows:
            ins, outs = msgs.setdefault(pk, ([], []))
            if kind == 0:
                ins.append((role, body))
            else:
                outs.append(body)
            bodies.append((body, kind))
        enc = encodings.get(conn, bodies)
        for pk, cid, created, state in heads:
            group = group_of(meta.get(pk, {}), options.id_keys)
            ins, outs = msgs.get(pk, ([], []))
            if pk in given:
                msgs_in = given[pk]
                hs: Sequence[bytes | None] = hashed.get(pk) or ()
                if len(hs) != len(msgs_in):
                    hs = [None] * len(msgs_in)
                known = [
                    (m.get("role") if type(m) is dict else None, encodings.of_input(m, h))
                    for m, h in zip(msgs_in, hs, strict=True)
                ]
            elif state == "ok":
                known = [(r, enc[(b, 0)]) for r, b in ins]
            else:
                out.append(Keys(cid, created, group, None, (), (), None, False, 0))
                continue
            out.append(keys_from(cid, created, group, known, [enc[(b, 1)] or b"" for b in outs]))
    return out


def update(
    conn: sqlite3.Connection,
    pk_of: Mapping[str, int],
    encodings: Encodings,
    *,
    known: Mapping[str, Keys] | None = None,
    inputs: Mapping[int, Sequence[Any]] | None = None,
    hashes: Mapping[int, Sequence[bytes]] | None = None,
) -> int:
    """Re-thread these completions (just written, inside the caller's transaction): `pk_of` those
    written (id -> pk), `known` the keys already computed for some of them, `inputs` input
    messages just fetched (pk -> messages). Returns how many assignments changed. Only the rows
    near them are read: every look-up is indexed."""
    known = known or {}
    keys = [known[cid] for cid in pk_of if cid in known]
    rest = [pk for cid, pk in pk_of.items() if cid not in known]
    if inputs:
        rest.extend(pk for pk in inputs if pk not in rest)
    if rest:
        keys.extend(stored_keys(conn, rest, encodings, inputs, hashes))
    if not keys:
        return 0
    index = SqliteIndex(conn)
    index.prefetch(keys)
    changed = Threader(index, encodings.options).add(keys)
    index.flush()
    touched = index.touched | {a.thread for k in keys if (a := index.assignment(k.id)) is not None}
    refresh_summaries(conn, sorted(touched))
    return len(changed)


def refresh_summaries(conn: sqlite3.Connection, threads: Sequence[str]) -> None:
    for chunk in _chunks(list(threads), _CHUNK):
        marks = _marks(len(chunk))
        conn.execute(f"DELETE FROM threads WHERE thread IN ({marks})", list(chunk))
        conn.execute(f"{_SUMMARY} WHERE n.thread IN ({marks}) GROUP BY n.thread", list(chunk))


def backfill(conn: sqlite3.Connection, options: Options | None = None) -> int:
    """Thread every stored completion (a migration, or a rebuild): keys from the stored rows,
    linked in memory in one pass, written in bulk. Returns the number of completions."""
    encodings = Encodings(options, size=200_000)
    threader = Threader(MemoryIndex(), encodings.options)
    pks = [r[0] for r in conn.execute("SELECT pk FROM completions ORDER BY pk")]
    all_keys = stored_keys(conn, pks, encodings)
    threader.add(all_keys)
    index = threader.index
    assert isinstance(index, MemoryIndex)
    assign = index.assignments()
    conn.execute("DELETE FROM thread_keys")
    conn.execute("DELETE FROM thread_nodes")
    conn.execute("DELETE FROM threads")
    # The keys are hashes: kept up to date row by row, every index insert lands on a random page
    # (the cache spills and the WAL grows several times over). Built once after, each is a sort.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('thread_nodes', 'thread_keys')"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.executemany(
        f"INSERT INTO thread_nodes (id, {_NODE_COLS}, {_ASSIGN_COLS}) VALUES ({_marks(13)})",
        (
            (
                k.id,
                k.created,
                k.group,
                k.prefix_key,
                k.anchor_key,
                int(k.tool_step),
                k.length,
                a.thread,
                a.parent,
                a.parent_choice,
                a.turn,
                a.branch,
                a.continues,
            )
            for k in all_keys
            if (a := assign.get(k.id)) is not None
        ),
    )
    conn.executemany(
        "INSERT INTO thread_keys (id, choice, full_key, tail_key) VALUES (?, ?, ?, ?)",
        (
            (k.id, j, f, t)
            for k in all_keys
            for j, (f, t) in enumerate(zip(k.full_keys, k.tail_keys, strict=True))
        ),
    )
    for _, sql in indexes:
        conn.execute(sql)  # before the summary: its subqueries look roots up by thread
    summary_indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'threads'"
    ).fetchall()
    for name, _ in summary_indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(f"{_SUMMARY} GROUP BY n.thread")
    for _, sql in summary_indexes:
        conn.execute(sql)
    return len(all_keys)
