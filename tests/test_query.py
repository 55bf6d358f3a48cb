"""The query language parser: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccbrowser.errors import UsageError
from ccbrowser.search import Filter, QueryError, Term, highlight_terms, parse
from ccbrowser.search.query import MAX_ATOMS

NOW = datetime(2026, 5, 28, 12, 0, tzinfo=UTC).timestamp()


def atoms(text: str) -> list[list[object]]:
    return [list(c.atoms) for c in parse(text, now=NOW).clauses]


def test_words_phrases_prefix_exclude() -> None:
    assert atoms('refund "exact phrase" deploy* -spam -"bad words"') == [
        [Term("refund")],
        [Term("exact phrase", phrase=True)],
        [Term("deploy", prefix=True)],
        [Term("spam", negated=True)],
        [Term("bad words", phrase=True, negated=True)],
    ]


def test_or_groups_and_keywords() -> None:
    assert atoms("a OR b c") == [[Term("a"), Term("b")], [Term("c")]]
    assert atoms("a AND b") == [[Term("a")], [Term("b")]]
    assert atoms("NOT a") == [[Term("a", negated=True)]]
    assert atoms("a or b") == [[Term("a")], [Term("or")], [Term("b")]]  # lower case is a word
    q = parse("OR a OR", now=NOW)
    assert [list(c.atoms) for c in q.clauses] == [[Term("a")]]
    assert "OR needs a term on each side" in q.hints
    assert atoms("model:gpt-4o OR model:gpt-4.1") == [
        [Filter("model", "=", "gpt-4o"), Filter("model", "=", "gpt-4.1")]
    ]


def test_filters() -> None:
    assert atoms("model:gpt-4*") == [[Filter("model", "prefix", "gpt-4")]]
    assert atoms("meta:env=prod meta:user") == [
        [Filter("meta", "=", "prod", key="env")],
        [Filter("meta", "present", None, key="user")],
    ]
    assert atoms('meta:note="two words"') == [[Filter("meta", "=", "two words", key="note")]]
    assert atoms("tool:refund_order finish:LENGTH tier:flex") == [
        [Filter("tool", "=", "refund_order")],
        [Filter("finish", "=", "length")],
        [Filter("tier", "=", "flex")],
    ]
    assert atoms("has:tools has:images is:removed id:chatcmpl-ab") == [
        [Filter("has", "=", "has_tools")],
        [Filter("has", "=", "has_images")],
        [Filter("is", "=", "removed")],
        [Filter("id", "prefix", "chatcmpl-ab")],
    ]
    assert atoms("-model:gpt-4o") == [[Filter("model", "=", "gpt-4o", negated=True)]]


def test_tokens() -> None:
    assert atoms("tokens:>1000 tokens:<50 tokens:>=2k tokens:<=7 tokens:=3 tokens:100..500 tokens:9") == [
        [Filter("tokens", ">", 1000)],
        [Filter("tokens", "<", 50)],
        [Filter("tokens", ">=", 2000)],
        [Filter("tokens", "<=", 7)],
        [Filter("tokens", "=", 3)],
        [Filter("tokens", "range", (100, 500))],
        [Filter("tokens", "=", 9)],
    ]


def test_conversation_filters() -> None:
    assert atoms("thread:chatcmpl-ab is:root turns:>5 turns:2..4 turns:3 -is:root") == [
        [Filter("thread", "prefix", "chatcmpl-ab")],
        [Filter("is", "=", "root")],
        [Filter("turns", ">", 5)],
        [Filter("turns", "range", (2, 4))],
        [Filter("turns", "=", 3)],
        [Filter("is", "=", "root", negated=True)],
    ]


def test_times_are_local_and_resolved_at_parse() -> None:
    # conftest sets TZ=UTC
    assert atoms("after:2026-01-31") == [
        [Filter("created", ">=", int(datetime(2026, 1, 31, tzinfo=UTC).timestamp()))]
    ]
    assert atoms("before:2026-01-31T14:30") == [
        [Filter("created", "<", int(datetime(2026, 1, 31, 14, 30, tzinfo=UTC).timestamp()))]
    ]
    assert atoms("since:7d since:12h since:30m since:2w") == [
        [Filter("created", ">=", int(NOW - 7 * 86400))],
        [Filter("created", ">=", int(NOW - 12 * 3600))],
        [Filter("created", ">=", int(NOW - 30 * 60))],
        [Filter("created", ">=", int(NOW - 14 * 86400))],
    ]
    assert atoms("after:today") == [
        [Filter("created", ">=", int(datetime(2026, 5, 28, tzinfo=UTC).timestamp()))]
    ]


def test_local_dates_follow_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        got = atoms("after:2026-01-31")
        assert got == [[Filter("created", ">=", int(datetime(2026, 1, 30, 15, tzinfo=UTC).timestamp()))]]
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tokens:abc", "`tokens:` needs a number like tokens:>1000"),
        ("tokens:", "`tokens:` needs a value"),
        ("after:31/01/2026", "`after:` needs a date like after:2026-01-31"),
        ("before:soon", "`before:` needs a date"),
        ("since:forever", "`since:` needs a duration like since:7d"),
        ("has:cats", "`has:` takes one of tools"),
        ("in:nowhere", "`in:` takes one of"),
        ("is:alive", "`is:` takes removed, root or starred"),
        ("turns:many", "`turns:` needs a number like turns:>5"),
        ("thread:", "`thread:` needs a value, like thread:chatcmpl-abc"),
        ("model:", "`model:` needs a value"),
        ("meta:=x", "`meta:` needs a key"),
    ],
)
def test_bad_values_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text, now=NOW)
    assert message in str(info.value)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_unknown_fields_are_text_with_a_hint() -> None:
    q = parse("foo:bar https://example.com 12:30", now=NOW)
    assert [a for c in q.clauses for a in c.atoms] == [
        Term("foo:bar"),
        Term("https://example.com"),
        Term("12:30"),
    ]
    assert q.hints == ("unknown field `foo:`: searched as text",)


def test_scopes() -> None:
    q = parse("in:args in:output order", now=NOW)
    assert q.scopes == frozenset({"args", "output"})
    assert q.terms == [Term("order")]


def test_hostile_input_never_raises_anything_but_query_error() -> None:
    for text in [
        '"',
        '"unclosed',
        "-",
        "--",
        "*",
        "***",
        "(",
        ")",
        "AND",
        "NEAR",
        "^",
        "\x00",
        "\ud800",
        "a:",
        ":",
        '-"',
        'x"y"z',
    ]:
        parse(text, now=NOW)


def test_unclosed_quote_runs_to_the_end() -> None:
    assert atoms('"crème brû') == [[Term("crème brû", phrase=True)]]


def test_highlight_terms() -> None:
    q = parse('refund "A-8812" deploy* -spam model:gpt-4o', now=NOW)
    assert highlight_terms(q) == ["refund", "A-8812", "deploy*"]


def test_repeated_clauses_count_once_and_a_paragraph_is_refused() -> None:
    q = parse("order " * 5000 + "refund")
    assert [t.text for t in q.terms] == ["order", "refund"]
    assert parse("order OR order").clauses == parse("order").clauses
    words = " ".join(f"w{i}" for i in range(MAX_ATOMS))
    assert len(parse(words).terms) == MAX_ATOMS
    with pytest.raises(QueryError, match=f"{MAX_ATOMS + 1} terms is too long"):
        parse(words + " model:gpt-4o")
