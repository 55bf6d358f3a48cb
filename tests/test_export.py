"""`ccbrowser export`: exactly the matching completions; jsonl round-trips through `import`."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hostile import hostile_records
from test_search_corpus import SHARED_COUNT, build

from ccbrowser.cli import main
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Writer


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    conn = build(path)
    try:
        Writer(conn).write(hostile_records())
    finally:
        conn.close()
    return path


def _ids(conn_path: Path) -> list[str]:
    conn = open_db(conn_path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM completions ORDER BY id")]
    finally:
        conn.close()


def _show(db: Path, cid: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["show", "--db", str(db), cid, "--json"]) == 0
    return capsys.readouterr().out


def _messages(db: Path, cid: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["messages", "--db", str(db), cid, "--json"]) == 0
    return capsys.readouterr().out


def test_jsonl_round_trip_through_import(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "all.jsonl"
    assert main(["export", "--db", str(db), "--format", "jsonl", "--output", str(out)]) == 0
    capsys.readouterr()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    ids = _ids(db)
    assert len(lines) == len(ids)
    for line in lines:
        row = json.loads(line)
        assert set(row) == {"completion", "input_messages", "cost_usd"}
    new = tmp_path / "new.db"
    assert main(["import", "--db", str(new), str(out)]) in (0, 1)
    capsys.readouterr()
    assert _ids(new) == ids
    for cid in ids:
        assert json.loads(_show(new, cid, capsys)) == json.loads(_show(db, cid, capsys)), cid
        assert _show(new, cid, capsys) == _show(db, cid, capsys), cid
        assert json.loads(_messages(new, cid, capsys)) == json.loads(_messages(db, cid, capsys)), cid


def test_exactly_the_matching_completions(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--db", str(db), "invoices", "--format", "jsonl"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["completion"]["id"] for r in rows] == [
        f"chatcmpl-shared{i:02d}" for i in range(SHARED_COUNT)
    ]  # oldest first
    assert rows[0]["input_messages"][0]["role"] == "system"
    assert main(["export", "--db", str(db), "tokens:nope"]) == 2


def test_csv(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--db", str(db), "tool:refund_order OR creme", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in rows] == ["chatcmpl-creme", "chatcmpl-tool"]
    tool = rows[1]
    assert tool["tool_calls"] == "refund_order;notify_customer"
    assert tool["total_tokens"] == "5000" and tool["model"] == "gpt-4.1"
    assert json.loads(tool["metadata"]) == {"env": "prod", "user": "user_77"}
    assert rows[0]["output"] == "Voici la recette de la Crème brûlée."
    assert rows[0]["last_user_message"].startswith("Pouvez-vous")


def test_markdown_is_readable_and_safe(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--db", str(db), "crimson OR creme", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "## chatcmpl-creme" in out and "## chatcmpl-hostile" in out
    assert "Pouvez-vous me donner" in out and "Voici la recette" in out
    assert "\x1b" not in out


def _reply(cid: str, content: str) -> dict[str, object]:
    return {
        "id": cid,
        "created": 1_780_000_000,
        "model": None,
        "choices": [
            {"index": 0, "finish_reason": None, "message": {"role": "assistant", "content": content}}
        ],
    }


def test_markdown_keeps_code_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = "Here:\n```python\nprint('`x`')\n```\nand ````four```` too"
    path = tmp_path / "md.db"
    conn = open_db(path)
    Writer(conn).write([_reply("c-code", code)])
    conn.close()
    assert main(["export", "--db", str(path), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert code in out and "\u200b" not in out and "None" not in out
    fence = "`````"  # longer than the longest run inside: the reply's own fences cannot close it
    assert f"\n{fence}text\n" in out and out.rstrip().endswith(fence)


def test_output_suffix_sets_the_format_and_a_mismatch_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = tmp_path / "out.md"
    assert main(["export", "--db", str(db), "creme", "-o", str(md)]) == 0
    assert md.read_text().startswith("## chatcmpl-creme")
    csv_file = tmp_path / "out.CSV"
    assert main(["export", "--db", str(db), "creme", "-o", str(csv_file)]) == 0
    assert csv_file.read_text().startswith("id,created")
    capsys.readouterr()
    assert main(["export", "--db", str(db), "creme", "--format", "jsonl", "-o", str(tmp_path / "x.md")]) == 2
    assert capsys.readouterr().err.startswith("ccbrowser: --output ")
    assert not (tmp_path / "x.md").exists()
    other = tmp_path / "out.txt"
    assert main(["export", "--db", str(db), "creme", "-o", str(other)]) == 0
    assert json.loads(other.read_text().splitlines()[0])["completion"]["id"] == "chatcmpl-creme"


def test_an_existing_file_is_replaced_only_with_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("precious\n")
    assert main(["export", "--db", str(db), "creme", "-o", str(out)]) == 1
    assert capsys.readouterr().err == f"ccbrowser: {out} already exists: use --force to replace it\n"
    assert out.read_text() == "precious\n"
    assert main(["export", "--db", str(db), "creme", "-o", str(out), "--force"]) == 0
    assert "chatcmpl-creme" in out.read_text()


def _failing_midway(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    """The second chunk's query fails: the first is already written to the output."""
    from ccbrowser.store import reader

    real = reader.export_rows
    calls = 0

    def export_rows(conn: object, pks: list[int]) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise exc
        return real(conn, pks)  # type: ignore[arg-type]

    monkeypatch.setattr("ccbrowser.commands.export.CHUNK", 2)
    monkeypatch.setattr(reader, "export_rows", export_rows)


@pytest.mark.parametrize(
    ("exc", "rc"),
    [(sqlite3.OperationalError("database is locked"), 1), (KeyboardInterrupt(), 130)],
    ids=["query-error", "ctrl-c"],
)
def test_an_export_that_fails_midway_leaves_no_file_and_keeps_the_old_one(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    rc: int,
) -> None:
    _failing_midway(monkeypatch, exc)
    new = tmp_path / "new.jsonl"
    assert main(["export", "--db", str(db), "-o", str(new)]) == rc
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ccbrowser: ") and "Traceback" not in err
    assert not [p.name for p in tmp_path.iterdir() if "jsonl" in p.name]  # no new.jsonl, no temporary file
    good = tmp_path / "good.jsonl"
    good.write_text("precious\n")
    _failing_midway(monkeypatch, exc)
    assert main(["export", "--db", str(db), "-o", str(good), "--force"]) == rc
    capsys.readouterr()
    assert good.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if "jsonl" in p.name] == ["good.jsonl"]


def test_export_replaces_through_a_symlink_and_writes_to_a_device(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert main(["export", "--db", str(db), "creme", "-o", str(link), "--force"]) == 0
    assert link.is_symlink() and "chatcmpl-creme" in real.read_text()
    assert main(["export", "--db", str(db), "creme", "-o", os.devnull]) == 0
    assert Path(os.devnull).is_char_device()
    assert main(["export", "--db", str(db), "creme", "-o", str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith(f"ccbrowser: cannot write {tmp_path}: it is a directory\n")
