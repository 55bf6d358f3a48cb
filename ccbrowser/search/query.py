"""The query language (docs/architecture.md section 8): text in, a frozen `Query` out. Pure: no SQL, no I/O.

Grammar (whitespace separates atoms; the result is an AND of clauses):

    clause  := atom ("OR" atom)*
    atom    := ["-" | "NOT "] (field ":" value | '"' phrase '"' | word ["*"])
    value   := bare text | '"' quoted text '"'

- `OR` (upper case) joins the atoms on either side; `AND` is accepted and ignored (it is the
  default); `NOT x` is `-x`. A dangling `OR` is dropped with a hint.
- An unclosed `"` runs to the end of the input (people type queries left to right).
- `field:` prefixes that are not part of the language are searched as text, with a hint.
- Bad values raise `QueryError` (a `UsageError`: exit code 2) with a message that shows an example.

Times are resolved when parsing (`now`), so a `Query` is a plain value: the same object always
means the same rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from ccbrowser.errors import UsageError

MAX_ATOMS = 32  # words, phrases and filters in one query


class QueryError(UsageError):
    """A query that cannot mean anything; the message says how to fix it."""


# -- the query object ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """Free text: a word, a `"phrase"` or a `prefix*`. `text` is what the user typed (no quotes)."""

    text: str
    phrase: bool = False
    prefix: bool = False
    negated: bool = False


# `label`: a local label (`starred` or `note`); `tag`: a local tag (both in the labels tables).
FilterField = Literal[
    "model",
    "meta",
    "tool",
    "finish",
    "tier",
    "has",
    "created",
    "tokens",
    "cost",
    "id",
    "is",
    "thread",
    "turns",
    "label",
    "tag",
]


@dataclass(frozen=True, slots=True)
class Filter:
    """A predicate on indexed columns; never text in MATCH.

    `op` is one of `=`, `prefix`, `present` (meta key only), `>=`, `<=`, `>`, `<`, `range`
    (`value` is then a (low, high) pair, both inclusive), `in` (model names the planner found). `key` is the metadata key for `meta`.
    """

    field: FilterField
    op: str
    value: str | int | float | tuple[int, int] | tuple[float, float] | tuple[str, ...] | None = None
    key: str | None = None
    negated: bool = False

    def __post_init__(self) -> None:
        # `tokens:>1e30`, `since:99999999999999999999d`: a bound past SQLite's 64-bit integers
        # means the same as the largest one (every stored value is inside), and binding it
        # would fail with an OverflowError.
        v = self.value
        if isinstance(v, int) and not isinstance(v, bool):
            object.__setattr__(self, "value", _int64(v))
        elif isinstance(v, tuple) and all(isinstance(x, int) for x in v):
            object.__setattr__(self, "value", tuple(_int64(x) for x in v))  # type: ignore[arg-type]


_INT64 = (-(2**63), 2**63 - 1)


def _int64(v: int) -> int:
    return max(_INT64[0], min(_INT64[1], v))


Atom = Term | Filter


@dataclass(frozen=True, slots=True)
class Clause:
    """Atoms joined by OR (usually just one)."""

    atoms: tuple[Atom, ...]


Scope = Literal["input", "output", "content", "args", "refusal", "transcript"]
SCOPES: tuple[str, ...] = ("input", "output", "content", "args", "refusal", "transcript")
# The values the API documents for `finish:` and `tier:`. Another value is still searched (a
# server may send its own), with a hint like the error `has:` gives: a typo then says why 0 hits.
KNOWN_VALUES: dict[str, tuple[str, ...]] = {
    "finish": ("stop", "length", "tool_calls", "content_filter", "function_call"),
    "tier": ("auto", "default", "flex", "scale", "priority"),
}
HAS_FLAGS: dict[str, str] = {
    "tools": "has_tools",
    "tool": "has_tools",
    "refusal": "has_refusal",
    "audio": "has_audio",
    "annotations": "has_annotations",
    "logprobs": "has_logprobs",
    "images": "has_images",
    "image": "has_images",
}


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: an AND of clauses, where free text must match (`scopes`), and hints.

    `scopes` empty means everywhere. `hints` are short notes worth showing under the search box
    (an unknown `field:` searched as text, a dangling OR); they never stop the search.
    """

    text: str
    clauses: tuple[Clause, ...] = ()
    scopes: frozenset[str] = frozenset()
    hints: tuple[str, ...] = ()
    now: float = 0.0

    @property
    def terms(self) -> list[Term]:
        """Every free-text atom, in order (negated ones too)."""
        return [a for c in self.clauses for a in c.atoms if isinstance(a, Term)]

    @property
    def filters(self) -> list[Filter]:
        return [a for c in self.clauses for a in c.atoms if isinstance(a, Filter)]

    @property
    def has_text(self) -> bool:
        """True when some positive free text must match (ranking by relevance makes sense)."""
        return any(isinstance(a, Term) and not a.negated for c in self.clauses for a in c.atoms)

    @property
    def is_empty(self) -> bool:
        return not self.clauses


