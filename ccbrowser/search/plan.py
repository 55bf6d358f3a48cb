"""Query -> SQL, and every SQL statement the executor (`engine.py`) runs: no SQL text lives elsewhere
in `search/`. Filters become predicates on indexed columns; free text goes to FTS5, quoted.

Every free-text term reaches FTS5 as a double-quoted string (any `"` doubled, NUL removed), so
FTS5 tokenizes it exactly as it tokenized the data and nothing the user types is ever parsed as
FTS5 syntax: `gpt-4o-mini` becomes the phrase `gpt 4o mini`, `AND`, `NEAR`, `^`, `*` and `:` are
just characters. Operators (`OR`, `AND`, `NOT`, `*`, `{columns}:`) come only from the parser.

CJK: `unicode61` makes a run of CJK characters one token, so `東京` does not match the token
`東京の天気は晴れです`. A CJK term is therefore expanded through the FTS vocabulary (a temp
`fts5vocab` table on the connection, no schema change): every indexed CJK token that contains the
term as a substring joins an OR. The vocabulary of CJK tokens is small next to the text, so this
costs well under a millisecond on 100k completions, and it uses the index for the rest.

Matching is per completion: every positive clause must match some message of the completion (the
system prompt, a user turn, a tool call's arguments, the output...), exclusions must match none.
`in:input`/`in:output` restrict the messages (`messages.kind`), `in:content|args|refusal|transcript`
the FTS columns.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ccbrowser.search.query import Clause, Filter, Query, Term
from ccbrowser.search.text import CJK_VOCAB_RANGES, fold, has_cjk, tokens
from ccbrowser.store.schema import FTS_COLUMNS, LABELS_TABLE, TAGS_TABLE

# bm25 column weights: content > tool name + arguments > refusal > audio transcript.
_WEIGHT = {"content": 4.0, "tool": 2.0, "refusal": 1.5, "transcript": 1.0}
WEIGHTS = tuple(_WEIGHT[c] for c in FTS_COLUMNS)  # in the index's column order
# System and developer prompts are shared boilerplate: a match there counts half.
BOILERPLATE_FACTOR = 0.5
# A CJK term expands to at most this many vocabulary tokens (a hint says when it is cut).
MAX_CJK_EXPANSION = 512
# A prefix expands to at most this many words, listed within this many seconds (else FTS5's own
# prefix query runs).
MAX_PREFIX_EXPANSION = 64
PREFIX_BUDGET = 0.025
_MAX = "\U0010ffff"
_SCOPE_COLUMNS = {"content": "content", "args": "tool", "refusal": "refusal", "transcript": "transcript"}
_FLAGS = frozenset({"has_tools", "has_refusal", "has_audio", "has_annotations", "has_logprobs", "has_images"})
_CMP = {"=": "=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}


@dataclass
class Pred:
    """One AND-ed predicate on `completions c`, in two forms with the same meaning.

    `exact` uses `c.pk IN (set)`: SQLite builds the set once per statement (best when one statement
    answers everything). `probe` uses correlated `EXISTS` lookups (best when the statement runs once
    per ranked message for a handful of candidates). Filters have one form.
    """

    exact: str
    probe: str
    params: list[Any]
    # For a lone positive filter with an index: `SELECT count(*) FROM (... LIMIT ?)` (its params
    # are `params` plus the cap), so the executor can tell a small set (drive by it) from a big one.
    count_sql: str | None = None
    # Free text inside (an exclusion, a clause mixing words and filters): a set of it costs FTS.
    text: bool = False


@dataclass
class Plan:
    """What the executor needs.

    - `preds`: predicates on `completions c` for everything except the positive free-text clauses
      (filters, exclusions, clauses that mix text and filters).
    - `text_sets`: one FTS5 expression per positive free-text clause; a completion matches a clause
      when one of its messages (of `kinds`) matches the expression.
    - `rank_expr`: all positive clauses ANDed in one expression: the messages that match it alone
      are ranked by bm25 (a message that holds every word is the best evidence).
    - `never`: some positive clause can match nothing (an empty result without running SQL).
    """

    query: Query
    preds: list[Pred] = field(default_factory=list)
    text_sets: list[str] = field(default_factory=list)
    kinds: tuple[int, ...] | None = None
    columns: tuple[str, ...] | None = None
    never: bool = False
    hints: list[str] = field(default_factory=list)
    # Bounded counts of matching bodies per FTS expression, filled by the executor (one plan is
    # one call: the database does not change under it in a way that matters for a cost guess).
    counts: dict[tuple[str, int], int] = field(default_factory=dict, repr=False, compare=False)
    # A matching body per completion found by the batched walk: its snippet is read from there.
    snippet_bodies: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_text(self) -> bool:
        return bool(self.text_sets)

    @property
    def rank_expr(self) -> str | None:
        if not self.text_sets:
            return None
        if len(self.text_sets) == 1:
            return self.text_sets[0]
        return " AND ".join(f"({e})" for e in self.text_sets)

    def kind_sql(self, alias: str = "m") -> str:
        if self.kinds is None:
            return ""
        return f" AND {alias}.kind IN ({','.join(str(k) for k in self.kinds)})"

    def set_sql(self) -> str:
        """Completion pks having a message that matches the FTS expression bound to `?`."""
        return (
            "SELECT m.completion FROM bodies_fts JOIN messages m ON m.body = bodies_fts.rowid "
            f"WHERE bodies_fts MATCH ?{self.kind_sql()}"
        )

    def probe_sql(self) -> str:
        """True when completion `c` has a message that matches the FTS expression bound to `?`."""
        return (
            "EXISTS (SELECT 1 FROM messages mx JOIN bodies_fts ON bodies_fts.rowid = mx.body "
            f"WHERE mx.completion = c.pk{self.kind_sql('mx')} AND bodies_fts MATCH ?)"
        )

    def message_count_sql(self) -> str:
        """Messages (of `kinds`) matching the expression bound to the first `?`, up to the second."""
        return f"SELECT count(*) FROM ({self.set_sql()} LIMIT ?)"

    def intersect_sql(self, n: int) -> str:
        """An `AND` term: the completion is in each of `n` text sets (one expression bound per set)."""
        return f" AND c.pk IN ({' INTERSECT '.join(self.set_sql() for _ in range(n))})"

    def distinct_count_sql(self) -> str:
        """Completions having a message that matches the expression bound to `?`."""
        return (
            "SELECT count(DISTINCT m.completion) FROM bodies_fts JOIN messages m ON m.body = bodies_fts.rowid "
            f"WHERE bodies_fts MATCH ?{self.kind_sql()}"
        )

    def completions_of_body_sql(self, where: str, limited: bool) -> str:
        """Completions (newest first, passing `where`) that hold the body bound to the first `?`."""
        sql = (
            "SELECT c.pk FROM messages m JOIN completions c ON c.pk = m.completion "
            f"WHERE m.body = ?{self.kind_sql()} AND {where} ORDER BY m.completion DESC"
        )
        return sql + " LIMIT ?" if limited else sql

    def messages_sql(self) -> str:
        """A completion's messages (`?`) in snippet order: output first, then the input from the
        newest message back, system prompts last."""
        return (
            f"SELECT m.kind, m.body, b.role FROM messages m JOIN bodies b ON b.id = m.body "
            f"WHERE m.completion = ?{self.kind_sql()} "
            "ORDER BY m.kind DESC, b.role IN ('system', 'developer'), m.position DESC"
        )

    @property
    def filters_only(self) -> bool:
        """Every predicate is a filter: candidates can come from the filters' indexes alone."""
        return not any(p.text for p in self.preds)

    def candidates_sql(self, sort: str) -> tuple[str, list[Any]]:
        """Completions passing every predicate (probe form: an index walk that stops at the page),
        in `sort` order; `LIMIT ? OFFSET ?` follow the returned parameters."""
        where, params = self.where("probe")
        return (
            f"SELECT c.pk FROM completions c WHERE {where} ORDER BY {order_sql(sort)} LIMIT ? OFFSET ?",
            params,
        )

    def batch_bodies_sql(self) -> str:
        """(completion, body) of every message (of `kinds`) of the completions bound to `?` as JSON."""
        return (
            "SELECT m.completion, m.body FROM messages m "
            f"WHERE m.completion IN (SELECT value FROM json_each(?)){self.kind_sql()} "
            "ORDER BY m.completion, m.kind DESC, m.position DESC"
        )

    def matching_messages_sql(self) -> str:
        """(completion, body) of the messages (of `kinds`) of the completions bound to the first
        `?` (JSON) whose body matches the FTS expression bound to the second, in snippet order.

        The expression's matches are read once into a set inside SQLite (cheap for a rare
        expression: its doclist is short), and the candidates' messages are checked against it
        there: only the matching messages come back to Python.
        """
        return (
            "SELECT m.completion, m.body FROM messages m "
            f"WHERE m.completion IN (SELECT value FROM json_each(?)){self.kind_sql()} "
            "AND m.body IN (SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ?) "
            "ORDER BY m.completion, m.kind DESC, m.position DESC"
        )

    def where(self, form: str = "exact") -> tuple[str, list[Any]]:
        """The non-text predicates (`exact` or `probe` form)."""
        if not self.preds:
            return "1", []
        parts = [p.exact if form == "exact" else p.probe for p in self.preds]
        return " AND ".join(parts), [v for p in self.preds for v in p.params]

    def probe_where(self) -> tuple[str, list[Any]]:
        """All predicates in probe form, the positive text clauses too: a row-at-a-time check,
        for walking the time index newest first and stopping after a page."""
        where, params = self.where("probe")
        for expr in self.text_sets:
            where += f" AND {self.probe_sql()}"
            params.append(expr)
        return where, params

    def full_where(self) -> tuple[str, list[Any]]:
        """All predicates, the positive text clauses included (the exact set of matches)."""
        where, params = self.where("exact")
        for expr in self.text_sets:
            where += f" AND c.pk IN ({self.set_sql()})"
            params.append(expr)
        return where, params


