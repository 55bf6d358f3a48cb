"""The executor's plan choices (walk / small driver / sets / INTERSECT) never change the answer.

Every query runs under settings that force each plan, and the result must equal the plain
"every clause is a set" SQL, newest first; a limited answer must be a prefix of the full one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccbrowser import search
from ccbrowser.demo_corpus import FROZEN_NOW
from ccbrowser.demo_corpus import build as build_sample
from ccbrowser.emulator.corpus.chats import chats
from ccbrowser.search import engine
from ccbrowser.search import plan as planner
from ccbrowser.search.plan import budgeted, build
from ccbrowser.store import labels
from ccbrowser.store.db import open_db

THREADED = next(c.id for c in chats(FROZEN_NOW, 3) if c.chat == "trip")  # a four-turn conversation
QUERIES = [
    "refund",
    "refund o",
    "refund ord",
    "weather t",
    "weather tok",
    "deploy k",
    "a",
    "tool:refund_order",
    "tool:refund_order A",
    "tool:refund_order A-8",
    "tool:run_sql the",
    "meta:env",
    "meta:env=prod",
    "meta:env=prod f",
    "meta:env=prod finish:length",
    "meta:nokey the",
    "has:refusal",
    "has:refusal s",
    "has:refusal since:7d",
    "has:images the order",
    "has:audio -the",
    "model:gpt-4o refund",
    "in:output the",
    "in:input weather",
    "the OR weather",
    "tool:refund_order OR has:refusal",
    "-tool:refund_order order",
    "東京",
    "finish:length the",
    "finish:stop refund order",
    "model:gpt-4o-mini the",
    "model:gpt-4o* weather",
    "in:output finish:stop the",
    "has:tools in:input the",
    "refu*",
    "refu* order",
    "finish:stop deploy*",
    "gpt-4*",
    "-refu* the",
    "cost:>0.005",
    "cost:<0.001 the",
    "cost:0.001..0.004 model:gpt-4o",
    "-cost:>0.005 refund",
    "cost:>0.002 OR has:refusal",
    "is:root",
    "turns:>2",
    "is:starred",
    "tag:good the",
    "-tag:bad has:tools",
    "has:note OR tag:good",
    "tag:go* -is:starred",
    # several words with a small driver: the others read in body-id ranges for every candidate
    "weather tok -refund",
    "in:output refund order",
    "has:tools weather the",
    '"order id" refund',
]
# On a database holding conversations (their completions repeat each other's messages).
THREAD_QUERIES = [
    "is:root",
    "-is:root the",
    "turns:>2",
    "turns:2..3 the",
    "thread:" + THREADED[:16],
    "thread:" + THREADED[:16] + " OR tool:refund_order",
    "thread:" + THREADED[:16] + " -is:root",
]

SETTINGS = {
    "default": {},
    "always walk": {"WALK_BUDGET": 3600.0, "SMALL_DRIVER": -1},
    "never walk": {"WALK_BUDGET": 0.0},
    "always drive small": {"SMALL_DRIVER": 10**9},
    "never drive small": {"SMALL_DRIVER": -1},
    "nothing is rare": {"COUNT_CAP": 0, "SMALL_DRIVER": -1},
    # The batched walk (filters drive, text read in body-id ranges), in every shape.
    "filters drive": {"COUNT_CAP": 0, "SMALL_DRIVER": -1, "BATCH_BUDGET": 3600.0},
    "tiny batches, no ranges": {
        "COUNT_CAP": 0,
        "SMALL_DRIVER": -1,
        "BATCH_BUDGET": 3600.0,
        "BATCH_FIRST": 1,
        "BATCH_MAX": 3,
        "BATCH_GAP": 0,
    },
    "one range": {"COUNT_CAP": 0, "SMALL_DRIVER": -1, "BATCH_BUDGET": 3600.0, "BATCH_GAP": 10**9},
    "batches abandoned": {"COUNT_CAP": 0, "SMALL_DRIVER": -1, "BATCH_BUDGET": 0.0},
    # Over budget from the first batch, kept on by a set plan that looks dearer than any pace.
    "batches kept by their pace": {
        "COUNT_CAP": 0,
        "SMALL_DRIVER": -1,
        "BATCH_BUDGET": 0.0,
        "BATCH_FIRST": 1,
        "SET_SECONDS_PER_BODY": 3600.0,
    },
    # Text clauses checked as one set each, or never (body-id ranges), under the batched walk.
    "filters drive, words as sets": {
        "COUNT_CAP": 0,
        "SMALL_DRIVER": -1,
        "BATCH_BUDGET": 3600.0,
        "SET_PER_CANDIDATE": 10**9,
    },
    "filters drive, words by ranges": {
        "COUNT_CAP": 0,
        "SMALL_DRIVER": -1,
        "BATCH_BUDGET": 3600.0,
        "SET_PER_CANDIDATE": 0,
    },
    # Any indexed filter beats any word: the filters drive relevance queries too.
    "filters always beat words": {"FILTER_DRIVER": 10**9, "FILTER_RATIO": 0, "BATCH_BUDGET": 3600.0},
    # The rarest of several words drives, its candidates checked in (tiny) batches.
    "a word drives in batches": {"TEXT_DRIVER": 10**9, "BATCH_FIRST": 1, "BATCH_MAX": 3},
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("plans") / "plans.db"
    build_sample(path, 400, seed=3)
    c = open_db(path)
    ids = [r[0] for r in c.execute("SELECT id FROM completions ORDER BY pk")]
    labels.apply(c, ids[::7], star=True)
    labels.apply(c, ids[::3], add_tags=["good"])
    labels.apply(c, ids[1::5], add_tags=["bad", "gold"], note="check")
    yield c
    c.close()


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("plans") / "threaded.db"
    build_sample(path, 400, seed=3, chats=True)
    c = open_db(path)
    yield c
    c.close()


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_plan_of_a_thread_filter_gives_the_same_matches(
    threaded: sqlite3.Connection, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time order, counts and limits; the relevance order is compared on the corpus above only
    (completions of one conversation share message bodies: their ranks tie)."""
    for name, value in SETTINGS[setting].items():
        monkeypatch.setattr(engine, name, value)
    sizes = []
    for text in THREAD_QUERIES:
        q = search.parse(text, now=FROZEN_NOW)
        want = reference(threaded, text)
        sizes.append(len(want))
        assert search.matching_pks(threaded, q, sort="newest") == want, text
        assert search.matching_pks(threaded, q, sort="oldest") == want[::-1], text
        assert search.count(threaded, q) == len(want), text
        for limit in (1, 7, 100):
            assert search.matching_pks(threaded, q, sort="newest", limit=limit) == want[:limit], (text, limit)
        assert sorted(search.matching_pks(threaded, q)) == sorted(want), text
    assert sizes[4] == 4 and 0 < sizes[2] < sizes[0]  # the four turns of the trip; few long chats


