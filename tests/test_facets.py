"""Facet counts (`store.facets`) equal plain SQL group-bys over the same set, for every facet."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccbrowser import search
from ccbrowser.demo_corpus import FROZEN_NOW
from ccbrowser.demo_corpus import build as build_sample
from ccbrowser.store import facets as facets_module
from ccbrowser.store import labels
from ccbrowser.store.db import open_db
from ccbrowser.store.facets import facet_counts
from ccbrowser.store.writer import Writer

QUERIES = (
    "",
    "refund",
    "model:gpt-4o",
    "has:tools",
    "meta:env=prod -finish:stop",
    "tag:good",
    "nothing-matches-this",
)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path: Path = tmp_path_factory.mktemp("facets") / "f.db"
    build_sample(path, 500, seed=9)
    c = open_db(path)
    ids = [r[0] for r in c.execute("SELECT id FROM completions ORDER BY pk")]
    labels.apply(c, ids[::3], add_tags=["good"])
    labels.apply(c, ids[::7], add_tags=["bad", "zeta"])
    labels.apply(c, ["chatcmpl-not-stored"], add_tags=["good"])  # a label of an id not stored
    yield c
    c.close()


def _expected(conn: sqlite3.Connection, pks: list[int]) -> dict[str, Counter[object]]:
    wanted = set(pks)
    out: dict[str, Counter[object]] = {k: Counter() for k in ("model", "finish", "tool", "metadata", "tag")}
    for pk, model, finish in conn.execute("SELECT pk, model, finish_reason FROM completions"):
        if pk in wanted:
            out["model"][model] += 1
            out["finish"][finish] += 1
    for pk, name in conn.execute("SELECT DISTINCT completion, name FROM tool_calls"):
        if pk in wanted:
            out["tool"][name] += 1
    for pk, key, value in conn.execute("SELECT completion, key, value FROM completion_metadata"):
        if pk in wanted:
            out["metadata"][(key, value)] += 1
    for pk, tag in conn.execute("SELECT c.pk, t.tag FROM label_tags t JOIN completions c ON c.id = t.id"):
        if pk in wanted:
            out["tag"][tag] += 1
    return out


@pytest.mark.parametrize("small", [0, 10**9], ids=["index", "sql"])
@pytest.mark.parametrize("text", QUERIES)
def test_facets_equal_group_bys(
    conn: sqlite3.Connection, text: str, small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facets_module, "SMALL", small)  # both ways of counting tools and metadata
    pks = search.matching_pks(conn, search.parse(text, now=FROZEN_NOW)) if text else None
    everything = [r[0] for r in conn.execute("SELECT pk FROM completions")]
    want = _expected(conn, everything if pks is None else pks)
    facets, index = facet_counts(conn, pks, top=100_000)
    assert facets.total == (len(everything) if pks is None else len(pks))
    for name in want:
        got = dict(getattr(facets, name))
        assert got == dict(want[name]), name
    # top N: the N biggest counts (ties in any order), most common first
    small, again = facet_counts(conn, pks, index, top=3)
    assert again is index  # nothing changed: the index is reused
    for name in want:
        counts = [n for _, n in getattr(small, name)]
        assert counts == sorted(counts, reverse=True)
        assert counts == sorted(want[name].values(), reverse=True)[:3], name


def test_the_index_follows_new_completions(conn: sqlite3.Connection) -> None:
    _, index = facet_counts(conn, None)
    before = dict(facet_counts(conn, None, index, top=100)[0].model)
    Writer(conn).write(
        [
            {
                "id": "chatcmpl-facet-new",
                "created": FROZEN_NOW,
                "model": "brand-new-model",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}
                ],
                "metadata": {"env": "facets"},
            }
        ]
    )
    facets, rebuilt = facet_counts(conn, None, index, top=100_000)
    assert rebuilt is not index
    assert dict(facets.model) == {**before, "brand-new-model": 1}
    assert (("env", "facets"), 1) in facets.metadata
    # a snapshot taken before the index knew a completion never fails (the key is beyond it)
    pk = conn.execute("SELECT pk FROM completions WHERE id = 'chatcmpl-facet-new'").fetchone()[0]
    mask = index.mask([pk, 1])
    assert pk >= index.size and len(mask) == index.size and mask[1] == 1 and sum(mask) == 1