# -- lexing -------------------------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")
_FIELD = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)
_KNOWN = (
    "model",
    "meta",
    "tool",
    "in",
    "finish",
    "tier",
    "has",
    "after",
    "before",
    "since",
    "tokens",
    "cost",
    "id",
    "is",
    "thread",
    "turns",
    "tag",
)
_ALIASES = {
    "tags": "tag",
    "metadata": "meta",
    "finish_reason": "finish",
    "service_tier": "tier",
    "tokens_total": "tokens",
}
# Prefixes that are obviously not meant as fields: keep them as text without a hint.
_NOT_FIELDS = {"http", "https", "ftp", "file", "mailto", "data"}


@dataclass(slots=True)
class _Tok:
    text: str  # the token as typed, with quotes kept inside (see `_unquote`)
    quoted: bool  # the whole token was a "..." string
    negated: bool


def _lex(text: str) -> list[_Tok]:
    """Split on whitespace, honouring "quotes" (also inside a token: meta:note="a b")."""
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        while i < n and text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            out.append(_Tok(text[i + 1 : end], True, negated))
            i = end + 1
            continue
        buf = []
        while i < n and not text[i].isspace():
            if text[i] == '"':
                end = text.find('"', i + 1)
                end = n if end < 0 else end
                buf.append(text[i + 1 : end])
                i = end + 1
            else:
                buf.append(text[i])
                i += 1
        word = "".join(buf)
        if word == "-" and not negated:
            continue
        out.append(_Tok(word, False, negated))
    return out


# -- values -------------------------------------------------------------------------------------

_NUMBER = r"(\d+(?:\.\d+)?)([kKmM]?)"
_TOKENS_CMP = re.compile(rf"^(>=|<=|>|<|=)?{_NUMBER}$")
_TOKENS_RANGE = re.compile(rf"^{_NUMBER}\.\.{_NUMBER}$")
_SINCE = re.compile(
    r"^(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|hour|hours|d|day|days|w|wk|week|weeks|mo|month|months|y|year|years)$"
)
_UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1,
    "m": 60, "min": 60, "mins": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "month": 2592000, "months": 2592000,
    "y": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip


def _number(digits: str, suffix: str) -> int:
    value = float(digits) * {"": 1, "k": 1_000, "m": 1_000_000}[suffix.lower()]
    return int(value)


def _tokens(value: str, name: Literal["tokens", "turns"] = "tokens") -> Filter:
    """`tokens:` and `turns:` take the same comparisons: >N, <=N, N, N..M."""
    v = value.replace(",", "").replace("_", "").strip()
    if m := _TOKENS_RANGE.match(v):
        lo, hi = _number(m[1], m[2]), _number(m[3], m[4])
        if lo > hi:
            lo, hi = hi, lo
        return Filter(name, "range", (lo, hi))
    if m := _TOKENS_CMP.match(v):
        return Filter(name, m[1] or "=", _number(m[2], m[3]))
    big, small, span = ("1000", "50", "100..500") if name == "tokens" else ("5", "2", "2..5")
    raise QueryError(
        f"`{name}:` needs a number like {name}:>{big}, {name}:<={small} or {name}:{span} (got {value!r})"
    )


_COST = r"\$?(\d+(?:\.\d*)?|\.\d+)"
_COST_CMP = re.compile(rf"^(>=|<=|>|<|=)?{_COST}$")
_COST_RANGE = re.compile(rf"^{_COST}\.\.{_COST}$")


def _cost(value: str) -> Filter:
    """US dollars of the estimate: `cost:>0.05`, `cost:<=$0.001`, `cost:0.01..0.1`; `cost:unknown`
    (no price known). Unknown costs match no comparison."""
    v = value.replace(",", "").replace("_", "").strip().lower()
    if v in ("unknown", "none", "null", "?"):
        return Filter("cost", "unknown")
    if m := _COST_RANGE.match(v):
        lo, hi = float(m[1]), float(m[2])
        return Filter("cost", "range", (min(lo, hi), max(lo, hi)))
    if m := _COST_CMP.match(v):
        return Filter("cost", m[1] or "=", float(m[2]))
    raise QueryError(
        f"`cost:` needs US dollars like cost:>0.05, cost:<0.001, cost:0.01..0.1 or cost:unknown (got {value!r})"
    )


