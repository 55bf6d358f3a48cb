"""A database that cannot be used as it is: damaged mid-file, read-only, holding non-finite numbers.

Every command says what is wrong in one line (exit 1), never a traceback, and `sync`/`import`
never report success on a damaged file. JSON written by the CLI is strict (no NaN/Infinity).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ccbrowser.cli import main
from ccbrowser.emulator.corpus import Corpus

DAMAGED = "is damaged ("
REPAIR = ".recover"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def write_corpus(path: Path, count: int, seed: int = 3) -> list[str]:
    corpus = Corpus(count, seed=seed, now=1_790_000_000)
    ids = []
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            completion, inputs = corpus.pair(i)
            ids.append(completion["id"])
            fh.write(json.dumps({"completion": completion, "input_messages": inputs}) + "\n")
    return ids


def corrupt_middle(path: Path, fraction: float = 0.3) -> None:
    """Overwrite a run of bytes in the middle of the file, as a bad disk or a torn copy would."""
    size = path.stat().st_size
    length = int(size * fraction)
    with path.open("r+b") as fh:
        fh.seek((size - length) // 2)
        fh.write(bytes((i * 151 + 7) % 256 for i in range(length)))


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Path, list[str], Path]:
    src = tmp_path / "corpus.jsonl"
    ids = write_corpus(src, 200)
    db = tmp_path / "ccbrowser.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0  # all in the main file
    corrupt_middle(db)
    return db, ids, src


def one_damage_line(err: str, db: Path) -> bool:
    return err.count("\n") == 1 and f"{db} {DAMAGED}" in err and REPAIR in err and "Traceback" not in err


def test_every_command_names_a_damaged_database(
    damaged: tuple[Path, list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids, src = damaged
    for argv in (
        ["stats"],
        ["stats", "--json"],
        ["export", "--format", "jsonl"],
        ["export", "--format", "csv"],
        ["search", "--limit", "0", "--json", "the"],
        ["import", str(src)],
    ):
        assert main(["--db", str(db), *argv]) == 1, argv
        err = capsys.readouterr().err
        assert one_damage_line(err, db), (argv, err)
    # Reads of one completion touch a few pages: each either works or says the file is damaged.
    hit = 0
    for cid in ids[::4]:
        for argv in (["show", cid, "--json"], ["messages", cid], ["args", cid]):
            rc = main(["--db", str(db), *argv])
            err = capsys.readouterr().err
            assert rc in (0, 1) and "Traceback" not in err, (argv, err)
            if DAMAGED in err:
                assert rc == 1 and one_damage_line(err, db), err
                hit += 1
            elif rc == 1:
                assert "has no tool calls" in err or "no completion" in err, err
    assert hit > 0


def test_a_damaged_database_fails_in_a_subprocess_too(damaged: tuple[Path, list[str], Path]) -> None:
    db, _, _ = damaged
    for argv in (["stats"], ["export"], ["search", "--limit", "0", "the"]):
        res = run_cli("--db", str(db), *argv)
        assert res.returncode == 1 and one_damage_line(res.stderr, db), (argv, res.stderr)


def test_sync_does_not_report_success_on_a_damaged_database(damaged: tuple[Path, list[str], Path]) -> None:
    from ccbrowser.emulator.app import EmulatorOptions
    from ccbrowser.emulator.server import run_in_thread

    db, _, _ = damaged
    key = "emulator-key-0123456789"
    with run_in_thread(EmulatorOptions(count=50, seed=5, api_key=key)) as emu:
        env = {**os.environ, "OPENAI_API_KEY": key, "OPENAI_BASE_URL": emu.base_url}
        for extra in ([], ["--watch", "--interval", "1"]):  # --watch is refused before it starts
            res = subprocess.run(
                [sys.executable, "-m", "ccbrowser", "--db", str(db), "sync", *extra],
                capture_output=True,
                text=True,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
            assert res.returncode == 1 and one_damage_line(res.stderr, db), (extra, res.stderr)
            assert "synced" not in res.stderr


@pytest.fixture
def read_only() -> Iterator[Any]:
    """Makes a path read-only for the CLI, even when the tests run as root (where permission
    bits do not apply: then the path is made immutable with `chattr +i`)."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o500 if path.is_dir() else 0o400)
        elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("running as root without chattr: cannot make a path read-only")
        made.append(path)

    yield make
    for path in reversed(made):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o700 if path.is_dir() else 0o600)


