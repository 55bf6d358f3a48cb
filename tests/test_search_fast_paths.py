"""The faster forms of the search's hot paths give exactly what the plain forms give.

- Highlight spans: the pattern that starts with its first token's literal (the boundary checked
  after it) finds the same spans as the plain pattern that starts with the boundary.
- Prefix words: the skip-scan of an `instance` fts5vocab table lists the same words, in the same
  order, as the `row` table that reads every posting.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccbrowser.demo_corpus import build as build_sample
from ccbrowser.search import plan as planner
from ccbrowser.search.text import Matcher, _fold_char, _fold_map, needles
from ccbrowser.store.db import open_db

_TOK = r"[^\W_]"


def plain_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """The boundary-first pattern `Matcher` compiled before (the reference)."""
    parts: list[str] = []
    for needle in needles(terms):
        if needle.substring:
            parts.append(re.escape(needle.tokens[0]))
            continue
        body = r"[\W_]+".join(re.escape(t) for t in needle.tokens)
        tail = f"{_TOK}*" if needle.prefix else f"(?!{_TOK})"
        parts.append(f"(?<!{_TOK}){body}{tail}")
    return re.compile("|".join(parts)) if parts else None


def reference_spans(terms: list[str], text: str) -> list[tuple[int, int]]:
    fast = Matcher(terms)
    slow = plain_pattern(terms)
    assert (fast.pattern is None) == (slow is None)
    fast.pattern = slow  # the same folding and span mapping, the plain pattern
    return fast.spans(text, limit=10_000)


WORDS = ["refund", "re", "order", "id", "ord", "café", "東京", "x2", "a"]
TERMS = st.lists(
    st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(WORDS).map(lambda w: w + "*"),
        st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(" ".join),
    ),
    min_size=1,
    max_size=4,
)
PIECES = st.sampled_from(
    [*WORDS, "Refund", "REFUNDS", "cafe", "CAFÉ", " ", "_", "-", "\n", "x", "9", "é", "の"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(terms=TERMS, pieces=st.lists(PIECES, max_size=40))
def test_literal_first_patterns_find_the_same_spans(terms: list[str], pieces: list[str]) -> None:
    text = "".join(pieces)
    assert Matcher(terms).spans(text) == reference_spans(terms, text)


def test_literal_first_patterns_on_known_text() -> None:
    text = "xrefund refund_ Refunds, order  id; order-idx ORDER_ID refund"
    m = Matcher(["refund", "order id", "ref*"])
    assert [text[s:e] for s, e in m.spans(text)] == ["refund", "Refunds", "order  id", "ORDER_ID", "refund"]
    assert m.spans(text) == reference_spans(["refund", "order id", "ref*"], text)


def reference_fold_map(text: str) -> tuple[str, list[int]]:
    """Character by character: each original folded alone, its index repeated per output char."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        out.append(f)
        index.extend([i] * len(f))
    return "".join(out), index


@settings(max_examples=300, deadline=None)
@example(text="ß\u1cf8")  # one char folds to two, the next to none: equal lengths, not one for one
@given(
    text=st.lists(
        st.one_of(st.sampled_from(["東京", "の", "é", "ß", "ﬁ", "İ", "Ä", "x", " ", "ー"]), st.characters()),
        max_size=30,
    ).map("".join)
)
def test_the_one_for_one_fold_is_the_character_fold(text: str) -> None:
    folded, index = _fold_map(text)
    assert (folded, list(index)) == reference_fold_map(text)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("fast") / "sample.db"
    build_sample(path, 400, seed=3)
    c = open_db(path)
    yield c
    c.close()


def row_words(conn: sqlite3.Connection, prefix: str) -> list[str]:
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ref_vocab USING fts5vocab(main, 'bodies_fts', 'row')"
    )
    rows = conn.execute(
        "SELECT term FROM temp.ref_vocab WHERE term >= ? AND term < ?", (prefix, prefix + "\U0010ffff")
    )
    return [r[0] for r in rows]


def test_prefix_words_are_the_vocabulary_rows(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner, "MAX_PREFIX_EXPANSION", 10**6)
    vocab = planner.Vocab(conn)
    every = row_words(conn, "")
    assert len(every) > 500
    prefixes = sorted({w[:n] for w in every[::7] for n in (1, 2, 4)} | {"zzzq", "refu", "4", "é"})
    listed = 0
    for prefix in prefixes:
        want = row_words(conn, prefix)
        assert vocab.starting_with(prefix) == want, prefix
        listed += len(want)
    assert listed > len(every)  # prefixes of many lengths, most of them shared


def test_prefix_words_are_bounded(conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = planner.Vocab(conn)
    many = row_words(conn, "re")
    assert len(many) > 3
    monkeypatch.setattr(planner, "MAX_PREFIX_EXPANSION", len(many))
    assert vocab.starting_with("re") == many
    monkeypatch.setattr(planner, "MAX_PREFIX_EXPANSION", len(many) - 1)
    assert vocab.starting_with("re") is None  # too many: the prefix query runs
    monkeypatch.setattr(planner, "PREFIX_BUDGET", 0.0)
    assert vocab.starting_with("refu") is None  # too slow to list
