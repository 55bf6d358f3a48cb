"""DDL and migrations.

The schema version lives in `PRAGMA user_version`; each migration moves it up by one, inside one
transaction, so an old database upgrades in place and a crash mid-upgrade leaves the old version.

Layout (why):
- `completions` holds one row per API object with typed columns for every filter and the verbatim
  JSON (`raw`): nothing the API sends is lost, including fields that do not exist yet.
- `bodies` holds each *distinct* message body once (content-addressed by a hash of its canonical
  JSON): stored completions repeat the whole history and the same system prompt thousands of times.
  `messages` maps (completion, kind, position) to a body. The FTS index covers bodies only.
- `tool_calls` and `completion_metadata` serve exact filters (`tool:`, `meta:`).
- `completions_view` and `messages_view` (v4) are for other tools (Datasette, sqlite-utils):
  ccbrowser itself never reads them.

Migrations are history: a released one never changes, a new one is appended. They use sqlite-utils
where it says the change plainly (`table_names`, `drop`, `rebuild_fts`, `create_view`, and for
future ones `add_column`, `create_index`, `table.exists`) and raw DDL where it cannot (partial
indexes, FTS5 options: `enable_fts` cannot set `content_rowid`). sqlite-utils' `transform()`
drops the FTS triggers on `bodies`: re-create them after it. Never call its `executescript`-based
helpers (`enable_fts`) inside a migration: `executescript` commits the migration's transaction.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable

import sqlite_utils

from ccbrowser.errors import CCBrowserError

FTS_TABLE = "bodies_fts"  # external content: the text lives in `bodies`, keyed by `bodies.id`
FTS_COLUMNS = ("content", "tool", "refusal", "transcript")

_V1 = """
CREATE TABLE completions (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created INTEGER,
    model TEXT,
    finish_reason TEXT,
    service_tier TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    reasoning_tokens INTEGER,
    cached_tokens INTEGER,
    n_choices INTEGER NOT NULL DEFAULT 0,
    tool_call_count INTEGER NOT NULL DEFAULT 0,
    has_tools INTEGER NOT NULL DEFAULT 0,
    has_refusal INTEGER NOT NULL DEFAULT 0,
    has_audio INTEGER NOT NULL DEFAULT 0,
    has_annotations INTEGER NOT NULL DEFAULT 0,
    has_logprobs INTEGER NOT NULL DEFAULT 0,
    has_images INTEGER NOT NULL DEFAULT 0,
    metadata TEXT,
    profile TEXT,
    fetched_at REAL,
    removed_at REAL,
    messages_state TEXT,
    input_count INTEGER,
    raw TEXT NOT NULL
);
CREATE INDEX completions_created ON completions(created);
CREATE INDEX completions_model ON completions(model, created);
CREATE INDEX completions_finish ON completions(finish_reason, created);
CREATE INDEX completions_tokens ON completions(total_tokens);
CREATE INDEX completions_pending ON completions(created) WHERE messages_state IS NULL;

CREATE TABLE bodies (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    role TEXT,
    content TEXT,
    tool TEXT,
    refusal TEXT,
    transcript TEXT,
    content_split INTEGER NOT NULL DEFAULT 0,  -- 1: a string `content` was moved out of `raw`
    raw TEXT NOT NULL
);

CREATE TABLE messages (
    completion INTEGER NOT NULL REFERENCES completions(pk) ON DELETE CASCADE,
    kind INTEGER NOT NULL,          -- 0 input message, 1 output (choice) message
    position INTEGER NOT NULL,      -- input: order in the request; output: choice index
    body INTEGER NOT NULL REFERENCES bodies(id),
    msg_id TEXT,                    -- the API's message id, when it has one
    PRIMARY KEY (completion, kind, position)
) WITHOUT ROWID;
CREATE INDEX messages_body ON messages(body);

CREATE TABLE tool_calls (
    completion INTEGER NOT NULL REFERENCES completions(pk) ON DELETE CASCADE,
    choice INTEGER NOT NULL,
    position INTEGER NOT NULL,
    call_id TEXT,
    type TEXT,
    name TEXT,
    arguments TEXT,
    valid_json INTEGER NOT NULL,
    PRIMARY KEY (completion, choice, position)
) WITHOUT ROWID;
CREATE INDEX tool_calls_name ON tool_calls(name);

CREATE TABLE completion_metadata (
    completion INTEGER NOT NULL REFERENCES completions(pk) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (completion, key)
) WITHOUT ROWID;
CREATE INDEX completion_metadata_kv ON completion_metadata(key, value);

