"""`ccbrowser search`: JSON Lines, human lines, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_search_corpus import build

from ccbrowser.cli import main
from ccbrowser.commands.search import render_snippet
from ccbrowser.search import MARK_END, MARK_START


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    build(path).close()
    return path


def test_json_lines(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "A-8812", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert {r["id"] for r in rows} == {"chatcmpl-ids", "chatcmpl-tool"}
    for r in rows:
        assert {
            "id",
            "created",
            "model",
            "snippet",
            "score",
            "finish_reason",
            "total_tokens",
            "tool_calls",
        } <= set(r)
        assert "A-8812" in r["snippet"] and MARK_START not in r["snippet"]
    tool = next(r for r in rows if r["id"] == "chatcmpl-tool")
    assert tool["tool_calls"] == ["refund_order", "notify_customer"]
    assert tool["finish_reason"] == "tool_calls" and tool["total_tokens"] == 5000


def test_words_are_joined_and_limit_sort(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "creme", "brulee", "--json"]) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == ["chatcmpl-creme"]
    assert main(["search", "--db", str(db), "invoices", "--sort", "oldest", "--limit", "2", "--json"]) == 0
    got = [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()]
    assert got == ["chatcmpl-shared00", "chatcmpl-shared01"]
    assert main(["search", "--db", str(db), "invoices", "--limit", "0", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 30


def test_human_lines_are_safe_and_plain_when_piped(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "crimson"]) == 0
    out = capsys.readouterr().out
    assert "chatcmpl-hostile" in out and "\x1b" not in out and MARK_START not in out
    assert out.count("\n") == 1


def test_highlight_on_a_terminal_only() -> None:
    snippet = f"a {MARK_START}b{MARK_END} c"
    assert render_snippet(snippet, color=False) == "a b c"
    assert render_snippet(snippet, color=True) == "a \x1b[1;7mb\x1b[0m c"


def test_exit_codes(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "tokens:lots"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "ccbrowser: `tokens:` needs a number like tokens:>1000, tokens:<=50 or tokens:100..500 (got 'lots')"
    )
    assert main(["search", "--db", str(tmp_path / "none.db"), "x"]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    assert main(["search", "--db", str(db), "nothing-like-this"]) == 0
    assert capsys.readouterr().out == ""


def test_hints_go_to_stderr(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "foo:bar", "--json"]) == 0
    captured = capsys.readouterr()
    assert "unknown field `foo:`" in captured.err and captured.out == ""


def test_no_hits_are_said_on_stderr(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "zzyzx-nowhere"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == "ccbrowser: no matches for zzyzx-nowhere\n"
    assert main(["search", "--db", str(db), "zzyzx-nowhere", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no matches for zzyzx-nowhere" in err


def test_a_query_without_searchable_words_matches_nothing(db: Path) -> None:
    """An emoji-only query: no output, a note that says why, exit 0 (a search with no hits)."""
    import subprocess
    import sys

    for text in ("🎉", "'", "🎉 🚀"):
        res = subprocess.run(
            [sys.executable, "-m", "ccbrowser", "search", "--db", str(db), text, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (res.returncode, res.stdout) == (0, "")
        assert f"ccbrowser: note: no searchable words in {text.split()[0]!r}" in res.stderr
        assert "Traceback" not in res.stderr


def test_numbers_past_sqlite_integers_mean_the_largest_not_a_traceback(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bound no stored value can reach compares as the largest 64-bit integer: `>` matches
    nothing, `<` everything; an option past its range is a usage error (exit 2)."""
    huge = "9" * 25
    for query in (f"tokens:>{huge}", f"turns:{huge}"):
        assert main(["search", "--db", str(db), query, "--json"]) == 0
        out, err = capsys.readouterr()
        assert out == "" and "no matches" in err and "Error" not in err
    every = main(["search", "--db", str(db), "tokens:>=0", "--json"])
    all_ids = {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()}
    for query in (f"tokens:<{huge}", f"tokens:0..{huge}", f"since:{huge}d"):
        assert main(["search", "--db", str(db), query, "--json"]) == every == 0
        assert {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()} == all_ids
    with pytest.raises(SystemExit) as exc:
        main(["stats", "--db", str(db), "--days", huge])
    assert exc.value.code == 2 and "must be <= 1,000,000,000" in capsys.readouterr().err