def reference(conn: sqlite3.Connection, text: str) -> list[int]:
    plan = build(search.parse(text, now=FROZEN_NOW), conn)
    if plan.never:
        return []
    where, params = plan.full_where()
    sql = f"SELECT c.pk FROM completions c WHERE {where} ORDER BY c.created DESC, c.pk DESC"
    return [r[0] for r in conn.execute(sql, params)]


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_every_plan_gives_the_same_matches(
    conn: sqlite3.Connection, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SETTINGS[setting].items():
        monkeypatch.setattr(engine, name, value)
    nonempty = 0
    for text in QUERIES:
        q = search.parse(text, now=FROZEN_NOW)
        want = reference(conn, text)
        nonempty += bool(want)
        assert search.matching_pks(conn, q, sort="newest") == want, text
        assert search.matching_pks(conn, q, sort="oldest") == want[::-1], text
        assert search.count(conn, q) == len(want), text
        for limit in (1, 7, 100):
            assert search.matching_pks(conn, q, sort="newest", limit=limit) == want[:limit], (text, limit)
        full = search.matching_pks(conn, q)
        assert sorted(full) == sorted(want), text
        assert search.matching_pks(conn, q, limit=20) == full[:20], text
        hits = search.search(conn, q, limit=10, offset=5)
        assert [h.pk for h in hits] == full[5:15], text
    assert nonempty >= len(QUERIES) // 2  # the corpus exercises the queries


def fts_text(conn: sqlite3.Connection, text: str) -> str:
    """Every FTS5 expression the plan of `text` sends."""
    plan = build(search.parse(text), conn)
    return " ".join([*plan.text_sets, *(v for p in plan.preds for v in p.params if isinstance(v, str))])


PREFIXES = [
    "refu*",
    "refu* order",
    "finish:stop deploy*",
    "gpt-4*",
    "re*",
    "-refu* the",
    "in:output wea*",
    "zzzq*",
]


@pytest.mark.parametrize("setting", ["expanded", "too many words", "too slow to list"])
def test_prefix_expansion_matches_what_the_prefix_query_matches(
    conn: sqlite3.Connection, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refu*` sent as `"refund" OR "refunded" OR ...` (words from the index's vocabulary) matches
    exactly what FTS5's own prefix query `"refu" *` matches; when the list is long or slow, the
    prefix query is what runs."""
    native: dict[str, list[int]] = {}
    with monkeypatch.context() as m:
        m.setattr(planner, "MAX_PREFIX_EXPANSION", 0)
        for text in PREFIXES:
            assert '" *' in fts_text(conn, text)
            native[text] = reference(conn, text)
    if setting == "too many words":
        monkeypatch.setattr(planner, "MAX_PREFIX_EXPANSION", 1)
    elif setting == "too slow to list":
        monkeypatch.setattr(planner, "PREFIX_BUDGET", 0.0)
    expanded = 0
    for text in PREFIXES:
        expanded += '" *' not in fts_text(conn, text)
        assert reference(conn, text) == native[text], text
        assert search.matching_pks(conn, text, sort="newest") == native[text], text
    assert sum(bool(v) for v in native.values()) >= len(PREFIXES) // 2
    if setting == "expanded":
        assert expanded >= 4  # `refu*`, `deploy*`, `gpt-4*`, `wea*` are lists of words
    elif setting == "too many words":
        assert expanded < 4


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_the_cost_sort_is_the_same_under_every_plan(
    conn: sqlite3.Connection, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SETTINGS[setting].items():
        monkeypatch.setattr(engine, name, value)
    cost = dict(conn.execute("SELECT pk, cost_usd FROM completions"))
    for text in ("", "refund", "model:gpt-4o", "cost:>0.002", "tool:refund_order OR has:refusal"):
        q = search.parse(text, now=FROZEN_NOW)
        want = sorted(
            search.matching_pks(conn, q, sort="newest"),
            key=lambda pk: (cost[pk] is None, -(cost[pk] or 0), -pk),
        )
        assert search.matching_pks(conn, q, sort="cost") == want, text
        assert search.matching_pks(conn, q, sort="cost", limit=7) == want[:7], text
        assert [h.pk for h in search.search(conn, q, sort="cost", limit=5, offset=3)] == want[3:8], text


def test_a_walk_over_budget_is_abandoned_and_an_interrupt_is_not_swallowed(conn: sqlite3.Connection) -> None:
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT max(i) FROM n"
    assert budgeted(conn, slow, [], 0.001) is None
    assert budgeted(conn, "SELECT 1", [], 0.001) == [1]
    # A newer search interrupts this one (the TUI does that): the error reaches the caller.
    timer = threading.Timer(0.05, conn.interrupt)
    timer.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="interrupt"):
            budgeted(conn, slow.replace("5000000", "500000000"), [], 3600.0)
    finally:
        timer.cancel()
    assert conn.execute("SELECT 1").fetchone() == (1,)
