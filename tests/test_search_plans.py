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
from ccbrowser.search import engine
from ccbrowser.search.plan import build
from ccbrowser.store import labels
from ccbrowser.store.db import open_db

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
    "is:starred",
    "tag:good the",
    "-tag:bad has:tools",
    "has:note OR tag:good",
    "tag:go* -is:starred",
]

SETTINGS = {
    "default": {},
    "always walk": {"WALK_BUDGET": 3600.0, "SMALL_DRIVER": -1},
    "never walk": {"WALK_BUDGET": 0.0},
    "always drive small": {"SMALL_DRIVER": 10**9},
    "never drive small": {"SMALL_DRIVER": -1},
    "nothing is rare": {"COUNT_CAP": 0, "SMALL_DRIVER": -1},
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


def test_a_walk_over_budget_is_abandoned_and_an_interrupt_is_not_swallowed(conn: sqlite3.Connection) -> None:
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT max(i) FROM n"
    assert engine._budgeted(conn, slow, [], 0.001) is None
    assert engine._budgeted(conn, "SELECT 1", [], 0.001) == [1]
    # A newer search interrupts this one (the TUI does that): the error reaches the caller.
    timer = threading.Timer(0.05, conn.interrupt)
    timer.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="interrupt"):
            engine._budgeted(conn, slow.replace("5000000", "500000000"), [], 3600.0)
    finally:
        timer.cancel()
    assert conn.execute("SELECT 1").fetchone() == (1,)
