"""Search behaviour on a purpose-built corpus: every filter and operator, folding, CJK, grouping."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_search_corpus import DAY, NOW, SHARED_COUNT, build

from ccbrowser import search
from ccbrowser.search import MARK_END, MARK_START, QueryError, find_matches, parse, split_marked


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    c = build(tmp_path_factory.mktemp("search") / "corpus.db")
    yield c
    c.close()


def ids(conn: sqlite3.Connection, text: str, **kw: object) -> list[str]:
    q = parse(text, now=NOW)
    return [h.id for h in search.search(conn, q, limit=kw.pop("limit", 100), **kw)]  # type: ignore[arg-type]


def idset(conn: sqlite3.Connection, text: str) -> set[str]:
    found = ids(conn, text)
    assert len(found) == len(set(found)), "a completion appears once"
    q = parse(text, now=NOW)
    assert search.count(conn, q) == len(found)
    pks = search.matching_pks(conn, q)
    assert len(pks) == len(set(pks))
    rows = conn.execute(
        "SELECT id FROM completions WHERE pk IN (SELECT value FROM json_each(?))", (json.dumps(pks),)
    )
    pk_ids = {r[0] for r in rows}
    assert pk_ids == set(found), "matching_pks, count and search agree"
    return set(found)


def test_accent_folding(conn: sqlite3.Connection) -> None:
    assert idset(conn, "creme brulee") == {"chatcmpl-creme"}
    assert idset(conn, "CRÈME") == {"chatcmpl-creme"}
    assert idset(conn, '"creme brulee"') == {"chatcmpl-creme"}


def test_identifiers_are_phrases(conn: sqlite3.Connection) -> None:
    assert idset(conn, "gpt-4o-mini") == {"chatcmpl-ids"}  # in text; the model column is `model:`
    assert idset(conn, "user_4821") == {"chatcmpl-ids"}
    assert idset(conn, "A-8812") == {"chatcmpl-ids", "chatcmpl-tool"}  # text and tool arguments
    assert idset(conn, "a-8812 in:args") == {"chatcmpl-tool"}


def test_two_character_cjk_inside_a_run(conn: sqlite3.Connection) -> None:
    assert idset(conn, "東京") == {"chatcmpl-tokyo"}
    assert idset(conn, "天気") == {"chatcmpl-tokyo"}
    assert idset(conn, "東京の天気は晴れです") == {"chatcmpl-tokyo"}
    assert idset(conn, "大阪") == set()
    hit = search.search(conn, "天気")[0]
    assert f"{MARK_START}天気{MARK_END}" in hit.snippet


def test_short_words(conn: sqlite3.Connection) -> None:
    assert idset(conn, "ai") == {"chatcmpl-ai"}
    assert idset(conn, "go") == {"chatcmpl-ai"}


def test_prefix(conn: sqlite3.Connection) -> None:
    assert idset(conn, "deploy*") == {"chatcmpl-deploy"}
    assert idset(conn, "deploy") == set()
    assert idset(conn, "invoi*") == {f"chatcmpl-shared{i:02d}" for i in range(SHARED_COUNT)}


def test_exclusion_and_or(conn: sqlite3.Connection) -> None:
    assert idset(conn, "sunny") == {"chatcmpl-audio", "chatcmpl-sunny"}
    assert idset(conn, "sunny -lyon") == {"chatcmpl-audio"}
    assert idset(conn, 'sunny -"in lyon"') == {"chatcmpl-audio"}
    assert idset(conn, "sunny -model:gpt-4o-audio-preview") == {"chatcmpl-sunny"}
    assert idset(conn, "brulee OR 東京") == {"chatcmpl-creme", "chatcmpl-tokyo"}
    assert idset(conn, "pineapple OR tool:refund_order") == {"chatcmpl-removed", "chatcmpl-tool"}


def test_words_anywhere_in_the_completion(conn: sqlite3.Connection) -> None:
    # "acme" is in the shared system prompt, "invoices" in each user message.
    got = idset(conn, "acme invoices")
    assert got == {f"chatcmpl-shared{i:02d}" for i in range(SHARED_COUNT)}
    # Both words in one message rank above words spread over messages.
    assert idset(conn, "refund damaged") == {"chatcmpl-tool"}


def test_scopes(conn: sqlite3.Connection) -> None:
    assert idset(conn, "zebra") == {"chatcmpl-deploy", "chatcmpl-zebra-out"}
    assert idset(conn, "zebra in:input") == {"chatcmpl-deploy"}
    assert idset(conn, "zebra in:output") == {"chatcmpl-zebra-out"}
    assert idset(conn, "sunny in:transcript") == {"chatcmpl-audio"}
    assert idset(conn, "lockpicking in:refusal") == {"chatcmpl-refusal"}
    assert idset(conn, "refund_order in:args") == {"chatcmpl-tool"}
    assert idset(conn, "parcel in:args") == {"chatcmpl-tool"}
    assert idset(conn, "parcel in:content in:input") == {"chatcmpl-tool"}  # the user asked about it


def test_filters(conn: sqlite3.Connection) -> None:
    assert idset(conn, "tool:refund_order") == {"chatcmpl-tool"}
    assert idset(conn, "tool:refund*") == {"chatcmpl-tool"}
    assert idset(conn, "meta:env=prod") == {"chatcmpl-tool"}
    assert idset(conn, "meta:env") == {"chatcmpl-tool", "chatcmpl-sunny"}
    assert idset(conn, "meta:env=pr*") == {"chatcmpl-tool"}
    assert idset(conn, "model:gpt-4.1") == {"chatcmpl-tokyo", "chatcmpl-tool"}
    assert idset(conn, "model:gpt-4o-audio*") == {"chatcmpl-audio"}
    assert idset(conn, "finish:length") == {"chatcmpl-sunny"}
    assert idset(conn, "tier:flex") == {"chatcmpl-refusal"}
    assert idset(conn, "has:refusal") == {"chatcmpl-refusal"}
    assert idset(conn, "has:audio") == {"chatcmpl-audio"}
    assert idset(conn, "has:tools") == {"chatcmpl-tool"}
    assert idset(conn, "has:logprobs") == {"chatcmpl-deploy"}
    assert idset(conn, "is:removed") == {"chatcmpl-removed"}
    assert idset(conn, "id:chatcmpl-zeb") == {"chatcmpl-zebra-out"}
    assert idset(conn, "tokens:>1000") == {"chatcmpl-tokyo", "chatcmpl-tool"}
    assert idset(conn, "tokens:<=40") == {"chatcmpl-creme", "chatcmpl-refusal"}
    assert idset(conn, "tokens:250..1500") == {"chatcmpl-ids", "chatcmpl-tokyo"}
    assert idset(conn, "model:gpt-4.1 A-8812 meta:env=prod finish:tool_calls") == {"chatcmpl-tool"}


def test_time_ranges(conn: sqlite3.Connection) -> None:
    # Shared completions are at NOW-10d + i hours; the others from NOW-9d on.
    assert idset(conn, "since:36h") == {"chatcmpl-removed"}
    assert idset(conn, "since:2d") == {"chatcmpl-ai", "chatcmpl-hostile", "chatcmpl-removed"}  # >= NOW-2d
    assert idset(conn, "since:60h") == {"chatcmpl-ai", "chatcmpl-hostile", "chatcmpl-removed"}
    assert idset(conn, "since:3d") == {
        "chatcmpl-ai",
        "chatcmpl-hostile",
        "chatcmpl-removed",
        "chatcmpl-deploy",
        "chatcmpl-zebra-out",
    }
    assert idset(conn, "before:2026-05-18") == {
        f"chatcmpl-shared{i:02d}" for i in range(SHARED_COUNT) if NOW - 10 * DAY + i * 3600 < 1_779_062_400
    }
    assert idset(conn, "after:2026-05-27") == {"chatcmpl-removed"}
    assert idset(conn, "after:2026-05-26 before:2026-05-27") == {"chatcmpl-ai", "chatcmpl-hostile"}


def test_sort_orders(conn: sqlite3.Connection) -> None:
    newest = ids(conn, "", sort="newest")
    assert newest[0] == "chatcmpl-removed" and newest[-1] == "chatcmpl-shared00"
    assert ids(conn, "", sort="oldest") == newest[::-1]
    assert ids(conn, "") == newest  # no text: newest first
    assert search.matching_pks(conn, "", limit=3) == search.matching_pks(conn, "")[:3]
    with pytest.raises(search.QueryError.__mro__[1]):  # UsageError
        search.search(conn, "x", sort="sideways")


def test_grouping_shared_system_prompt(conn: sqlite3.Connection) -> None:
    hits = search.search(conn, "Ava", limit=100)
    assert len(hits) == SHARED_COUNT and len({h.id for h in hits}) == SHARED_COUNT
    # A distinctive output ranks above the shared boilerplate.
    hits = search.search(conn, "invoice")
    assert {h.id for h in hits} == {f"chatcmpl-shared{i:02d}" for i in range(SHARED_COUNT)}
    assert all(h.source == "output" for h in hits)


def test_relevance_paging_is_consistent(conn: sqlite3.Connection) -> None:
    full = [h.id for h in search.search(conn, "Ava", limit=100)]
    pages = [h.id for off in range(0, 30, 7) for h in search.search(conn, "Ava", limit=7, offset=off)]
    assert pages == full
    assert [r for r in search.matching_pks(conn, "Ava")] == [
        h.pk for h in search.search(conn, "Ava", limit=100)
    ]


def test_pk_array_is_the_snapshot_as_an_array(conn: sqlite3.Connection) -> None:
    """The virtual list's snapshot: 8-byte keys, the order and dedup of `search` (a system
    prompt shared by SHARED_COUNT completions is walked once per completion, listed once)."""
    for text, sort in [("Ava", "relevance"), ("Ava", "newest"), ("", "oldest"), ("sunny -rain", "relevance")]:
        got = search.pk_array(conn, text, sort=sort)
        assert got.typecode == "q"
        assert got.tolist() == [h.pk for h in search.search(conn, text, sort=sort, limit=1000)], text
        assert search.pk_array(conn, text, sort=sort, limit=5).tolist() == got.tolist()[:5], text
    assert len(set(search.pk_array(conn, "Ava"))) == SHARED_COUNT
    assert search.pk_array(conn, "zzqxnothing").tolist() == []


def test_ranking_best_first(conn: sqlite3.Connection) -> None:
    hits = search.search(conn, "sunny")
    assert all(h.score is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits if h.score is not None), reverse=True)


def test_snippets_are_safe_and_marked(conn: sqlite3.Connection) -> None:
    hit = search.search(conn, "crimson")[0]
    assert hit.id == "chatcmpl-hostile"
    assert "\x1b" not in hit.snippet
    assert [t for t, m in split_marked(hit.snippet) if m] == ["crimson"]
    hit = search.search(conn, "brulee")[0]
    assert "brûlée" in [t for t, m in split_marked(hit.snippet) if m][0]
    assert hit.snippet_text == hit.snippet.replace(MARK_START, "").replace(MARK_END, "")


def test_hostile_words_are_just_text(conn: sqlite3.Connection) -> None:
    for text in ['"quoted"', "NEAR", "AND", "^x", "c++", "don't", "a.b", "col:val", "(a", "*"]:
        search.search(conn, text)
        search.count(conn, text)
    assert "chatcmpl-hostile" in idset(conn, "NEAR")
    assert "chatcmpl-hostile" in idset(conn, "col:val")


def test_hints(conn: sqlite3.Connection) -> None:
    assert any("model:gpt-4o-mini" in h for h in search.hints(conn, "gpt-4o-mini"))
    assert search.hints(conn, "foo:bar") == ["unknown field `foo:`: searched as text"]


def test_a_term_without_searchable_words_matches_nothing(conn: sqlite3.Connection) -> None:
    for text in ("🎉", "🎉*", '"🎉"', "'", "model:gpt-4o-mini 🎉"):
        assert idset(conn, text) == set() and search.count(conn, text) == 0
        assert any("no searchable words" in h for h in search.hints(conn, text))
    assert idset(conn, "🎉 OR crimson") == idset(conn, "crimson") != set()
    assert idset(conn, "-🎉") == idset(conn, "")  # excluding what nothing matches excludes nothing


def test_model_ignores_case(conn: sqlite3.Connection) -> None:
    assert idset(conn, "model:GPT-4.1") == idset(conn, "model:gpt-4.1") == {"chatcmpl-tokyo", "chatcmpl-tool"}
    assert idset(conn, "model:GPT-4o-Audio*") == {"chatcmpl-audio"}
    assert "chatcmpl-tool" not in idset(conn, "-model:GPT-4.1")
    assert idset(conn, "model:GPT-9") == set()
    assert search.hints(conn, "GPT-4o-Mini") == ["`GPT-4o-Mini` is a model: model:gpt-4o-mini filters by it"]


def test_unknown_finish_and_tier_values_get_the_has_hint(conn: sqlite3.Connection) -> None:
    assert search.hints(conn, "finish:lenght") == [
        "`finish:` takes one of stop, length, tool_calls, content_filter, function_call (got 'lenght')"
    ]
    assert search.hints(conn, "tier:flx") == [
        "`tier:` takes one of auto, default, flex, scale, priority (got 'flx')"
    ]
    assert search.hints(conn, "finish:LENGTH tier:Flex") == []
    assert idset(conn, "finish:LENGTH") == {"chatcmpl-sunny"}


def test_find_matches() -> None:
    text = "La Crème brûlée de gpt-4o-mini, user_4821 et 東京の天気. Refunds refund."
    q = parse("creme brulee gpt-4o-mini user_4821 東京 refund*", now=NOW)
    got = [text[s:e] for s, e in find_matches(text, q)]
    assert got == ["Crème", "brûlée", "gpt-4o-mini", "user_4821", "東京", "Refunds", "refund"]
    assert find_matches("prefund", ["refund"]) == []


ALPHABET = st.sampled_from(
    list("\"'-:*()^{}[]. ,+")
    + [
        "AND",
        "OR",
        "NOT",
        "NEAR",
        " ",
        "\x00",
        "\ud800",
        "東京",
        "é",
        "model:",
        "in:",
        "meta:",
        "tokens:",
        "a",
        "b",
        "zebra",
        "since:",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=40), st.lists(ALPHABET, max_size=12).map("".join)))
def test_any_string_is_answered_or_explained(conn: sqlite3.Connection, text: str) -> None:
    try:
        q = parse(text, now=NOW)
    except QueryError:
        return
    for sort in ("relevance", "newest"):
        hits = search.search(conn, q, sort=sort, limit=5)
        assert all(isinstance(h.snippet, str) for h in hits)
    search.count(conn, q)
    search.matching_pks(conn, q, limit=10)
    for h in search.search(conn, q, limit=3):
        assert "\x1b" not in h.snippet


def test_read_only_connection(tmp_path: Path) -> None:
    build(tmp_path / "c.db").close()
    ro = sqlite3.connect(f"file:{tmp_path / 'c.db'}?mode=ro", uri=True)
    assert [h.id for h in search.search(ro, "東京")] == ["chatcmpl-tokyo"]