# -- statements of the executor -------------------------------------------------------------------


# A completion's cost by primary key through a covering index (never the row's overflow pages).
COST_OF_SQL = "(SELECT cost_usd FROM completions INDEXED BY completions_pk_cost WHERE pk = c.pk)"
_ORDERS = {
    "oldest": "c.created ASC, c.pk ASC",
    "tokens": "c.total_tokens IS NULL, c.total_tokens DESC, c.created DESC, c.pk DESC",
}


def order_sql(sort: str, where: str = "1") -> str:
    """`newest` (and `relevance` without text), `oldest`, `tokens` (most first, unknown last),
    `cost` (most expensive first, unknown last)."""
    if sort == "cost":
        # Everything: the cost index read backwards; a filtered set (driven by another index):
        # each match's cost looked up, then sorted.
        return "c.cost_usd DESC, c.pk DESC" if where == "1" else f"{COST_OF_SQL} DESC, c.pk DESC"
    return _ORDERS.get(sort, "c.created DESC, c.pk DESC")


# An `AND` term leaving out the completions whose pks are bound to `?` as a JSON array.
# The highest primary key (how big a bitmap of seen completions must be).
MAX_PK_SQL = "SELECT max(pk) FROM completions"
EXCLUDE_SQL = " AND c.pk NOT IN (SELECT value FROM json_each(?))"