CREATE TABLE rejects (
    id INTEGER PRIMARY KEY,
    source TEXT,
    error TEXT NOT NULL,
    raw TEXT NOT NULL,
    at REAL NOT NULL
);

CREATE TABLE sync_state (
    profile TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);

CREATE VIRTUAL TABLE bodies_fts USING fts5(
    content, tool, refusal, transcript,
    content='bodies', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER bodies_ai AFTER INSERT ON bodies BEGIN
    INSERT INTO bodies_fts(rowid, content, tool, refusal, transcript)
    VALUES (new.id, new.content, new.tool, new.refusal, new.transcript);
END;
CREATE TRIGGER bodies_ad AFTER DELETE ON bodies BEGIN
    INSERT INTO bodies_fts(bodies_fts, rowid, content, tool, refusal, transcript)
    VALUES ('delete', old.id, old.content, old.tool, old.refusal, old.transcript);
END;
CREATE TRIGGER bodies_au AFTER UPDATE OF content, tool, refusal, transcript ON bodies BEGIN
    INSERT INTO bodies_fts(bodies_fts, rowid, content, tool, refusal, transcript)
    VALUES ('delete', old.id, old.content, old.tool, old.refusal, old.transcript);
    INSERT INTO bodies_fts(rowid, content, tool, refusal, transcript)
    VALUES (new.id, new.content, new.tool, new.refusal, new.transcript);
END;
"""

# v2: the list line shows the last user message; computing it per row at read time would cost a
# join per visible line, so it is stored (and back-filled for databases made by v1).
_V2 = """
ALTER TABLE completions ADD COLUMN preview TEXT;
UPDATE completions SET preview = (
    SELECT substr(b.content, 1, 200) FROM messages m JOIN bodies b ON b.id = m.body
    WHERE m.completion = completions.pk AND m.kind = 0 AND b.role = 'user'
    ORDER BY m.position DESC LIMIT 1
);
CREATE INDEX completions_removed ON completions(removed_at) WHERE removed_at IS NOT NULL;
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in _split(sql):
            conn.execute(statement)

    return apply


def _split(sql: str) -> list[str]:
    """Split a script into statements (triggers contain `;` inside BEGIN ... END)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


# v3: `has:` filters had no index: counting or listing `has:refusal` scanned every row (~60 ms
# at 100k), and a search that mixes a flag with common words could not stop early. A partial
# index per flag holds only the flagged rows (a few hundred KB at 100k), in time order.
_V3 = """
CREATE INDEX completions_has_tools ON completions(created) WHERE has_tools = 1;
CREATE INDEX completions_has_refusal ON completions(created) WHERE has_refusal = 1;
CREATE INDEX completions_has_audio ON completions(created) WHERE has_audio = 1;
CREATE INDEX completions_has_annotations ON completions(created) WHERE has_annotations = 1;
CREATE INDEX completions_has_logprobs ON completions(created) WHERE has_logprobs = 1;
CREATE INDEX completions_has_images ON completions(created) WHERE has_images = 1;
"""

# v4: a database other tools understand. Datasette and `sqlite-utils search` find an external-content
# FTS table only when its DDL says `content="bodies"` (or `[bodies]`); v1 wrote `content='bodies'`,
# so their search boxes were silently ignored. The declaration cannot be altered: the index is
# dropped, declared again and rebuilt from `bodies` (the triggers stay: they name the table only).
# Rebuilding is done once: 100k completions (958k distinct bodies) took 7 s of CPU (27 s wall on a
# loaded 2-core machine). Two views give Datasette readable rows.
FTS_DDL = f"""
CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
    {", ".join(FTS_COLUMNS)},
    content="bodies", content_rowid="id",
    tokenize="unicode61 remove_diacritics 2"
)
""".strip()

# Time columns are Unix seconds (cheap to index and compare); the views show them as ISO 8601 UTC.
_ISO = "strftime('%Y-%m-%dT%H:%M:%SZ', {col}, 'unixepoch')"
VIEWS: dict[str, str] = {
    # One line per completion, as the list shows it: the first user message says what it was about.
    "completions_view": f"""
SELECT c.pk, c.id, {_ISO.format(col="c.created")} AS created, c.model, c.finish_reason,
    c.prompt_tokens, c.completion_tokens, c.total_tokens, c.tool_call_count, c.input_count,
    (SELECT substr(b.content, 1, 300) FROM messages m JOIN bodies b ON b.id = m.body
        WHERE m.completion = c.pk AND m.kind = 0 AND b.role = 'user'
        ORDER BY m.position LIMIT 1) AS first_user_message,
    c.profile, {_ISO.format(col="c.fetched_at")} AS fetched_at,
    {_ISO.format(col="c.removed_at")} AS removed_at
