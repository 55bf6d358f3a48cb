"""The pure comparison (`ccbrowser.compare`) and `ccbrowser diff` as a script runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ccbrowser import compare
from ccbrowser.compare import Piece, Side


def completion(
    cid: str,
    answer: str,
    *,
    model: str = "gpt-4o-mini",
    temperature: float = 0.2,
    choices: list[str] | None = None,
) -> dict[str, Any]:
    texts = choices if choices is not None else [answer]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": 1_767_000_000,
        "model": model,
        "temperature": temperature,
        "choices": [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": t}}
            for i, t in enumerate(texts)
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


SYSTEM = {"role": "system", "content": "You are a terse assistant.\nAnswer in one line."}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_word_diff_marks_only_the_changed_words() -> None:
    pieces = compare.word_diff("the quick brown fox", "the slow brown fox")
    assert pieces == (
        Piece("equal", "the "),
        Piece("delete", "quick"),
        Piece("insert", "slow"),
        Piece("equal", " brown fox"),
    )
    left = "".join(p.text for p in pieces if p.op != "insert")
    right = "".join(p.text for p in pieces if p.op != "delete")
    assert (left, right) == ("the quick brown fox", "the slow brown fox")


def test_word_diff_of_huge_texts_is_bounded() -> None:
    """Untrusted texts: past the word limit it diffs lines, and stays fast on adversarial input."""
    a = " ".join(f"w{i}" for i in range(50_000))
    b = " ".join(f"w{i}" for i in reversed(range(50_000)))
    start = time.perf_counter()
    pieces = compare.word_diff(a, b)
    assert time.perf_counter() - start < 5
    assert "".join(p.text for p in pieces if p.op != "insert") == a
    assert "".join(p.text for p in pieces if p.op != "delete") == b


def test_inputs_show_only_what_differs() -> None:
    a = Side("A", completion("a", "Paris."), [SYSTEM, user("Capital of France?"), user("Thanks")])
    b = Side("B", completion("b", "Paris."), [SYSTEM, user("Capital of Italy?"), user("Thanks")])
    cmp = compare.compare(a, b)
    assert [m.status for m in cmp.inputs] == ["same", "changed", "same"]
    changed = cmp.inputs[1]
    assert ("delete", "France") in [(p.op, p.text) for p in changed.pieces]
    assert ("insert", "Italy") in [(p.op, p.text) for p in changed.pieces]
    assert [m.status for m in cmp.outputs] == ["same"]
    assert not cmp.same


def test_added_and_removed_messages_are_aligned() -> None:
    a = Side("A", completion("a", "x"), [SYSTEM, user("one"), user("two")])
    b = Side("B", completion("b", "x"), [SYSTEM, user("two"), user("three")])
    statuses = [(m.status, m.left_index, m.right_index) for m in compare.compare(a, b).inputs]
    assert statuses == [("same", 0, 0), ("removed", 1, None), ("same", 2, 1), ("added", None, 2)]


def test_fields_parameters_usage_and_cost() -> None:
    a = Side("A", completion("a", "x", model="gpt-4o", temperature=0.2), [], cost=0.0012)
    b = Side("B", completion("b", "x", model="gpt-4o-mini", temperature=0.9), [], cost=0.0003)
    fields = {(f.group, f.name): f for f in compare.compare(a, b).fields}
    assert not fields["completion", "model"].same
    assert (fields["parameters", "temperature"].left, fields["parameters", "temperature"].right) == (
        "0.2",
        "0.9",
    )
    assert fields["usage", "total_tokens"].same and fields["usage", "total_tokens"].left == "25"
    assert fields["usage", "cost"].left == "$0.001200"
    assert not fields["completion", "id"].same  # shown, but not a difference:
    same = compare.compare(Side("A", completion("a", "x")), Side("B", completion("b", "x")))
    assert same.same


def test_choices_of_one_completion_against_each_other() -> None:
    side = Side("c", completion("c", "", choices=["red apple", "green apple", "red apple"]))
    first, second = compare.compare_choices(side)
    assert first.outputs[0].status == "changed"
    assert ("insert", "green") in [(p.op, p.text) for p in first.outputs[0].pieces]
    assert second.same and second.right == "c choice 2"


def test_unified_is_empty_when_only_ids_differ_and_shows_changes_otherwise() -> None:
    a = Side("chatcmpl-a", completion("chatcmpl-a", "Paris."), [user("Capital of France?")])
    same = Side("chatcmpl-b", completion("chatcmpl-b", "Paris."), [user("Capital of France?")])
    assert compare.unified(a, same) == ""
    other = Side("chatcmpl-c", completion("chatcmpl-c", "Rome."), [user("Capital of Italy?")])
    text = compare.unified(a, other)
    assert text.startswith("--- chatcmpl-a\n+++ chatcmpl-c\n")
    assert "-Capital of France?\n" in text and "+Capital of Italy?\n" in text
    assert "-Paris.\n" in text and "+Rome.\n" in text


def test_control_sequences_in_the_diff_are_visible() -> None:
    a = Side("a", completion("a", "plain"))
    b = Side("b", completion("b", "\x1b]52;c;ZXZpbA==\x07red"))
    text = compare.unified(a, b)
    assert "\x1b" not in text and "\x07" not in text and "␛" in text


# -- the command ------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def diff_db(tmp_path: Path, db_path: Path) -> Path:
    rows = [
        {
            "completion": completion("chatcmpl-aaaa1", "Paris."),
            "input_messages": [user("Capital of France?")],
        },
        {
            "completion": completion("chatcmpl-bbbb2", "Paris."),
            "input_messages": [user("Capital of France?")],
        },
        {"completion": completion("chatcmpl-cccc3", "Rome."), "input_messages": [user("Capital of Italy?")]},
        {"completion": completion("chatcmpl-dddd4", "", choices=["yes", "no"]), "input_messages": []},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert run_cli("--db", str(db_path), "import", str(src)).returncode == 0
    return db_path


def test_diff_exit_codes_like_diff(diff_db: Path) -> None:
    db = ["--db", str(diff_db)]
    same = run_cli(*db, "diff", "chatcmpl-aaaa", "chatcmpl-bbbb")  # prefixes, as elsewhere
    assert (same.returncode, same.stdout) == (0, "")
    different = run_cli(*db, "diff", "chatcmpl-aaaa1", "chatcmpl-cccc3")
    assert different.returncode == 1
    assert "--- chatcmpl-aaaa1" in different.stdout and "+Rome." in different.stdout
    missing = run_cli(*db, "diff", "chatcmpl-aaaa1", "chatcmpl-nope")
    assert missing.returncode == 2
    assert missing.stderr.startswith("ccbrowser: ") and "Traceback" not in missing.stderr
    ambiguous = run_cli(*db, "diff", "chatcmpl", "chatcmpl-aaaa1")
    assert ambiguous.returncode == 2 and len(ambiguous.stderr.strip().splitlines()) == 1


def test_diff_json_and_choices(diff_db: Path) -> None:
    db = ["--db", str(diff_db)]
    res = run_cli(*db, "diff", "chatcmpl-aaaa1", "chatcmpl-cccc3", "--json")
    assert res.returncode == 1
    data = json.loads(res.stdout)
    assert data["same"] is False and data["left"] == "chatcmpl-aaaa1"
    assert [m["status"] for m in data["inputs"]] == ["changed"]
    cost = next(f for f in data["fields"] if (f["group"], f["name"]) == ("usage", "cost"))
    assert cost["left"].startswith("$0.") and cost["same"]  # the store's estimate, same model and tokens
    assert res.stdout.count("\n") == 1  # JSON Lines: one comparison, one line
    lines = run_cli(*db, "diff", "chatcmpl-dddd4", "--json").stdout.splitlines()
    assert len(lines) >= 1 and all(json.loads(line)["left"] for line in lines)
    choices = run_cli(*db, "diff", "chatcmpl-dddd4")
    assert choices.returncode == 1 and "-yes" in choices.stdout and "+no" in choices.stdout
    single = run_cli(*db, "diff", "chatcmpl-aaaa1")
    assert single.returncode == 2 and "one choice" in single.stderr