def pks_sql(
    where: str, sort: str, limit: int | None = None, offset: int = 0, *, walk: bool = False
) -> tuple[str, list[int]]:
    """Matching pks in time order, optionally one page of them: the SQL, and the parameters that
    follow `where`'s own. `walk` (cost order, `where` in probe form): the cost index read
    backwards, each row probed, so common clauses stop at the page instead of sorting every match."""
    if walk and sort == "cost":
        sql = f"SELECT c.pk FROM completions c INDEXED BY completions_cost WHERE {where} ORDER BY c.cost_usd DESC, c.pk DESC"
    else:
        sql = f"SELECT c.pk FROM completions c WHERE {where} ORDER BY {order_sql(sort, where)}"
    if limit is not None:
        return sql + " LIMIT ? OFFSET ?", [limit, offset]
    if offset:
        return sql + " LIMIT -1 OFFSET ?", [offset]
    return sql, []


def count_sql(where: str) -> str:
    return f"SELECT count(*) FROM completions c WHERE {where}"


# Bodies matching the expression bound to the first `?` with ids between the second and the third:
# FTS5 seeks to the range and reads only its postings (a range for many candidates' bodies costs
# about what one `rowid = ?` probe does).
# The ids bound to the first `?` (JSON) are checked against that range's matches inside SQLite.
RANGE_MATCH_SQL = (
    "SELECT value FROM json_each(?) WHERE value IN "
    "(SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ? AND rowid >= ? AND rowid <= ?)"
)
# Bodies matching the expression bound to the first `?`, counted up to the second.
BODY_COUNT_SQL = "SELECT count(*) FROM (SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ? LIMIT ?)"
# The newest matching bodies (FTS rowid order costs no ranking).
NEWEST_BODIES_SQL = "SELECT rowid FROM bodies_fts WHERE bodies_fts MATCH ? ORDER BY rowid DESC LIMIT ?"


