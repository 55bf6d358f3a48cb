"""What a user can get wrong, and hostile data on the CLI: one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import hostile_records

from ccbrowser.cli import main


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def completion(cid: str, created: int, text: str, tool: str | None = None) -> dict:
    message: dict = {"role": "assistant", "content": text}
    if tool:
        message["tool_calls"] = [
            {"id": "c", "type": "function", "function": {"name": tool, "arguments": "{}"}}
        ]
    return {
        "id": cid,
        "created": created,
        "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
    }


@pytest.fixture
def small_db(tmp_path: Path, db_path: Path) -> Path:
    src = tmp_path / "s.jsonl"
    rows = [
        completion("c-1", 1_700_000_001, "your order was refunded"),
        completion("c-2", 1_700_000_002, "your order has shipped", tool="track_order"),
        completion("c-3", 1_700_000_003, "hello there"),
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["--db", str(db_path), "import", str(src)]) == 0
    return db_path


def ids(out: str) -> list[str]:
    return sorted(json.loads(line)["id"] for line in out.splitlines() if line.strip())


def test_negated_words_are_query_terms_not_options(
    small_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(small_db), "search", "order", "-refunded", "--json"]) == 0
    assert ids(capsys.readouterr().out) == ["c-2"]
    assert main(["--db", str(small_db), "search", "-has:tools", "--json", "--sort", "newest"]) == 0
    assert ids(capsys.readouterr().out) == ["c-1", "c-3"]
    assert main(["--db", str(small_db), "export", "-has:tools", "--format", "jsonl"]) == 0
    assert [json.loads(x)["completion"]["id"] for x in capsys.readouterr().out.splitlines()] == ["c-1", "c-3"]
    # Real options still work next to negations, and a bad option value is still a usage error.
    assert main(["--db", str(small_db), "search", "--limit", "1", "-hello", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(small_db), "search", "x", "--sort", "sideways"])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", [["search"], ["export"], ["view", "save", "v"]])
def test_an_unknown_double_dash_option_is_refused_not_searched(small_db: Path, command: list[str]) -> None:
    res = run_cli("--db", str(small_db), *command, "order", "--bogus")
    assert res.returncode == 2 and res.stdout == ""
    assert "unrecognized arguments: --bogus" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("--db", str(small_db), "search", "order", "--lim", "1", "--json")  # an abbreviation
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 1


def test_exports_survive_hostile_data(tmp_path: Path, db_path: Path) -> None:
    src = tmp_path / "h.jsonl"
    with src.open("w") as f:
        for obj, inputs in hostile_records():
            if obj["id"] == "chatcmpl-big":
                continue
            obj = {**obj, "model": "gpt-4o\x1b]0;pwned\x07"} if obj["id"] == "chatcmpl-markup" else obj
            f.write(json.dumps({"completion": obj, "input_messages": inputs}, ensure_ascii=True) + "\n")
    assert run_cli("--db", str(db_path), "import", str(src)).returncode == 0
    for fmt in ("csv", "md", "jsonl"):
        res = run_cli("--db", str(db_path), "export", "--format", fmt)
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        if fmt != "csv":
            assert "\x1b" not in res.stdout and "\x07" not in res.stdout, fmt
    out = tmp_path / "out.csv"
    res = run_cli("--db", str(db_path), "export", "--format", "csv", "--output", str(out))
    assert res.returncode == 0 and "\ufffd" in out.read_text(encoding="utf-8")


def test_database_paths_that_cannot_work(tmp_path: Path) -> None:
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(completion("c-1", 1, "x")) + "\n")
    afile = tmp_path / "afile"
    afile.write_text("")
    for db, words in (
        (afile / "x.db", "is not a directory"),
        (tmp_path / "missing-dir" / "x.db", "no directory"),
        (tmp_path, "is a directory"),
    ):
        res = run_cli("--db", str(db), "import", str(src))
        assert res.returncode == 1 and words in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "missing-dir").exists()


def test_a_file_that_is_not_json_lines_is_refused_and_not_stored(tmp_path: Path, db_path: Path) -> None:
    secrets = tmp_path / ".env"
    secrets.write_text("".join(f"SECRET_{i}=hunter{i}\n" for i in range(30)))
    res = run_cli("--db", str(db_path), "import", str(secrets))
    assert res.returncode == 1 and "does not look like JSON Lines" in res.stderr
    assert b"hunter" not in b"".join(p.read_bytes() for p in tmp_path.glob("ccbrowser.db*"))


def test_the_tui_refuses_to_run_without_a_terminal(db_path: Path) -> None:
    res = run_cli("--db", str(db_path), "tui", stdin="")
    assert res.returncode == 2 and "needs a terminal" in res.stderr


@pytest.mark.parametrize(
    "args,words",
    [
        (["stats", "--days", "0"], "--days: must be >= 1, got 0"),
        (["stats", "--days", "x"], "--days: not an integer: 'x'"),
        (["emulator", "--error-rate", "2"], "--error-rate: must be between 0 and 1, got 2"),
        (["emulator", "--count", "-1"], "--count: must be >= 0, got -1"),
        (["emulator", "--rate-limit-rps", "0"], "--rate-limit-rps: must be > 0, got 0"),
    ],
)
def test_bad_numbers_are_one_line_usage_errors(args: list[str], words: str) -> None:
    res = run_cli(*args)
    assert res.returncode == 2 and words in res.stderr and res.stderr.count("\n") == 1, res.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_demo_leaves_no_temporary_database(tmp_path: Path, signum: int) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    stale = tmp_path / "ccbrowser-demo-stale"  # one a SIGKILL left behind: its process is gone
    stale.mkdir()
    (stale / "pid").write_text("999999999")
    (stale / "demo.db").write_text("x")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccbrowser", "demo", "--no-tui", "--count", "20000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("ccbrowser-demo-*/demo.db-wal")) and time.monotonic() < deadline:
        time.sleep(0.05)  # syncing: the demo database is being written
    assert not stale.exists()
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(tmp_path.glob("ccbrowser-demo-*")) == []


def test_demo_and_emulator_offer_no_db(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "mine.db", "demo", "--no-tui"]) == 2
    assert "demo uses no --db" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["demo", "--db", "mine.db"])
    assert info.value.code == 2
    assert not Path("mine.db").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "argv",
    [["search", "order"], ["show", "c-1"], ["show", "c-1", "--json"], ["stats", "--json"], ["export"]],
)
def test_output_that_cannot_be_written_is_one_line_not_a_traceback(small_db: Path, argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "ccbrowser", "--db", str(small_db), *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.strip().splitlines() == ["ccbrowser: cannot write the output: No space left on device"]


def test_a_limit_beyond_any_database_is_a_usage_error(small_db: Path) -> None:
    done = run_cli("--db", str(small_db), "search", "order", "--limit", "99999999999999999999")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--limit: must be between 0 and 1,000,000,000" in done.stderr
