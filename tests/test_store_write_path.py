"""The write path's shortcuts give exactly what the plain path gives: page size of new files,
the input summary written with an imported row, the direct JSON encoder, remembered skeletons."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ccbrowser.store import open_db, reader
from ccbrowser.store.db import NEW_PAGE_SIZE
from ccbrowser.store.extract import body_of, dumps
from ccbrowser.store.writer import Record, Writer

_SUMMARY = "SELECT id, messages_state, input_count, preview, has_images FROM completions ORDER BY id"


def _completion(i: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{i:04d}",
        "created": 1_700_000_000 + i,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"r{i}"}}
        ],
    }


def _inputs(i: int) -> list[dict[str, Any]]:
    return [
        {"id": f"chatcmpl-{i:04d}-0", "role": "system", "content": "be brief", "name": None},
        {
            "id": f"chatcmpl-{i:04d}-1",
            "role": "user",
            "content": [
                {"type": "text", "text": f"look {i}"},
                {"type": "image_url", "image_url": {"url": "x"}},
            ]
            if i % 3 == 0
            else f"question {i}\nsecond line",
        },
    ]


def test_a_new_database_gets_big_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = open_db(tmp_path / "new.db")
    assert new.execute("PRAGMA page_size").fetchone()[0] == NEW_PAGE_SIZE
    assert new.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    new.close()
    old_path = tmp_path / "old.db"
    raw = sqlite3.connect(old_path)
    raw.execute("PRAGMA page_size = 4096")
    raw.execute("PRAGMA journal_mode = WAL")
    raw.close()
    old = open_db(old_path)  # the schema goes into the 4 KB file as it is
    assert old.execute("PRAGMA page_size").fetchone()[0] == 4096
    Writer(old).write([Record(_completion(1), _inputs(1))])
    assert reader.input_messages(old, "chatcmpl-0001") == _inputs(1)
    old.close()
    again = open_db(tmp_path / "new.db")  # reopened: nothing to change
    assert again.execute("PRAGMA page_size").fetchone()[0] == NEW_PAGE_SIZE


def test_inputs_written_with_the_row_summarise_it_as_a_later_write_does(tmp_path: Path) -> None:
    together = open_db(tmp_path / "together.db")
    Writer(together).write([Record(_completion(i), _inputs(i)) for i in range(12)])
    later = open_db(tmp_path / "later.db")
    w = Writer(later)
    w.write([Record(_completion(i)) for i in range(12)])
    w.write_inputs({f"chatcmpl-{i:04d}": _inputs(i) for i in range(12)})
    rows = together.execute(_SUMMARY).fetchall()
    assert rows == later.execute(_SUMMARY).fetchall()
    assert rows[0] == ("chatcmpl-0000", "ok", 2, "look 0", 1)
    assert rows[1] == ("chatcmpl-0001", "ok", 2, "question 1", 0)
    # the object listed again without its inputs keeps what they said
    changed = {**_completion(1), "metadata": {"k": "v"}}
    Writer(together).write([Record(changed)])
    assert together.execute(_SUMMARY + " LIMIT 1 OFFSET 1").fetchone() == rows[1]
    assert reader.input_messages(together, "chatcmpl-0003") == _inputs(3)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1.5, None, True, False, 'é\n"\\x\u2028'], "c": {"z": 1e300, "y": -0.0}},
        "text",
        10**40,
        [],
        {},
        {"k": float("inf")},
        {1: "int key", 2: [[[]]]},
        "\ud800 lone",
    ],
)
def test_dumps_matches_the_standard_encoder(value: Any) -> None:
    for sort_keys in (False, True):
        expected = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode(
            value
        )
        if "\ud800" in expected:  # not UTF-8: the store falls back to ASCII escapes
            expected = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys)
        assert dumps(value, sort_keys=sort_keys) == expected
    with pytest.raises(TypeError):
        dumps({"a": object()})


def test_remembered_skeletons_never_mix_values_that_compare_equal() -> None:
    shapes = [
        {"role": "user", "content": "hi", "name": None},
        {"role": "user", "content": "hi", "name": True},
        {"role": "user", "content": "hi", "name": 1},
        {"role": "user", "content": "hi", "name": "1"},
        {"content": "hi", "role": "user", "name": None},  # another key order: same body, own raw
    ]
    first = [body_of(m, drop_id=True) for m in shapes]
    again = [body_of(dict(m), drop_id=True) for m in shapes]
    assert [(b.hash, b.raw) for b in first] == [(b.hash, b.raw) for b in again]
    assert len({b.hash for b in first}) == 4
    assert first[0].hash == first[4].hash and first[0].raw != first[4].raw
    assert [json.loads(b.raw)["name"] for b in first[:4]] == [None, True, 1, "1"]
    assert all(json.loads(b.raw)["content"] is None and b.content == "hi" for b in first)
