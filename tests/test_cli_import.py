"""`import`, `show`, `messages` as a user drives them: exit codes and one-line errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ccbrowser.cli import main


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def good(i: int) -> str:
    return json.dumps({"id": f"chatcmpl-{i}", "created": 1_700_000_000 + i, "model": "gpt-4o", "choices": []})


def test_malformed_lines_are_reported_by_number_and_the_rest_imported(tmp_path: Path, db_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([good(1), "{not json", good(2), "[1, 2]", "", good(3)]) + "\n", encoding="utf-8")
    res = run_cli("--db", str(db_path), "import", str(src))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert f"{src}:2: invalid JSON" in res.stderr
    assert f"{src}:4: not a completion object" in res.stderr
    assert "imported 3 completions" in res.stderr
    for i in (1, 2, 3):
        assert run_cli("--db", str(db_path), "show", f"chatcmpl-{i}", "--json").returncode == 0
    import sqlite3

    rejects = sqlite3.connect(db_path).execute("SELECT source, raw FROM rejects ORDER BY id").fetchall()
    assert any(raw == "{not json" for _, raw in rejects)


def test_missing_file_and_missing_id_are_one_line_errors(tmp_path: Path, db_path: Path) -> None:
    res = run_cli("--db", str(db_path), "import", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "no such file" in res.stderr
    res = run_cli("--db", str(db_path), "show", "chatcmpl-x")
    assert res.returncode == 1 and "no database" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "one.jsonl").write_text(good(1) + "\n")
    run_cli("--db", str(db_path), "import", str(tmp_path / "one.jsonl"))
    res = run_cli("--db", str(db_path), "show", "chatcmpl-404")
    assert (
        res.returncode == 1
        and res.stderr.strip() == "ccbrowser: no completion 'chatcmpl-404' in the local database"
    )


def test_usage_errors_exit_2(db_path: Path) -> None:
    res = run_cli("--db", str(db_path), "show")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = run_cli("--no-such-flag")
    assert res.returncode == 2


def test_import_from_stdin_and_unique_prefix(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = run_cli("--db", str(db_path), "import", "-", stdin=good(12345) + "\n")
    assert res.returncode == 0, res.stderr
    assert main(["--db", str(db_path), "show", "chatcmpl-123", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "chatcmpl-12345"


def test_env_var_selects_the_database(db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_text(good(7) + "\n")
    monkeypatch.setenv("CCBROWSER_DB", str(db_path))
    assert main(["import", str(tmp_path / "one.jsonl")]) == 0
    assert db_path.exists()


def test_import_rejects_what_sync_rejects(tmp_path: Path, db_path: Path) -> None:
    """The same schema as sync's (api.models.ListedCompletion): into `rejects`, with the reason."""
    base = {"object": "chat.completion", "model": "gpt-4o", "choices": []}
    lines = [
        {**base, "id": "chatcmpl-ok", "created": 1_700_000_000},
        {**base, "id": "chatcmpl-huge", "created": 2**70},
        {**base, "id": "..", "created": 1},
        {**base, "id": "chatcmpl-\x1b[2J", "created": 1},
    ]
    src = tmp_path / "r.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    res = run_cli("--db", str(db_path), "import", str(src))
    assert res.returncode == 1 and "imported 1 completion (1 new)" in res.stderr, res.stderr
    for n in (2, 3, 4):
        assert f"{src}:{n}: not a completion object (" in res.stderr
    conn = sqlite3.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT id FROM completions")] == ["chatcmpl-ok"]
    rejected = conn.execute("SELECT source, error FROM rejects ORDER BY source").fetchall()
    assert [s for s, _ in rejected] == ["import line 2", "import line 3", "import line 4"]
    assert all(err.startswith("not a completion object (") for _, err in rejected)


def test_an_object_without_created_or_choices_is_rejected_not_imported(tmp_path: Path, db_path: Path) -> None:
    """A file's object with no `created` or `choices` is not a stored completion (a request body,
    a message): it goes to `rejects`, where a sync's odd list item would be accepted."""
    lines = [
        {"id": "chatcmpl-bare", "model": "gpt-4o"},
        {"id": "chatcmpl-nochoices", "created": 1_700_000_000, "model": "gpt-4o"},
        {"id": "chatcmpl-nocreated", "model": "gpt-4o", "choices": []},
        json.loads(good(7)),
    ]
    src = tmp_path / "partial.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    res = run_cli("--db", str(db_path), "import", str(src))
    assert res.returncode == 1, res.stderr
    assert (
        f"{src}:1: not a completion object (completion chatcmpl-bare: no `created` and no `choices`)"
        in res.stderr
    )
    assert f"{src}:2: not a completion object (completion chatcmpl-nochoices: no `choices`)" in res.stderr
    assert f"{src}:3: not a completion object (completion chatcmpl-nocreated: no `created`)" in res.stderr
    assert "imported 1 completion (1 new), 0 messages; 3 bad lines skipped" in res.stderr
    conn = sqlite3.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT id FROM completions")] == ["chatcmpl-7"]
    assert conn.execute("SELECT count(*) FROM rejects").fetchone()[0] == 3
