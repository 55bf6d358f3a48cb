"""`ccbrowser sync` as a user runs it: a real subprocess, SIGKILL at random moments, Ctrl-C, bad keys."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import KEY, NOW, integrity, local

from ccbrowser.emulator.app import EmulatorOptions, EmulatorState
from ccbrowser.emulator.corpus import store_messages
from ccbrowser.emulator.faults import FaultOptions
from ccbrowser.emulator.server import RunningEmulator, run_in_thread
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import load_checkpoint


def run_cli(*args: str, key: str | None = KEY, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccbrowser", *args],
        env=_env(key),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, key: str | None = KEY) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ccbrowser", *args],
        env=_env(key),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env(key: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    if key is not None:
        env["OPENAI_API_KEY"] = key
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    return env


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def slow_emulator() -> Iterator[RunningEmulator]:
    """Small corpus, 10 ms per request: a sync lasts long enough to be killed in the middle."""
    opts = EmulatorOptions(count=600, seed=17, now=NOW, api_key=KEY, faults=FaultOptions(latency_ms=10))
    with run_in_thread(opts) as emu:
        yield emu


def _dump(db: Path) -> dict[str, Any]:
    return local(db)


def _assert_checkpoint_consistent(db: Path, state: EmulatorState) -> None:
    """No loss at the kill point: everything from the top down to the backfill cursor is stored,
    and a completion's input messages are either all there ('ok') or not fetched (NULL)."""
    conn = open_db(db)
    try:
        checkpoint = load_checkpoint(conn, "default")
        stored = {r[0]: r[1] for r in conn.execute("SELECT id, messages_state FROM completions")}
    finally:
        conn.close()
    newest_first = list(reversed(state.snapshot_ids()))
    if checkpoint and checkpoint.after:
        cursor = newest_first.index(checkpoint.after)
        missing = [cid for cid in newest_first[: cursor + 1] if cid not in stored]
        assert not missing, f"{len(missing)} completions lost before the checkpoint"
    if checkpoint and checkpoint.done:
        assert set(newest_first) <= set(stored)
    assert set(stored.values()) <= {"ok", None}
    mine = local(db)
    for cid, (_raw, inputs, mstate, _removed) in mine.items():
        if mstate == "ok":
            assert inputs == store_messages(cid, state.get(cid)[1]), cid