@pytest.mark.parametrize(
    "file_ro,dir_ro,why",
    [
        (True, True, "the file is read-only"),
        (False, True, "its directory"),
        (True, False, "the file is read-only"),
    ],
)
def test_a_read_only_location_says_read_only(
    tmp_path: Path, read_only: Any, file_ro: bool, dir_ro: bool, why: str
) -> None:
    src = tmp_path / "c.jsonl"
    write_corpus(src, 20)
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "ccbrowser.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    if file_ro:
        read_only(db)
    if dir_ro:
        read_only(folder)
    res = run_cli("--db", str(db), "import", str(src))
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert "read-only" in res.stderr and why in res.stderr and "not a usable" not in res.stderr, res.stderr
    assert res.stderr.endswith("; ccbrowser needs to write the file and its directory\n"), res.stderr
    # Reading works wherever the file can be read, a read-only directory included.
    res = run_cli("--db", str(db), "stats", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["completions"] == 20, res.stderr


@pytest.fixture
def read_only_db(tmp_path: Path, read_only: Any) -> tuple[Path, list[str], Path]:
    """20 completions in a read-only file in a read-only directory, without -wal or -shm files."""
    src = tmp_path / "c.jsonl"
    ids = write_corpus(src, 20)
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "ccbrowser.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["ccbrowser.db"]  # checkpointed, closed
    read_only(db)
    read_only(folder)
    return db, ids, src


def test_a_read_only_database_serves_every_read(read_only_db: tuple[Path, list[str], Path]) -> None:
    db, ids, src = read_only_db
    before = db.read_bytes()
    reads: list[list[str]] = [
        ["stats", "--json"],
        ["search", "--limit", "0", "--json", "the"],
        ["show", ids[0]],
        ["messages", ids[0]],
        ["export"],
        ["prices", "--json"],
    ]
    for argv in reads:
        res = run_cli("--db", str(db), *argv)
        assert res.returncode == 0 and res.stdout and res.stderr == "", (argv, res.stderr)
    exported = [json.loads(line) for line in run_cli("--db", str(db), "export").stdout.splitlines()]
    assert len(exported) == 20
    # Writes refuse in one line that says read-only.
    for argv in (["import", str(src)], ["label", ids[0], "--star"]):
        res = run_cli("--db", str(db), *argv)
        assert res.returncode == 1 and res.stderr.count("\n") == 1, (argv, res.stderr)
        assert res.stderr.startswith("ccbrowser: ") and "read-only" in res.stderr, (argv, res.stderr)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["ccbrowser.db"]


def test_a_read_only_database_that_needs_a_migration_says_so(tmp_path: Path, read_only: Any) -> None:
    from ccbrowser.store.schema import SCHEMA_VERSION, migrate

    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "old.db"
    conn = sqlite3.connect(db)
    migrate(conn, target=SCHEMA_VERSION - 1)
    conn.close()
    read_only(db)
    read_only(folder)
    res = run_cli("--db", str(db), "stats")
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert "read-only and needs a schema upgrade" in res.stderr and "Traceback" not in res.stderr


async def test_the_tui_browses_a_read_only_database(read_only_db: tuple[Path, list[str], Path]) -> None:
    from test_tui_support import make_app

    db, ids, _ = read_only_db
    app = make_app(db)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_idle()
        assert len(app.completion_list.pks) == 20
        app.go_to_id(ids[3])
        await pilot.pause()
        await app.wait_idle()
        assert app.detail is not None and app.detail.row.id == ids[3]
        app.set_query("the")
        await pilot.pause()
        await app.wait_idle()
        assert 0 < len(app.completion_list.pks) <= 20
        await pilot.press("s")  # a write (star) says read-only in one line
        for _ in range(50):
            await pilot.pause(0.05)
            said = [str(n.message) for n in app._notifications]
            if said:
                break
        assert len(said) == 1 and "read-only" in said[0] and "\n" not in said[0], said


# -- strict JSON ----------------------------------------------------------------------------------


def reject_constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON constant {token}")


def strict_lines(text: str) -> list[Any]:
    return [json.loads(line, parse_constant=reject_constant) for line in text.splitlines() if line.strip()]


NON_FINITE_LINES = [
    # `1e999` is what a server that overflows a double sends; json.loads makes it inf.
    '{"id": "chatcmpl-inf", "object": "chat.completion", "created": 1700000001, "model": "gpt-4o",'
    ' "temperature": 1e999, "top_p": -1e999, "choices": [{"index": 0, "finish_reason": "stop",'
    ' "message": {"role": "assistant", "content": "infinite answer", "tool_calls": [{"id": "c1",'
    ' "type": "function", "function": {"name": "calc", "arguments": "{\\"x\\": NaN, \\"y\\": 1e999}"}}]}}],'
    ' "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}, "metadata": {}}',
    '{"completion": {"id": "chatcmpl-nan", "object": "chat.completion", "created": 1700000002,'
    ' "model": "gpt-4o", "seed": NaN, "choices": [{"index": 0, "finish_reason": "stop", "logprobs":'
    ' {"content": [{"token": "a", "logprob": -Infinity}]}, "message": {"role": "assistant", "content":'
    ' "not a number answer"}}], "metadata": {}}, "input_messages": [{"id": "m0", "role": "user",'
    ' "content": "answer", "weight": Infinity}]}',
]


@pytest.fixture
def non_finite_db(tmp_path: Path) -> Path:
    src = tmp_path / "nf.jsonl"
    src.write_text("\n".join(NON_FINITE_LINES) + "\n", encoding="utf-8")
    db = tmp_path / "nf.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    return db


def test_everything_written_is_strict_json(non_finite_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(non_finite_db)
    capsys.readouterr()
    outputs = {}
    for argv in (
        ["export", "--format", "jsonl"],
        ["search", "answer", "--json"],
        ["search", "answer", "--json", "--limit", "0"],
        ["show", "chatcmpl-inf", "--json"],
        ["show", "chatcmpl-nan", "--json"],
        ["messages", "chatcmpl-nan", "--json"],
        ["args", "chatcmpl-inf"],
        ["stats", "--json"],
    ):
        assert main(["--db", db, *argv]) == 0, argv
        out = capsys.readouterr().out
        outputs[" ".join(argv)] = out
        if argv[0] == "args":
            json.loads(out, parse_constant=reject_constant)  # pretty-printed: one document
        else:
            assert strict_lines(out), argv
    inf = json.loads(outputs["show chatcmpl-inf --json"])
    assert (inf["temperature"], inf["top_p"]) == ("1e999", "-1e999")  # the literal text, as sent
    nan = json.loads(outputs["show chatcmpl-nan --json"])
    assert nan["seed"] == "NaN" and nan["choices"][0]["logprobs"]["content"][0]["logprob"] == "-Infinity"
    assert json.loads(outputs["messages chatcmpl-nan --json"])[0]["weight"] == "Infinity"
    assert json.loads(outputs["args chatcmpl-inf"]) == {"x": "NaN", "y": "1e999"}
    assert len(strict_lines(outputs["export --format jsonl"])) == 2


def test_export_import_of_non_finite_numbers_is_lossless(
    non_finite_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.jsonl"
    assert main(["--db", str(non_finite_db), "export", "--output", str(first)]) == 0
    again = tmp_path / "again.db"
    assert main(["--db", str(again), "import", str(first)]) == 0
    second = tmp_path / "second.jsonl"
    assert main(["--db", str(again), "export", "--output", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    capsys.readouterr()
    for cid in ("chatcmpl-inf", "chatcmpl-nan"):
        shown = []
        for db in (non_finite_db, again):
            assert main(["--db", str(db), "show", cid, "--json"]) == 0
            shown.append(capsys.readouterr().out)
        assert shown[0] == shown[1]