def ranked_bodies_sql(newest_only: bool) -> str:
    """(body id, weighted bm25) best first for the expression bound to `?`; with `newest_only`, only
    the newest `?` matches are ranked."""
    weights = ", ".join(str(w) for w in WEIGHTS)
    inner = f"SELECT rowid AS id, bm25(bodies_fts, {weights}) AS s FROM bodies_fts WHERE bodies_fts MATCH ?"
    if newest_only:
        inner += " ORDER BY rowid DESC LIMIT ?"
    return (
        f"WITH r AS MATERIALIZED ({inner}) "
        f"SELECT r.id, r.s * CASE WHEN b.role IN ('system', 'developer') THEN {BOILERPLATE_FACTOR} ELSE 1.0 END AS w "
        "FROM r JOIN bodies b ON b.id = r.id ORDER BY w, r.id DESC"
    )


def body_texts_sql(chars: int) -> str:
    """A body's role and the first `chars` characters of each FTS column, in `FTS_COLUMNS` order."""
    return (
        f"SELECT role, {', '.join(f'substr({c}, 1, {chars})' for c in FTS_COLUMNS)} FROM bodies WHERE id = ?"
    )


# The kind of the message of completion `?` that holds body `?`.
MESSAGE_KIND_SQL = "SELECT kind FROM messages WHERE completion = ? AND body = ? LIMIT 1"
# What a hit shows, for the pks bound to `?` as a JSON array (`HIT_COLUMNS` order).
HIT_COLUMNS = (
    "pk",
    "id",
    "created",
    "model",
    "finish_reason",
    "total_tokens",
    "tool_call_count",
    "has_refusal",
    "removed_at",
    "preview",
    "cost_usd",
    "cost_source",
)
HITS_SQL = f"SELECT {', '.join(HIT_COLUMNS)} FROM completions WHERE pk IN (SELECT value FROM json_each(?))"
# Is `?` a model name in the data?
MODEL_EXISTS_SQL = "SELECT 1 FROM completions WHERE model = ? LIMIT 1"
MODEL_PREFIX_SQL = "SELECT 1 FROM completions WHERE model >= ? AND model < ? LIMIT 1"
# The next model name after `?`: one probe of the (model, created) index per distinct model.
NEXT_MODEL_SQL = "SELECT min(model) FROM completions WHERE model > ?"
MAX_MODELS = 1000  # distinct model names looked at for a case-insensitive match


def budgeted(conn: sqlite3.Connection, sql: str, params: Sequence[Any], seconds: float) -> list[Any] | None:
    """Run a one-column query; None when it takes longer than `seconds` (it is then abandoned).

    The clock is this thread's CPU time: a budget says what a plan costs, and on a busy machine
    wall time would abandon a cheap plan for a dearer one just because others had the CPU.
    """
    deadline = time.thread_time() + seconds
    fired = False

    def check() -> int:
        nonlocal fired
        if time.thread_time() > deadline:
            fired = True
            return 1
        return 0

    conn.set_progress_handler(check, 1000)
    try:
        return [r[0] for r in conn.execute(sql, params)]
    except sqlite3.OperationalError as exc:
        if fired and "interrupt" in str(exc):
            return None
        raise  # somebody else interrupted (a newer search in the TUI): not ours to swallow
    finally:
        conn.set_progress_handler(None, 0)


def quote(text: str) -> str:
    """A string FTS5 reads as one phrase of whatever tokens it holds, never as syntax."""
    return '"' + text.replace("\x00", " ").replace('"', '""') + '"'


# The first indexed word in [first `?`, second `?`) (an `instance` fts5vocab row: one seek).
_NEXT_WORD_SQL = "SELECT term FROM temp.ccb_bodies_words WHERE term >= ? AND term < ? LIMIT 1"