def _local_ts(d: date, t: time = time()) -> float:
    """A local wall-clock time as a Unix timestamp (the user's time zone, as `TZ` says)."""
    return datetime.combine(d, t).astimezone().timestamp()


def _date_value(name: str, value: str, now: float) -> tuple[float, bool]:
    """(timestamp, is_whole_day) for after:/before:."""
    v = value.strip()
    today = datetime.fromtimestamp(now).date()
    if v.lower() == "today":
        return _local_ts(today), True
    if v.lower() == "yesterday":
        return _local_ts(today - timedelta(days=1)), True
    try:
        if len(v) == 10:
            return _local_ts(date.fromisoformat(v)), True
        dt = datetime.fromisoformat(v.replace(" ", "T"))
    except ValueError:
        raise QueryError(
            f"`{name}:` needs a date like {name}:2026-01-31 (or 2026-01-31T14:30), got {value!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.timestamp(), False


def _since(value: str, now: float) -> float:
    v = value.strip().lower()
    if m := _SINCE.match(v):
        return now - int(m[1]) * _UNIT_SECONDS[m[2]]
    try:
        return _date_value("since", value, now)[0]
    except QueryError:
        raise QueryError(
            f"`since:` needs a duration like since:7d, since:12h, since:30m or since:2w (got {value!r})"
        ) from None


def _prefix_or_exact(name: FilterField, value: str) -> Filter:
    if value.endswith("*") and len(value.rstrip("*")) > 0:
        return Filter(name, "prefix", value.rstrip("*"))
    return Filter(name, "=", value)


def _filter(name: str, value: str, now: float) -> Filter | str:
    """A Filter, or a scope name for `in:`."""
    if name == "in":
        v = value.lower()
        v = {"args": "args", "arguments": "args", "tool": "args", "tools": "args", "text": "content"}.get(
            v, v
        )
        if v not in SCOPES:
            raise QueryError(f"`in:` takes one of {', '.join(SCOPES)} (got {value!r})")
        return v
    if value == "":
        example = {
            "model": "model:gpt-4o", "meta": "meta:env=prod", "tool": "tool:get_weather",
            "finish": "finish:length", "tier": "tier:flex", "has": "has:tools", "after": "after:2026-01-31",
            "before": "before:2026-01-31", "since": "since:7d", "tokens": "tokens:>1000",
            "cost": "cost:>0.05", "id": "id:chatcmpl-abc", "is": "is:removed", "thread": "thread:chatcmpl-abc",
            "turns": "turns:>5", "tag": "tag:good",
        }[name]  # fmt: skip
        raise QueryError(f"`{name}:` needs a value, like {example}")
    if name == "model":
        return _prefix_or_exact("model", value)
    if name == "tool":
        return _prefix_or_exact("tool", value)
    if name == "meta":
        key, sep, val = value.partition("=")
        if not key:
            raise QueryError(f"`meta:` needs a key, like meta:env=prod or meta:env (got {value!r})")
        if not sep:
            return Filter("meta", "present", None, key=key)
        if val.endswith("*") and val.rstrip("*"):
            return Filter("meta", "prefix", val.rstrip("*"), key=key)
        return Filter("meta", "=", val, key=key)
    if name == "finish":
        return Filter("finish", "=", value.lower())
    if name == "tier":
        return Filter("tier", "=", value.lower())
    if name == "has":
        if value.lower() in ("note", "notes"):
            return Filter("label", "=", "note")
        flag = HAS_FLAGS.get(value.lower())
        if flag is None:
            raise QueryError(
                f"`has:` takes one of tools, refusal, audio, annotations, logprobs, images, note (got {value!r})"
            )
        return Filter("has", "=", flag)
    if name == "is":
        if value.lower() == "root":  # the first completion of a conversation
            return Filter("is", "=", "root")
        if value.lower() in ("starred", "star", "stared"):
            return Filter("label", "=", "starred")
        if value.lower() not in ("removed", "deleted", "expired"):
            raise QueryError(f"`is:` takes removed, root or starred (got {value!r})")
        return Filter("is", "=", "removed")
    if name == "thread":  # every completion of the conversation that holds this id (prefix)
        return Filter("thread", "prefix", value.rstrip("*"))
    if name == "turns":
        return _tokens(value, "turns")
    if name == "tag":
        return _prefix_or_exact("tag", value)
    if name == "tokens":
        return _tokens(value)
    if name == "cost":
        return _cost(value)
    if name == "id":
        return Filter("id", "prefix", value.rstrip("*"))
    if name == "after":
        ts, _ = _date_value("after", value, now)
        return Filter("created", ">=", int(-(-ts // 1)))  # ceil: never include an earlier second
    if name == "before":
        ts, _ = _date_value("before", value, now)
        return Filter("created", "<", int(-(-ts // 1)))
    if name == "since":
        return Filter("created", ">=", int(-(-_since(value, now) // 1)))
    raise AssertionError(name)  # pragma: no cover


def clean_text(text: str) -> str:
    """Text that SQLite can bind: no lone surrogates, no NUL (FTS5 stops a string at NUL)."""
    return _SURROGATES.sub("\ufffd", text).replace("\x00", " ")


def _now_ts(now: datetime | float | None) -> float:
    if now is None:
        import time as _time

        return _time.time()
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.astimezone()).timestamp()
    return float(now)


def parse(text: str, *, now: datetime | float | None = None) -> Query:
    """Parse a query; raises `QueryError` for a bad value (`tokens:abc`, `after:31/01`)."""
    if not isinstance(text, str):
        raise QueryError("a query must be text")
    now_ts = _now_ts(now)
    text = unicodedata.normalize("NFC", clean_text(text))
    hints: list[str] = []
    scopes: set[str] = set()
    groups: list[list[Atom]] = []
    pending_or = False
    pending_not = False
    for tok in _lex(text):
        atom: Atom | None = None
        if not tok.quoted:
            word = tok.text
            if word == "OR":
                if groups and not pending_or:
                    pending_or = True
                else:
                    hints.append("OR needs a term on each side")
                continue
            if word == "AND":
                continue
            if word == "NOT" and not tok.negated:
                pending_not = True
                continue
            negated = tok.negated or pending_not
            m = _FIELD.match(word)
            name = m[1].lower() if m else ""
            name = _ALIASES.get(name, name)
            if m and name in _KNOWN:
                result = _filter(name, m[2], now_ts)
                if isinstance(result, str):
                    scopes.add(result)
                    pending_not = False
                    continue
                atom = Filter(result.field, result.op, result.value, result.key, negated)
                known = KNOWN_VALUES.get(result.field)
                if known and result.value not in known:
                    hints.append(f"`{result.field}:` takes one of {', '.join(known)} (got {m[2]!r})")
            else:
                if m and name not in _NOT_FIELDS and m[2]:
                    hints.append(f"unknown field `{m[1]}:`: searched as text")
                prefix = word.endswith("*")
                core = word.rstrip("*")
                if not core.strip("-"):
                    pending_not = False
                    continue  # a lone `*` or `-`: nothing to search for
                atom = Term(core, phrase=False, prefix=prefix, negated=negated)
        else:
            negated = tok.negated or pending_not
            if not tok.text.strip():
                pending_not = False
                continue
            atom = Term(tok.text, phrase=True, prefix=False, negated=negated)
        pending_not = False
        if pending_or and groups:
            groups[-1].append(atom)
        else:
            groups.append([atom])
        pending_or = False
    if pending_or:
        hints.append("OR needs a term on each side")
    # A repeated clause adds nothing (`order order ...`, a paste); past MAX_ATOMS a query is a
    # paragraph, not a search, and its plan would cost without bound: say so rather than hang.
    clauses = tuple(dict.fromkeys(Clause(tuple(dict.fromkeys(g))) for g in groups))
    atoms = sum(len(c.atoms) for c in clauses)
    if atoms > MAX_ATOMS:
        raise QueryError(f"a query of {atoms} terms is too long: at most {MAX_ATOMS} words and filters")
    return Query(
        text=text,
        clauses=clauses,
        scopes=frozenset(scopes),
        hints=tuple(dict.fromkeys(hints)),
        now=now_ts,
    )


# -- what to highlight --------------------------------------------------------------------------


def highlight_terms(query: Query) -> list[str]:
    """The positive words and phrases, as typed, to highlight in a detail view (prefixes end in `*`)."""
    out: list[str] = []
    for term in query.terms:
        if term.negated:
            continue
        value = term.text + ("*" if term.prefix else "")
        if value not in out:
            out.append(value)
    return out