def _count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM completions").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_a_clean_sync(
    slow_emulator: RunningEmulator, tmp_path: Path
) -> None:
    url = slow_emulator.base_url
    clean = tmp_path / "clean.db"
    # The clean run also measures when the listing happens, so that kills can aim at both phases.
    t0 = time.monotonic()
    proc = start_cli("sync", "--db", str(clean), "--base-url", url)
    first_page = listed = None
    while proc.poll() is None:
        n = _count(clean)
        now = time.monotonic() - t0
        if n and first_page is None:
            first_page = now
        if n == 600 and listed is None:
            listed = now
        time.sleep(0.005)
    full_time = time.monotonic() - t0
    assert proc.returncode == 0, proc.communicate()[1]
    first_page = first_page or full_time / 2
    listed = listed or full_time / 2
    rng = random.Random(1234)
    killed_mid_run = 0
    for chain in range(5):  # 5 databases x 2 kills = 10 kills
        db = tmp_path / f"killed-{chain}.db"
        windows = [(first_page - 0.1, listed + 0.05), (0.1, full_time * 0.9)]  # listing, anywhere
        for k, (low, high) in enumerate(windows):
            for _attempt in range(3):  # a busy machine can stretch or squeeze the run: aim again
                proc = start_cli("sync", "--db", str(db), "--base-url", url)
                time.sleep(rng.uniform(max(0.05, low), max(low, high)))
                landed = proc.poll() is None
                killed_mid_run += landed
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=30)
                if db.exists():
                    integrity(db)
                    _assert_checkpoint_consistent(db, slow_emulator.state)
                if landed or k > 0:
                    break
                for f in tmp_path.glob(f"{db.name}*"):  # too late on a fresh file: start it over
                    f.unlink()
                low, high = low / 2, max(low, high / 2)
        resumed = run_cli("sync", "--db", str(db), "--base-url", url)
        assert resumed.returncode == 0, resumed.stderr
        integrity(db)
        assert _dump(db) == _dump(clean)
    assert killed_mid_run >= 6


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_exit_130(slow_emulator: RunningEmulator, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    proc = start_cli("sync", "--db", str(db), "--base-url", slow_emulator.base_url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait for the first committed page
        if db.exists():
            try:
                conn = sqlite3.connect(db)
                if conn.execute("SELECT count(*) FROM completions").fetchone()[0] > 0:
                    conn.close()
                    break
                conn.close()
            except sqlite3.Error:
                pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    integrity(db)
    resumed = run_cli("sync", "--db", str(db), "--base-url", slow_emulator.base_url)
    assert resumed.returncode == 0
    assert all(v[2] == "ok" for v in local(db).values()) and len(local(db)) == 600


def test_wrong_key_is_one_clear_line_and_never_written(tmp_path: Path) -> None:
    wrong = "sk-proj-WRONGkey" + "7f3a9c2e5b8d1046" * 3
    with run_in_thread(EmulatorOptions(count=50, seed=2, now=NOW, api_key=KEY)) as emu:
        db = tmp_path / "k.db"
        result = run_cli("sync", "--db", str(db), "--base-url", emu.base_url, key=wrong)
        assert result.returncode == 1
        line = one_clear_line(result.stderr)
        assert "401" in line and "OPENAI_API_KEY" in line
        assert result.stdout == ""
        ok = run_cli("sync", "--db", str(db), "--base-url", emu.base_url)  # the right key: works, not stored
        assert ok.returncode == 0, ok.stderr
        one_clear_line(ok.stderr)  # quiet when not a terminal: only the summary
    for secret in (wrong, KEY):
        needle = secret.encode()
        for path in tmp_path.iterdir():
            if path.name.startswith("k.db"):
                assert needle not in path.read_bytes(), path.name
        assert secret not in result.stderr + result.stdout + ok.stderr + ok.stdout
    assert wrong[-12:] not in result.stderr


def test_usage_and_network_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "n.db")
    insecure = run_cli("sync", "--db", db, "--base-url", "http://api.example.com/v1")
    assert insecure.returncode == 2 and "--insecure" in one_clear_line(insecure.stderr)
    no_key = run_cli("sync", "--db", db, "--base-url", "https://api.example.com/v1", key=None)
    assert no_key.returncode == 2 and "OPENAI_API_KEY" in one_clear_line(no_key.stderr)
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    down = run_cli("sync", "--db", db, "--base-url", f"http://127.0.0.1:{port}/v1")
    assert down.returncode == 1 and "cannot connect" in one_clear_line(down.stderr)
    assert time.monotonic() - t0 < 10


def test_a_base_url_without_v1_gets_a_hint(tmp_path: Path) -> None:
    """The emulator at its root answers 404 on /chat/completions: the line says where the API is."""
    db = str(tmp_path / "v.db")
    with run_in_thread(EmulatorOptions(count=5, seed=4, now=NOW, api_key=KEY)) as emu:
        for base in (emu.root_url, emu.root_url + "/"):
            res = run_cli("sync", "--db", db, "--base-url", base)
            line = one_clear_line(res.stderr)
            assert res.returncode == 1 and line.startswith("ccbrowser: not found: GET /chat/completions")
            assert line.endswith(f"(did you mean {emu.root_url}/v1?)"), line
        fixed = run_cli("sync", "--db", db, "--base-url", emu.root_url + "/v1")
        assert fixed.returncode == 0, fixed.stderr


def test_profile_from_config_file(tmp_path: Path) -> None:
    with run_in_thread(EmulatorOptions(count=40, seed=4, now=NOW, api_key=KEY, flavor="azure")) as emu:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.az]\nbase_url = "{emu.root_url}/openai"\nflavor = "azure"\napi_key_env = "MY_AZURE_KEY"\n',
            encoding="utf-8",
        )
        env = _env(None) | {"CCBROWSER_CONFIG": str(config), "MY_AZURE_KEY": KEY}
        db = tmp_path / "p.db"
        result = subprocess.run(
            [sys.executable, "-m", "ccbrowser", "sync", "--db", str(db), "--profile", "az"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "profile az" in result.stderr
        assert all("api-version=" in r.query for r in emu.state.request_log)
    conn = open_db(db)
    assert conn.execute("SELECT DISTINCT profile FROM completions").fetchall() == [("az",)]
    assert json.loads(conn.execute("SELECT state FROM sync_state").fetchone()[0])["backfill"]["done"]
    conn.close()


def test_sync_never_imports_textual() -> None:
    code = "import sys, ccbrowser.sync, ccbrowser.commands.sync; print(any(m.startswith('textual') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(None), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setenv("COLUMNS", "300")  # the line is cut to the terminal's width

    from ccbrowser.commands.sync import _Bar
    from ccbrowser.sync import SyncEvent, SyncProgress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bar = _Bar()
    bar.progress.stream, bar.progress.enabled = Tty(), True
    p = SyncProgress(
        phase="backfill",
        pages=3,
        listed=300,
        new=300,
        messages_done=120,
        messages_todo=300,
        retries=2,
        waited=1.5,
    )
    bar.event(SyncEvent("wait", p, "rate limited: waiting 1.5 s"))
    text = bar.progress.stream.getvalue()
    assert (
        "300 listed" in text
        and "messages 120/300" in text
        and "2 retries" in text
        and "waiting 1.5 s" in text
    )
    quiet = _Bar()
    quiet.progress.stream, quiet.progress.enabled = io.StringIO(), False
    quiet.event(SyncEvent("page", p))
    assert quiet.progress.stream.getvalue() == ""
    monkeypatch.setenv("COLUMNS", "40")
    bar.event(SyncEvent("wait", p, "rate limited: waiting 1.5 s"))
    last = bar.progress.stream.getvalue().rsplit("\r\x1b[2K", 1)[1]
    assert len(last) <= 39 and last.endswith("…")


def test_waits_and_long_retries_are_lines_even_when_piped(tmp_path: Path) -> None:
    faults = FaultOptions(rate_limit_rate=0.2, retry_after_ms=20, seed=4)
    with run_in_thread(EmulatorOptions(count=150, seed=18, now=NOW, api_key=KEY, faults=faults)) as emu:
        done = run_cli("sync", "--db", str(tmp_path / "db.sqlite"), "--base-url", emu.base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    waits = [line for line in lines if line.startswith("ccbrowser: rate limited: waiting ")]
    assert waits and all(line.endswith(" of 8)") for line in waits), done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr  # no progress bar when piped
    assert lines[-1].startswith("ccbrowser: synced (first")
    assert len(lines) == len(waits) + 1


def test_retry_lines_only_for_waits_a_user_notices() -> None:
    import io

    from ccbrowser.commands.sync import _Bar
    from ccbrowser.sync import SyncEvent, SyncProgress

    bar = _Bar()
    bar.progress.stream, bar.progress.enabled = io.StringIO(), False  # piped
    p = SyncProgress()
    bar.event(SyncEvent("retry", p, "HTTP 503: retry 1 of 8 in 0.4 s", 0.4))
    bar.event(SyncEvent("retry", p, "HTTP 503: retry 3 of 8 in 1.8 s", 1.8))
    bar.event(SyncEvent("wait", p, "rate limited: waiting 120 s (retry 3 of 8)", 120.0))
    bar.event(SyncEvent("warning", p, "the server's list pages repeat (cursor \x1b[2J seen before)"))
    bar.event(SyncEvent("page", p))
    assert bar.progress.stream.getvalue().splitlines() == [
        "ccbrowser: HTTP 503: retry 3 of 8 in 1.8 s",
        "ccbrowser: rate limited: waiting 120 s (retry 3 of 8)",
        "ccbrowser: warning: the server's list pages repeat (cursor \u241b[2J seen before)",
    ]


def test_interval_without_watch_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli(
        "sync", "--db", str(tmp_path / "i.db"), "--interval", "5", "--base-url", "http://127.0.0.1:9/v1"
    )
    assert res.returncode == 2
    assert "--interval" in one_clear_line(res.stderr) and "--watch" in res.stderr
    assert not (tmp_path / "i.db").exists()


def test_watch_says_it_started_and_when_nothing_changed(tmp_path: Path) -> None:
    with run_in_thread(EmulatorOptions(count=30, seed=4, now=NOW, api_key=KEY)) as emu:
        proc = start_cli(
            "sync", "--db", str(tmp_path / "w.db"), "--base-url", emu.base_url, "--watch", "--interval", "0.2"
        )
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(3)]
        time.sleep(1.0)  # several more syncs that change nothing: no more lines
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    assert lines[0].startswith(f"ccbrowser: watching {emu.base_url} (profile ") and "every 0.2 s" in lines[0]
    assert lines[1].startswith("ccbrowser: synced (first") and "30 new" in lines[1]
    assert lines[2].startswith("ccbrowser: nothing changed (") and "quiet until something does" in lines[2]
    assert proc.returncode == 130 and "nothing changed" not in rest and "Traceback" not in rest, rest
