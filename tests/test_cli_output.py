"""What the CLI prints for people: no `None`, free-text tool input as text, one removed mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccbrowser.cli import main
from ccbrowser.render import REMOVED_MARK
from ccbrowser.store import open_db
from ccbrowser.store.writer import Record, Writer, mark_removed

PATCH = "*** Begin Patch\n*** Update File: app.py\n-print('hi')\n+print('hello')\n*** End Patch"


def _custom(cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": 1_780_000_000,
        "model": "gpt-5",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "custom", "custom": {"name": "apply_patch", "input": PATCH}}
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


@pytest.fixture
def db(db_path: Path) -> Path:
    conn = open_db(db_path)
    sparse = {
        "id": "c-sparse",
        "created": 1_780_000_100,
        "model": None,
        "usage": None,
        "metadata": {"k": None},
        "choices": [
            {"index": None, "finish_reason": None, "message": {"role": "assistant", "content": "hi"}}
        ],
    }
    Writer(conn).write([Record(_custom("c-custom"), []), Record(sparse, [{"role": "user", "content": "q"}])])
    mark_removed(conn, ["c-sparse"])
    conn.close()
    return db_path


def test_show_never_prints_none(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--db", str(db), "c-sparse"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "model:    ?" in out and "tokens:   ? in + ? out = ?" in out
    assert "output #0\n" in out and f"{REMOVED_MARK} removed upstream" in out


def test_custom_tool_input_is_text_not_invalid_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--db", str(db), "c-custom"]) == 0
    out = capsys.readouterr().out
    assert "invalid JSON" not in out and PATCH in out and "custom tool call apply_patch (call_1)" in out
    assert main(["args", "--db", str(db), "c-custom"]) == 0
    out, err = capsys.readouterr()
    assert out == PATCH + "\n" and err == ""
    assert main(["stats", "--db", str(db), "--json"]) == 0
    tools = json.loads(capsys.readouterr().out)["tools"]
    assert [{k: t[k] for k in ("name", "calls", "completions", "invalid_json")} for t in tools] == [
        {"name": "apply_patch", "calls": 1, "completions": 1, "invalid_json": 0}
    ]


def test_search_lines_use_the_tui_removed_mark(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "hi"]) == 0
    line = capsys.readouterr().out
    assert "c-sparse" in line and f" {REMOVED_MARK} " in line and "✝" not in line


def test_messages_json_keeps_the_api_key_order(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = [
        {"id": "c-order-0", "role": "system", "content": "be brief", "name": None, "content_parts": None},
        {"id": "c-order-1", "role": "user", "content": [{"type": "text", "text": "hi"}], "name": "ann"},
        {"id": "c-order-2", "role": "user", "content": "\x1b[1mbold\x1b[0m", "name": None},
    ]
    conn = open_db(db_path)
    Writer(conn).write([Record(_custom("c-order"), api)])
    conn.close()
    assert main(["messages", "--db", str(db_path), "c-order", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == api
    assert [list(m) for m in got] == [list(m) for m in api]


def test_counted_nouns_are_singular_for_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ccbrowser.words import plural

    assert [plural(n, "match") for n in (0, 1, 2, 1500)] == [
        "0 matches",
        "1 match",
        "2 matches",
        "1,500 matches",
    ]
    assert plural(1, "retry") == "1 retry" and plural(3, "retry") == "3 retries"
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(_custom("c-one")) + "\n")
    db = tmp_path / "one.db"
    assert main(["import", "--db", str(db), str(src)]) == 0
    assert capsys.readouterr().err == "ccbrowser: imported 1 completion (1 new), 1 message\n"
    assert main(["export", "--db", str(db), "--format", "jsonl", "-o", str(tmp_path / "out.jsonl")]) == 0
    assert "exported 1 completion to" in capsys.readouterr().err


def test_an_ambiguous_prefix_lists_the_candidates(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--db", str(db), "c-cu"]) == 0  # unique: fine
    capsys.readouterr()
    assert main(["show", "--db", str(db), "c-cust"]) == 0
    capsys.readouterr()
    conn = open_db(db)
    Writer(conn).write([Record(_custom(f"c-many-{i}"), []) for i in range(7)])
    conn.close()
    assert main(["show", "--db", str(db), "c-many"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "(c-many-0, c-many-1, c-many-2, c-many-3, c-many-4, ...)" in err and "give more of it" in err


def test_a_tiny_cost_is_written_out_never_in_exponent_form() -> None:
    from ccbrowser.render import usd, usd_total

    assert usd(2.7e-05) == "$0.000027"
    assert usd(9.99e-05) == "$0.00010"
    assert usd_total(1.04e-06, 0) == "$0.0000010"
    assert usd(3e-09) == "<$0.00000001"
    assert usd(2.7e-05, short=True) == "<$.0001"
    assert "e-" not in usd(1.5e-07)


@pytest.mark.parametrize(
    ("value", "shown", "short"),
    [
        (12.345, "$12.35", "$12.35"),
        (0.0042, "$0.0042", "$0.0042"),
        (8.8e-05, "$0.000088", "<$.0001"),  # a thread of small calls: plain decimals, never 8.8e-05
        (1.234e-06, "$0.0000012", "<$.0001"),
        (0.0, "$0", "$0"),
        (None, "unknown", "unknown"),
    ],
)
def test_usd_shows_small_costs_in_plain_decimals(value: float | None, shown: str, short: str) -> None:
    from ccbrowser.render import usd

    assert usd(value) == shown
    assert usd(value, short=True) == short