FROM completions c""",
    # Every message of every completion with its text; (completion, kind, position) is its key.
    "messages_view": f"""
SELECT c.id AS completion_id, {_ISO.format(col="c.created")} AS created, c.model,
    CASE m.kind WHEN 0 THEN 'input' ELSE 'output' END AS kind, m.position, b.role,
    b.content, b.tool, b.refusal, b.transcript, m.msg_id, m.body, m.completion
FROM messages m JOIN completions c ON c.pk = m.completion JOIN bodies b ON b.id = m.body""",
}


def _v4(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.table(FTS_TABLE).drop(ignore=True)
    conn.execute(FTS_DDL)
    # `rebuild_fts` finds the index through `detect_fts`: it fails here if the declaration is
    # still one that other tools cannot see.
    db.table("bodies").rebuild_fts()
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)


# v5: the live completions whose messages got a 404 are asked again by later syncs (a 404 from a
# broken server must not leave a permanent gap); this partial index keeps that look-up cheap.
_V5 = """
CREATE INDEX completions_missing ON completions(created) WHERE messages_state = 'missing';
"""

# v6: index text without terminal escape sequences: `\x1b[31mcapybara\x1b[0m` was indexed as the
# token `31mcapybara` and never found by `capybara`. The bodies holding an escape character get
# their text columns as `extract.index_text` makes them (a string content moves into `raw`, which
# keeps what the API sent); the FTS triggers re-index exactly those rows. Finding them reads every
# body once (tens of seconds at 100k completions): a note says so on a terminal.
_ESCAPED = " OR ".join(f"instr({c}, char(27)) OR instr({c}, char(155))" for c in FTS_COLUMNS)


def _index_text_without_sequences(conn: sqlite3.Connection) -> None:
    import json

    from ccbrowser.store.extract import dumps, index_text

    if conn.execute("SELECT 1 FROM bodies LIMIT 1").fetchone() is None:
        return
    if sys.stderr.isatty():
        sys.stderr.write("ccbrowser: updating the search index for text with escape sequences (once)...\n")
    rows = conn.execute(
        f"SELECT id, raw, content_split, {', '.join(FTS_COLUMNS)} FROM bodies WHERE {_ESCAPED}"
    ).fetchall()
    for bid, raw, split, *texts in rows:
        if split and index_text(texts[0] or "") != texts[0]:
            body = json.loads(raw)
            body["content"] = texts[0]
            raw, split = dumps(body, sort_keys=True), 0
        cleaned = [index_text(t) if t else t for t in texts]
        assigned = ", ".join(f"{c} = ?" for c in FTS_COLUMNS)
        conn.execute(
            f"UPDATE bodies SET {assigned}, raw = ?, content_split = ? WHERE id = ?",
            (*cleaned, raw, split, bid),
        )


# v7: what each completion cost, as columns, so that `cost:>0.05`, a cost sort and sums are
# indexed queries: `cost_usd` (NULL = unknown, never 0), `cost_source` (estimate | reported |
# unknown), `cost_note` (why unknown, or what is uncertain). `price_state` holds the stamp of the
# prices the columns were computed from (see store/costs.py); the backfill prices every row with
# the bundled data, and a command whose config says otherwise recomputes them. The columns come
# after `raw` in each row, so reading them from the table follows the row's overflow pages:
# `completions_cost` serves cost filters and the cost sort, `completions_pk_cost` every other
# read of a cost (by pk: the list column, probes, the usage sums; 6 s -> 0.2 s at 100k).
_V7 = """
ALTER TABLE completions ADD COLUMN cost_usd REAL;
ALTER TABLE completions ADD COLUMN cost_source TEXT;
ALTER TABLE completions ADD COLUMN cost_note TEXT;
CREATE INDEX completions_cost ON completions(cost_usd);
CREATE INDEX completions_pk_cost ON completions(
    pk, cost_usd, created, model, total_tokens, prompt_tokens, cached_tokens, cost_source
);
CREATE TABLE price_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    stamp TEXT NOT NULL,
    priced_at REAL NOT NULL
);
"""


def _costs(conn: sqlite3.Connection) -> None:
    from ccbrowser.progress import Progress
    from ccbrowser.store.costs import Pricer, reprice

    _script(_V7)(conn)
    progress = Progress("pricing every completion (schema upgrade)")  # on a terminal only
    try:
        reprice(conn, Pricer.default(), progress.step, in_transaction=True)
    finally:
        progress.close()


# v8: conversations.
def _threads(conn: sqlite3.Connection) -> None:
    """Conversation threads (`store/threads.py`): which completion continues which, and a summary
    per thread; every stored completion is threaded here (100k in well under a minute:
    `bench/bench_threads.py`)."""
    from ccbrowser.store import threads  # the threading code imports the store's encoder

    for statement in _split(threads.DDL):
        conn.execute(statement)
    threads.backfill(conn)


# v9: local labels (a star, tags, a note), the user's own data: never written by a sync or an
# import. Keyed by the API id, not by `completions.pk`, and without a foreign key: an id is what a
# sync, a reconcile and a re-import of an export all agree on, so labels follow a completion through
# any rewrite of its row (or its removal and return) and never cascade away with it. Partial
# indexes keep `is:starred` / `has:note` as cheap as the `has:` flags; `label_tags` is keyed
# (tag, id) so `tag:good` is a range of its primary key.
LABELS_TABLE = "labels"
TAGS_TABLE = "label_tags"
_V9 = """
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    starred INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    updated REAL NOT NULL
);
CREATE INDEX labels_starred ON labels(id) WHERE starred = 1;
CREATE INDEX labels_noted ON labels(id) WHERE note IS NOT NULL;
CREATE TABLE label_tags (
    tag TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, id)
) WITHOUT ROWID;
CREATE INDEX label_tags_id ON label_tags(id);
"""

# v10 (size): an input message's API id is `<completion id>-<position>` (the API numbers them so);
# storing it was ~37 bytes a message, 5% of a database. Such ids become an empty BLOB (a record
# stores it in no bytes; `reader.message_id` rebuilds the id), any other id stays as it came.
# `messages_view` shows the ids whole. The freed pages are reused by later writes (VACUUM
# returns them to the file system).
_MESSAGES_VIEW_V6 = f"""
SELECT c.id AS completion_id, {_ISO.format(col="c.created")} AS created, c.model,
    CASE m.kind WHEN 0 THEN 'input' ELSE 'output' END AS kind, m.position, b.role,
    b.content, b.tool, b.refusal, b.transcript,
    CASE WHEN typeof(m.msg_id) = 'blob' THEN c.id || '-' || m.position ELSE m.msg_id END AS msg_id,
    m.body, m.completion
