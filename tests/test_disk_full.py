"""A full disk: `sync` and `import` say "disk full" in one line and leave no 0-byte database behind
(a later run would take it for a damaged file); what was committed before the disk filled stays.

The disk is a small tmpfs mounted for the test (root only: skipped where mounting is refused).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import run_in_thread

KEY = "emulator-key-0123456789"


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: a few hundred completions (an empty database takes about 1 MB: 16 KB pages)."""
    where = tmp_path / "disk"
    mount_tmpfs(where, "4m")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: full
    finally:
        os.close(fd)


def run(db: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", "--db", str(db), *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def one_disk_full_line(res: subprocess.CompletedProcess[str]) -> bool:
    return (
        res.returncode == 1
        and res.stderr.count("\n") == 1
        and res.stderr.startswith("ccbrowser: disk full: ")
        and "not a usable" not in res.stderr
    )


@pytest.mark.slow
def test_creating_a_database_on_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    fill(small_disk)
    db = small_disk / "ccbrowser.db"
    src = tmp_path / "in.jsonl"
    row = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_767_000_000,
        "model": "gpt-4o",
        "choices": [],
    }
    src.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with run_in_thread(EmulatorOptions(count=20, seed=5, api_key=KEY)) as emu:
        env = {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": emu.base_url}
        for _ in range(2):  # the second run meets what the first left: nothing
            res = run(db, "sync", env=env)
            assert one_disk_full_line(res), res.stderr
            assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    res = run(db, "import", str(src))
    assert one_disk_full_line(res), res.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    db.touch()  # an empty file someone made is a new database, on a full disk too
    res = run(db, "import", str(src))
    assert one_disk_full_line(res), res.stderr


@pytest.mark.slow
def test_a_sync_that_fills_the_disk_keeps_what_it_committed(small_disk: Path) -> None:
    db = small_disk / "ccbrowser.db"
    with run_in_thread(EmulatorOptions(count=3000, seed=5, api_key=KEY)) as emu:
        env = {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": emu.base_url}
        res = run(db, "sync", env=env)
    assert one_disk_full_line(res), res.stderr
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert 0 < conn.execute("SELECT count(*) FROM completions").fetchone()[0] < 3000
    finally:
        conn.close()


@pytest.mark.slow
def test_an_export_that_fills_the_disk_keeps_the_old_file(small_disk: Path, tmp_path: Path) -> None:
    db = tmp_path / "ccbrowser.db"
    with run_in_thread(EmulatorOptions(count=20, seed=5, api_key=KEY)) as emu:
        env = {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": emu.base_url}
        assert run(db, "sync", env=env).returncode == 0
    out = small_disk / "all.jsonl"
    assert run(db, "export", "-o", str(out)).returncode == 0
    good = out.read_bytes()
    fill(small_disk)
    res = run(db, "export", "-o", str(out), "--force")
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr == f"ccbrowser: disk full: cannot write {out}; {out} is unchanged\n"
    assert out.read_bytes() == good
    assert sorted(p.name for p in small_disk.iterdir()) == ["all.jsonl", "filler"]
    os.unlink(small_disk / "filler")
    fill(small_disk)
    res = run(db, "export", "-o", str(small_disk / "new.jsonl"))
    assert res.stderr == f"ccbrowser: disk full: cannot write {small_disk / 'new.jsonl'}\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["all.jsonl", "filler"]