class Vocab:
    """Substring look-ups in the FTS vocabulary, through a temp fts5vocab table (no schema change)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._ready = False
        self._instances = False

    def _ensure(self) -> None:
        if not self._ready:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ccb_bodies_vocab USING fts5vocab(main, 'bodies_fts', 'row')"
            )
            self._ready = True

    def starting_with(self, prefix: str) -> list[str] | None:
        """Indexed words that start with `prefix`; None when more than MAX_PREFIX_EXPANSION or
        when listing them takes longer than PREFIX_BUDGET.

        A `row` fts5vocab table reads every posting of each word it lists (`refund` at 1M
        completions: tens of milliseconds), so the words are found one at a time in an `instance`
        table, which yields its first row without reading the rest: a seek per word, whatever
        its frequency (`word` + U+0001 is the next possible word: unicode61 never keeps control
        characters in a token).
        """
        self._ensure_instances()
        deadline = time.thread_time() + PREFIX_BUDGET
        hi = prefix + _MAX
        out: list[str] = []
        lo = prefix
        while len(out) <= MAX_PREFIX_EXPANSION:
            left = deadline - time.thread_time()
            found = budgeted(self.conn, _NEXT_WORD_SQL, (lo, hi), left) if left > 0 else None
            if found is None:
                return None
            if not found:
                return out
            word = str(found[0])
            if out and word <= out[-1]:  # pragma: no cover - a vocabulary out of order
                return None
            out.append(word)
            lo = word + "\x01"
        return None

    def _ensure_instances(self) -> None:
        if not self._instances:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ccb_bodies_words "
                "USING fts5vocab(main, 'bodies_fts', 'instance')"
            )
            self._instances = True

    def containing(self, needle: str, limit: int = MAX_CJK_EXPANSION + 1) -> list[str]:
        """Indexed CJK tokens that contain `needle` (already folded)."""
        self._ensure()
        out: list[str] = []
        for lo, hi in CJK_VOCAB_RANGES:
            rows = self.conn.execute(
                "SELECT term FROM temp.ccb_bodies_vocab WHERE term >= ? AND term < ? AND instr(term, ?) > 0 LIMIT ?",
                (lo, hi, needle, limit - len(out)),
            ).fetchall()
            out.extend(r[0] for r in rows)
            if len(out) >= limit:
                break
        return out


def _term_expr(term: Term, vocab: Vocab | None, hints: list[str]) -> str | None:
    """The FTS5 expression for one term; None when it can match nothing.

    Raises `_Empty` when the term has nothing searchable (`🎉`, `'`): alone it matches nothing,
    beside a word of an OR it is left out.
    """
    toks = tokens(term.text)
    if not toks:
        raise _Empty
    if not any(has_cjk(t) for t in toks):
        if term.prefix:
            return _prefix_expr(term.text, toks, vocab)
        return quote(term.text)
    parts: list[str] = []
    for i, tok in enumerate(toks):
        if not has_cjk(tok):
            last = i == len(toks) - 1
            parts.append(quote(tok) + (" *" if term.prefix and last else ""))
            continue
        if vocab is None:
            return None
        found = vocab.containing(fold(tok))
        if not found:
            return None
        if len(found) > MAX_CJK_EXPANSION:
            found = found[:MAX_CJK_EXPANSION]
            hints.append(f"`{tok}` is in very many words; results may be incomplete")
        parts.append("(" + " OR ".join(quote(t) for t in found) + ")")
    return " AND ".join(parts) if len(parts) > 1 else parts[0]


def _prefix_expr(text: str, toks: list[str], vocab: Vocab | None) -> str:
    """`tok*` as the OR of the indexed words it stands for, when there are few of them.

    FTS5 answers a prefix query by merging the doclists of every word it covers into one before
    the first row comes out, so each use of `"refu" *` (a count, a newest-first page, and above
    all a per-completion probe: ~20 ms each at 100k) pays for every posting of `refund`,
    `refunded`, `refunds`. The same words ORed are read lazily: a page or a probe seeks. The
    expansion is exact (every word of the vocabulary in the prefix's range); when it is large
    or slow to read, the prefix query is kept.
    """
    *head, last = toks
    native = quote(text) + " *"
    if vocab is None or not text.isascii():  # `tokens` is unicode61 exactly on ASCII only
        return native
    words = vocab.starting_with(last)
    if words is None or not words:
        return native
    return " OR ".join(quote(" ".join([*head, w])) for w in words)


class _Empty(Exception):
    pass


def _filter_sql(f: Filter, probe: bool = False) -> tuple[str, list[Any]]:
    """SQL for one filter. Filters on the side tables (`tool:`, `meta:`) have two forms: a set
    (`c.pk IN (...)`, built once per statement) or, with `probe`, a correlated primary-key lookup
    (cheap when the statement runs once per ranked message)."""
    v = f.value

    def side(table: str, cond: str, params: list[Any]) -> tuple[str, list[Any]]:
        if probe:
            return f"EXISTS (SELECT 1 FROM {table} WHERE completion = c.pk AND {cond})", params
        return f"c.pk IN (SELECT completion FROM {table} WHERE {cond})", params

    if f.field in ("model", "tool"):
        col = "c.model" if f.field == "model" else "name"
        if f.op == "prefix":
            pred, params = f"{col} >= ? AND {col} < ?", [v, f"{v}{_MAX}"]
        elif f.op == "in":  # `model:` spelt in another case: the stored spellings (`_model_case`)
            assert isinstance(v, tuple)
            pred, params = f"{col} IN ({', '.join('?' * len(v))})", list(v)
        else:
            pred, params = f"{col} = ?", [v]
        if f.field == "tool":
            return side("tool_calls", pred, params)
        return pred, params
    if f.field == "meta":
        if f.op == "present":
            return side("completion_metadata", "key = ?", [f.key])
        if f.op == "prefix":
            return side(
                "completion_metadata", "key = ? AND value >= ? AND value < ?", [f.key, v, f"{v}{_MAX}"]
            )
        return side("completion_metadata", "key = ? AND value = ?", [f.key, v])
    if f.field == "finish":
        return "c.finish_reason = ?", [v]
    if f.field == "tier":
        return "c.service_tier = ?", [v]
    if f.field == "has":
        assert isinstance(v, str) and v in _FLAGS
        return f"c.{v} = 1", []
    if f.field == "is" and v == "root":  # the partial index thread_nodes_is_root
        if probe:
            return "EXISTS (SELECT 1 FROM thread_nodes n WHERE n.id = c.id AND n.parent IS NULL)", []
        return "c.id IN (SELECT id FROM thread_nodes WHERE parent IS NULL)", []
    if f.field == "is":
        return "c.removed_at IS NOT NULL", []
    if f.field == "thread":  # the threads of the completions with this id prefix
        threads = "SELECT t.thread FROM thread_nodes t WHERE t.id >= ? AND t.id < ?"
        if probe:
            return f"EXISTS (SELECT 1 FROM thread_nodes n WHERE n.id = c.id AND n.thread IN ({threads}))", [
                v,
                f"{v}{_MAX}",
            ]
        return f"c.id IN (SELECT n.id FROM thread_nodes n WHERE n.thread IN ({threads}))", [v, f"{v}{_MAX}"]
    if f.field == "turns":  # the conversation's turns (threads_turns, then thread_nodes_thread)
        if f.op == "range":
            assert isinstance(v, tuple)
            cond, params = "h.turns BETWEEN ? AND ?", [v[0], v[1]]
        else:
            cond, params = f"h.turns {_CMP[f.op]} ?", [v]
        if probe:
            sql = f"EXISTS (SELECT 1 FROM thread_nodes n JOIN threads h ON h.thread = n.thread WHERE n.id = c.id AND {cond})"
            return sql, params
        return (
            f"c.id IN (SELECT n.id FROM threads h JOIN thread_nodes n ON n.thread = h.thread WHERE {cond})",
            params,
        )
    if f.field in ("label", "tag"):
        return _label_sql(f, probe)
    if f.field == "id":
        return "c.id >= ? AND c.id < ?", [v, f"{v}{_MAX}"]
    if f.field == "cost":
        return _cost_sql(f, probe)
    if f.field in ("created", "tokens"):
        col = "c.created" if f.field == "created" else "c.total_tokens"
        if f.op == "range":
            assert isinstance(v, tuple)
            return f"{col} BETWEEN ? AND ?", [v[0], v[1]]
        return f"{col} {_CMP[f.op]} ?", [v]
    raise AssertionError(f.field)  # pragma: no cover


def _cost_condition(f: Filter) -> tuple[str, list[Any]]:
    v = f.value
    if f.op == "unknown":
        return "cost_usd IS NULL", []
    if f.op == "range":
        assert isinstance(v, tuple)
        return "cost_usd BETWEEN ? AND ?", [v[0], v[1]]
    return f"cost_usd {_CMP[f.op]} ?", [v]


def _cost_sql(f: Filter, probe: bool) -> tuple[str, list[Any]]:
    """`cost:`. The cost columns follow `raw` in each row, where reading them costs the row's
    overflow pages: the set form is answered by the cost index, the probe form (one completion
    at a time) by the (pk, cost) index."""
    cond, params = _cost_condition(f)
    if probe:
        return (
            f"EXISTS (SELECT 1 FROM completions INDEXED BY completions_pk_cost WHERE pk = c.pk AND {cond})",
            params,
        )
    return f"c.pk IN (SELECT pk FROM completions INDEXED BY completions_cost WHERE {cond})", params


def _label_sql(f: Filter, probe: bool) -> tuple[str, list[Any]]:
    """The local labels (schema v9) name completions by API id: `c.id` (unique, so indexed) joins
    them. `is:starred` and `has:note` read partial indexes, `tag:` a range of `label_tags`' key."""
    v = f.value
    if f.field == "label":
        table, cond, params = LABELS_TABLE, "starred = 1" if v == "starred" else "note IS NOT NULL", []
    elif f.op == "prefix":
        table, cond, params = TAGS_TABLE, "tag >= ? AND tag < ?", [v, f"{v}{_MAX}"]
    else:
        table, cond, params = TAGS_TABLE, "tag = ?", [v]
    if probe:
        return f"EXISTS (SELECT 1 FROM {table} WHERE id = c.id AND {cond})", params
    return f"c.id IN (SELECT id FROM {table} WHERE {cond})", params


def build(query: Query, conn: sqlite3.Connection | None = None) -> Plan:
    """Plan a query. `conn` is used only to expand CJK terms through the FTS vocabulary."""
    plan = Plan(query, hints=list(query.hints))
    vocab = Vocab(conn) if conn is not None else None
    kinds = sorted({0 if s == "input" else 1 for s in query.scopes if s in ("input", "output")})
    plan.kinds = tuple(kinds) if kinds and len(kinds) < 2 else None
    cols = tuple(sorted({_SCOPE_COLUMNS[s] for s in query.scopes if s in _SCOPE_COLUMNS}))
    plan.columns = cols or None

    def scoped(expr: str) -> str:
        return f"{{{' '.join(plan.columns)}}} : ({expr})" if plan.columns else expr

    clauses = query.clauses if conn is None else _model_case(query.clauses, conn)
    for clause in clauses:
        _plan_clause(plan, clause, vocab, scoped)
    if conn is not None:
        _model_hints(plan, conn)
    return plan


def _models_like(conn: sqlite3.Connection, value: str, prefix: bool) -> tuple[str, ...]:
    """The stored model names equal to (or starting with) `value`, ignoring case. The distinct
    names are walked through the model index (a probe each: a few dozen, whatever the row count),
    and only when the exact spelling matched nothing."""
    want = value.casefold()
    found: list[str] = []
    name = ""
    for _ in range(MAX_MODELS):
        row = conn.execute(NEXT_MODEL_SQL, (name,)).fetchone()
        if row is None or row[0] is None:
            break
        name = row[0]
        folded = name.casefold()
        if folded == want or (prefix and folded.startswith(want)):
            found.append(name)
    return tuple(found)


def _model_case(clauses: tuple[Clause, ...], conn: sqlite3.Connection) -> tuple[Clause, ...]:
    """`model:GPT-4o` finds `gpt-4o`: a model filter whose spelling is not stored becomes the
    stored spellings that equal it but for case (the exact lookup costs one index probe)."""

    def fix(a: Any) -> Any:
        if not (isinstance(a, Filter) and a.field == "model" and isinstance(a.value, str)):
            return a
        v = a.value
        prefix = a.op == "prefix"
        probe = (MODEL_PREFIX_SQL, (v, f"{v}{_MAX}")) if prefix else (MODEL_EXISTS_SQL, (v,))
        if v.lower() == v.upper() or conn.execute(*probe).fetchone() is not None:
            return a
        names = _models_like(conn, v, prefix)
        return Filter("model", "in", names, negated=a.negated) if names else a

    if not any(isinstance(a, Filter) and a.field == "model" for c in clauses for a in c.atoms):
        return clauses
    return tuple(Clause(tuple(fix(a) for a in c.atoms)) for c in clauses)


def _model_hints(plan: Plan, conn: sqlite3.Connection) -> None:
    """`gpt-4o-mini` typed as text: model names live in a column, not in the messages."""
    if any(f.field == "model" for f in plan.query.filters):
        return
    for term in plan.query.terms:
        if term.negated or term.prefix or len(term.text) > 100:
            continue
        if conn.execute(MODEL_EXISTS_SQL, (term.text,)).fetchone():
            plan.hints.append(f"`{term.text}` is a model: model:{term.text} filters by it")
        elif any(ch.isdigit() for ch in term.text) and any(ch.isalpha() for ch in term.text):
            # `GPT-4o-mini`: looks like a model name; one index scan only for such words
            for name in _models_like(conn, term.text, prefix=False)[:1]:
                plan.hints.append(f"`{term.text}` is a model: model:{name} filters by it")


def _plan_clause(plan: Plan, clause: Clause, vocab: Vocab | None, scoped: Any) -> None:
    atoms = clause.atoms
    # A clause of positive words only: one FTS expression (ORs inside FTS5).
    if all(isinstance(a, Term) and not a.negated for a in atoms):
        exprs: list[str] = []
        empty = 0
        for a in atoms:
            assert isinstance(a, Term)
            try:
                e = _term_expr(a, vocab, plan.hints)
            except _Empty:
                empty += 1
                continue
            if e is not None:
                exprs.append(e)
        if empty == len(atoms):
            # `🎉`, `'`: no letter or digit, so no FTS token. It matches nothing (as FTS5 does for
            # an empty phrase), said once; never "no constraint", which would list everything.
            typed = " ".join(repr(a.text) for a in atoms if isinstance(a, Term))
            plan.hints.append(f"no searchable words in {typed} (search needs letters or digits)")
            plan.never = True
            return
        if not exprs:
            plan.never = True
            return
        plan.text_sets.append(scoped(exprs[0] if len(exprs) == 1 else " OR ".join(f"({e})" for e in exprs)))
        return
    # Anything else: a predicate per atom, ORed.
    exact: list[str] = []
    probe: list[str] = []
    params: list[Any] = []
    for a in atoms:
        if isinstance(a, Filter):
            sql, p = _filter_sql(a)
            sql_probe, _ = _filter_sql(a, probe=True)
            exact.append(f"NOT coalesce(({sql}), 0)" if a.negated else f"({sql})")
            probe.append(f"NOT coalesce(({sql_probe}), 0)" if a.negated else f"({sql_probe})")
            params.extend(p)
            continue
        try:
            e = _term_expr(a, vocab, plan.hints)
        except _Empty:
            continue
        if e is None:
            exact.append("1" if a.negated else "0")
            probe.append("1" if a.negated else "0")
            continue
        exact.append(f"c.pk {'NOT IN' if a.negated else 'IN'} ({plan.set_sql()})")
        probe.append(f"{'NOT ' if a.negated else ''}{plan.probe_sql()}")
        params.append(scoped(e))
    if not exact:
        return
    text = any(isinstance(a, Term) for a in atoms)

    def join(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    count_sql = None
    if len(atoms) == 1 and isinstance(atoms[0], Filter) and not atoms[0].negated:
        count_sql = _count_sql(atoms[0])
    plan.preds.append(Pred(join(exact), join(probe), params, count_sql, text))


def _count_sql(f: Filter) -> str | None:
    """A bounded count of a filter's matches through an index, or None when that is not cheap."""
    if f.field == "cost":  # the cost index alone
        cond, _ = _cost_condition(f)
        return f"SELECT count(*) FROM (SELECT 1 FROM completions INDEXED BY completions_cost WHERE {cond} LIMIT ?)"
    if f.field in ("tool", "meta", "label", "tag"):
        sql, _ = _filter_sql(f)
        inner = sql.removeprefix("c.pk IN (").removeprefix("c.id IN (").removesuffix(")")
        return f"SELECT count(*) FROM ({inner} LIMIT ?)"
    if f.field in ("has", "finish", "model"):
        # partial indexes on each flag (schema v3); `finish_reason` and `model` lead an index each
        sql, _ = _filter_sql(f)
        return f"SELECT count(*) FROM (SELECT 1 FROM completions c WHERE {sql} LIMIT ?)"
    return None