FROM messages m JOIN completions c ON c.pk = m.completion JOIN bodies b ON b.id = m.body"""


def _derived_message_ids(conn: sqlite3.Connection) -> None:
    conn.execute(
        "UPDATE messages SET msg_id = x'' WHERE kind = 0 AND typeof(msg_id) = 'text' "
        "AND msg_id = (SELECT c.id FROM completions c WHERE c.pk = messages.completion) || '-' || position"
    )
    sqlite_utils.Database(conn, execute_plugins=False).create_view(
        "messages_view", _MESSAGES_VIEW_V6.strip(), replace=True
    )


# v11: the threading options (`[threads]` in the config) the thread tables were built with; the
# backfill of v8 used the defaults. A writer given other options threads everything again.
def _thread_options(conn: sqlite3.Connection) -> None:
    from ccbrowser.store import threads
    from ccbrowser.threads import Options

    for statement in _split(threads.OPTIONS_DDL):
        conn.execute(statement)
    threads.record_options(conn, Options())


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _script(_V1),
    _script(_V2),
    _script(_V3),
    _v4,
    _script(_V5),
    _index_text_without_sequences,
    _costs,
    _threads,
    _script(_V9),
    _derived_message_ids,
    _thread_options,
]
SCHEMA_VERSION = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _refuse_foreign(conn: sqlite3.Connection) -> None:
    """A file with tables but no schema version belongs to another program: never add ours to it."""
    tables = sqlite_utils.Database(conn, execute_plugins=False).table_names()
    if tables:
        shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
        raise CCBrowserError(f"not a ccbrowser database: it already holds other tables ({shown})")


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to `target`; returns the number of migrations applied."""
    current = version(conn)
    if current > SCHEMA_VERSION:
        raise CCBrowserError(
            f"the database has schema version {current}, newer than this ccbrowser ({SCHEMA_VERSION}): upgrade ccbrowser"
        )
    applied = 0
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = version(conn)
            if current >= target:
                conn.execute("COMMIT")
                break
            if current == 0:
                _refuse_foreign(conn)  # under the lock: a process creating ours meanwhile is not foreign
            MIGRATIONS[current](conn)
            current += 1
            conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
            applied += 1
        except BaseException:
            if conn.in_transaction:  # SQLite already rolled back on some errors (a full disk)
                conn.execute("ROLLBACK")
            raise
    return applied
