"""`ccbrowser sync` against hostile and broken servers, over real loopback sockets.

Every case runs the real CLI as a child process with small limits (the ``[limits]`` table of the
config file, named as the fields of ``ccbrowser.api.limits.Limits``) and asserts what a user sees:
the exit code, one line of explanation on stderr (no traceback), the child's peak RSS under
300 MB whatever the server sends, a wall time bounded by the configured deadlines, and that nothing
is lost: once the server is fixed, a normal sync ends identical to a clean sync of the fixed server
(ids, raw JSON, input messages, none marked removed).

Byte-level misbehaviour comes from ``hostile_server.HostileServer`` (a raw asyncio server in front
of the emulator); API-level peers (Llama Stack) from the emulator itself.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import RunningEmulator, run_in_thread
from ccbrowser.store import reader
from ccbrowser.store.db import open_db

KEY = "sk-hostile-test-0123456789abcdefABCDEF"
NOW = 1_767_225_600
COUNT = 40  # completions upstream; pages of 10 (the server's cap): a walk of 4 pages
MiB = 1 << 20

LIMITS = {
    "max_response_bytes": 1 * MiB,
    "request_deadline": 1.0,
    "max_retry_wait": 0.5,
    "max_total_wait": 1.5,
    "max_json_depth": 64,
    "max_pages": 30,
    "max_message_pages": 10,
    "heartbeat": 1.0,
}
# The longest a sync may take here, on a loaded 2-core machine: a few 1 s deadlines, a few short
# retry waits, the work itself (~2 s) and the interpreter's start. A hang (a drip of a byte a
# second, a 1000 s retry-after) would take minutes or forever; the harness stops it at the bound.
BOUND = 20.0
# A sync whose first request is cut at the deadline: the deadline, one short backoff, the rest.
CUT_BOUND = LIMITS["request_deadline"] + 14.0
RSS_LIMIT_MB = 300
KILL_MB = 450  # the harness stops a child long before it can hurt the machine
REPO = Path(__file__).resolve().parent.parent

# ---- the child process ----------------------------------------------------------------------


@dataclass
class Run:
    code: int | None
    stderr: str
    seconds: float
    peak_mb: float
    killed: str | None  # "memory" or "time" when the harness had to stop it

    def __str__(self) -> str:
        return (
            f"exit {self.code} in {self.seconds:.1f} s, peak {self.peak_mb:.0f} MB"
            f"{', killed for ' + self.killed if self.killed else ''}; stderr:\n{self.stderr[-3000:]}"
        )


def _hwm_mb(pid: int) -> float:
    """The child's peak RSS so far (VmHWM). wait4's ru_maxrss would also count the forking parent."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run ``ccbrowser ARGS``, polling its peak RSS (and stopping it past ``KILL_MB`` or ``timeout``)."""
    err_path = Path(env["CCBROWSER_TEST_TMP"]) / f"stderr-{time.monotonic_ns()}.txt"
    with open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccbrowser", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=REPO,
        )
        killed = None
        peak = 0.0
        while True:
            peak = max(peak, _hwm_mb(proc.pid))  # read before reaping: a zombie has no memory map
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if killed is None and peak > KILL_MB:
                killed = "memory"
                os.kill(proc.pid, signal.SIGKILL)
            elif killed is None and time.monotonic() - start > timeout:
                killed = "time"
                os.kill(proc.pid, signal.SIGKILL)
            time.sleep(0.01)
        seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return Run(
        None if killed else proc.returncode,
        err_path.read_text(errors="replace"),
        seconds,
        peak,
        killed,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    body = "[limits]\n" + "".join(f"{k} = {v!r}\n" for k, v in LIMITS.items())
    (d / "config.toml").write_text(body, encoding="utf-8")
    return d


def sync_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "CCBROWSER_"))}
    env.update(
        OPENAI_API_KEY=KEY,
        CCBROWSER_CONFIG=str(workdir / "config.toml"),
        CCBROWSER_TEST_TMP=str(workdir),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def sync(
    workdir: Path,
    db: Path,
    base_url: str,
    *,
    flavor: str = "openai",
    full: bool = False,
    timeout: float = BOUND,
) -> Run:
    args = ["sync", "--db", str(db), "--base-url", base_url, "--flavor", flavor]
    return run_cli(args + (["--full"] if full else []), sync_env(workdir), timeout)


def expect(run: Run, code: int | tuple[int, ...], says: str, bound: float = BOUND) -> None:
    """What a user must see: the exit code, one clear line (no traceback), bounded memory and time."""
    assert run.killed is None, str(run)
    assert "Traceback" not in run.stderr, str(run)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("ccbrowser: ") for line in lines), str(run)
    assert re.search(says, run.stderr, re.IGNORECASE), f"expected /{says}/: {run}"
    assert run.code in (code if isinstance(code, tuple) else (code,)), str(run)
    assert run.peak_mb < RSS_LIMIT_MB, str(run)
    assert run.seconds < bound, str(run)
    assert KEY not in run.stderr and KEY[-8:] not in run.stderr, "the key reached stderr"


# ---- comparing databases --------------------------------------------------------------------

Snapshot = dict[str, tuple[Any, str | None, list[Any]]]


def snapshot(db: Path) -> Snapshot:
    """id -> (raw JSON, messages_state, input messages) of every completion not marked removed."""
    conn = open_db(db)
    try:
        out: Snapshot = {}
        for cid, raw, state, removed in conn.execute(
            "SELECT id, raw, messages_state, removed_at FROM completions"
        ):
            if removed is None:
                out[cid] = (json.loads(raw), state, reader.input_messages(conn, cid))
        return out
    finally:
        conn.close()


def removed_ids(db: Path) -> set[str]:
    conn = open_db(db)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM completions WHERE removed_at IS NOT NULL")}
    finally:
        conn.close()


def assert_same(db: Path, reference: Snapshot) -> None:
    """The one comparison: the same live ids, equal raw JSON, equal input messages, all fetched."""
    mine = snapshot(db)
    missing, extra = set(reference) - set(mine), set(mine) - set(reference)
    assert not missing and not extra, f"{len(missing)} lost, {len(extra)} extra: {sorted(missing)[:5]}"
    for cid, (raw, state, inputs) in reference.items():
        got_raw, got_state, got_inputs = mine[cid]
        assert got_raw == raw, cid
        assert got_state == state, cid
        assert got_inputs == inputs, cid


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningEmulator]:
    with run_in_thread(EmulatorOptions(count=COUNT, seed=7, now=NOW, api_key=KEY)) as emu:
        yield emu


@pytest.fixture(scope="module")
def reference(upstream: RunningEmulator, workdir: Path) -> Snapshot:
    """A clean sync of the fixed server (the emulator behind a well-behaved proxy)."""
    db = workdir / "reference.db"
    with HostileServer(upstream.root_url).running() as server:
        run = sync(workdir, db, server.base_url)
    expect(run, 0, r"synced \(first")
    snap = snapshot(db)
    assert len(snap) == COUNT and all(state == "ok" for _, state, _ in snap.values())
    return snap


class Trial:
    """One hostile server in front of the emulator, a database, and the healing check."""

    def __init__(self, server: HostileServer, workdir: Path, db: Path, reference: Snapshot):
        self.server, self.workdir, self.db, self.reference = server, workdir, db, reference

    def sync(self, timeout: float = BOUND, full: bool = False) -> Run:
        return sync(self.workdir, self.db, self.server.base_url, full=full, timeout=timeout)

    def heals(self, full: bool = False) -> None:
        """Fix the server; a normal sync (``--full`` where stored data changed) ends like a clean one."""
        self.server.fixed = True
        run = self.sync(full=full)
        expect(run, 0, r"synced")
        assert_same(self.db, self.reference)


@pytest.fixture
def trial(upstream: RunningEmulator, reference: Snapshot, workdir: Path, tmp_path: Path) -> Iterator[Any]:
    servers: list[Any] = []

    def make(behaviour: Any, page_cap: int | None = 10) -> Trial:
        server = HostileServer(upstream.root_url, behaviour, page_cap=page_cap)
        cm = server.running()
        cm.__enter__()
        servers.append(cm)
        return Trial(server, workdir, tmp_path / "mirror.db", reference)

    yield make
    for cm in servers:
        cm.__exit__(None, None, None)


# ---- scripts --------------------------------------------------------------------------------


def first(kind: str, n: int = 1) -> Any:
    """A decorator: apply the script to the first ``n`` requests of ``kind`` only."""

    def wrap(script: Any) -> Any:
        async def behaviour(req: Request, conn: Conn, srv: HostileServer) -> bool:
            if req.kind != kind:
                return False
            done = srv.state.setdefault("hits", 0)
            if done >= n:
                return False
            srv.state["hits"] = done + 1
            await script(req, conn, srv)
            return True

        return behaviour

    return wrap


def every(kind: str) -> Any:
    return first(kind, 1 << 60)


def victim(script: Any) -> Any:
    """Apply the script to every ``/messages`` request of one completion (the first one asked for)."""

    async def behaviour(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "messages" or srv.state.setdefault("victim", req.path) != req.path:
            return False
        await script(req, conn, srv)
        return True

    return behaviour


async def forever() -> None:
    await asyncio.sleep(3600)


def deep(n: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * n + close * n).encode()


# ---- sanity: the harness sees a clean sync as clean ------------------------------------------


def test_a_well_behaved_server_syncs_and_a_second_sync_changes_nothing(trial: Any) -> None:
    t = trial(None)
    expect(t.sync(), 0, r"synced \(first.*40 new")
    expect(t.sync(), 0, r"synced \(incremental.*0 new")
    assert_same(t.db, t.reference)


# ---- time: drips, silence, waits --------------------------------------------------------------


def test_drip_feed_is_cut_at_the_deadline(trial: Any) -> None:
    @first("list")
    async def drip(req: Request, conn: Conn, srv: HostileServer) -> None:
        _, _, body = await srv.fetch(req)
        await conn.head(200, length=len(body))
        for i in range(len(body)):
            await conn.write(body[i : i + 1])
            await asyncio.sleep(1.0)

    t = trial(drip)
    expect(t.sync(timeout=CUT_BOUND), 0, r"synced", bound=CUT_BOUND)
    t.heals()


def test_headers_dripped_a_byte_a_second_are_cut_at_the_deadline(trial: Any) -> None:
    @first("list")
    async def slowloris(req: Request, conn: Conn, srv: HostileServer) -> None:
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            await conn.write(bytes([b]))
            await asyncio.sleep(1.0)

    t = trial(slowloris)
    expect(t.sync(timeout=CUT_BOUND), 0, r"synced", bound=CUT_BOUND)
    t.heals()


def test_a_silent_server_is_cut_at_the_deadline(trial: Any) -> None:
    @first("list")
    async def silent(req: Request, conn: Conn, srv: HostileServer) -> None:
        await forever()

    t = trial(silent)
    expect(t.sync(timeout=CUT_BOUND), 0, r"synced", bound=CUT_BOUND)
    t.heals()


def test_a_body_that_stops_after_the_headers_is_cut_at_the_deadline(trial: Any) -> None:
    @first("messages")
    async def stall(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.head(200, length=5000)
        await conn.write(b'{"object": "list", "data": [')
        await forever()

    t = trial(stall)
    expect(t.sync(timeout=CUT_BOUND), 0, r"synced", bound=CUT_BOUND)
    t.heals()


def test_retry_after_1000_once_waits_no_longer_than_the_cap(trial: Any) -> None:
    @first("list")
    async def slow_down(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json(
            {"error": {"message": "slow down", "type": "rate_limit"}}, 429, {"retry-after": "1000"}
        )

    t = trial(slow_down)
    expect(t.sync(timeout=CUT_BOUND), 0, r"synced", bound=CUT_BOUND)
    t.heals()


def test_retry_after_1000_forever_stops_at_the_total_wait_cap(trial: Any) -> None:
    @every("list")
    async def slow_down(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json(
            {"error": {"message": "slow down", "type": "rate_limit"}}, 429, {"retry-after": "1000"}
        )

    t = trial(slow_down)
    expect(t.sync(timeout=CUT_BOUND), 1, r"rate limit", bound=CUT_BOUND)
    t.heals()


def test_a_storm_of_5xx_ends_with_one_line_and_exit_1(trial: Any) -> None:
    @every("list")
    async def storm(req: Request, conn: Conn, srv: HostileServer) -> None:
        status = random.choice([500, 502, 503])
        await conn.send_json({"error": {"message": "overloaded"}}, status, {"retry-after-ms": "10"})

    t = trial(storm)
    expect(t.sync(), 1, r"HTTP 50[023]|failed")
    t.heals()


def test_a_passing_5xx_storm_is_ridden_out(trial: Any) -> None:
    @first("messages", 12)
    async def storm(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json({"error": {"message": "overloaded"}}, 503, {"retry-after-ms": "10"})

    t = trial(storm)
    expect(t.sync(), 0, r"synced.*retries")
    assert_same(t.db, t.reference)


def test_connections_reset_mid_body_are_retried(trial: Any) -> None:
    @first("messages", 6)
    async def reset(req: Request, conn: Conn, srv: HostileServer) -> None:
        _, _, body = await srv.fetch(req)
        await conn.head(200, length=len(body))
        await conn.write(body[: len(body) // 2])
        conn.writer.transport.abort()

    t = trial(reset)
    expect(t.sync(), 0, r"synced.*retries")
    assert_same(t.db, t.reference)


# ---- size: huge, endless, compressed, deep ----------------------------------------------------


def test_a_300_mb_body_is_refused_at_the_size_cap(trial: Any) -> None:
    @every("list")
    async def huge(req: Request, conn: Conn, srv: HostileServer) -> None:
        size = 300 * MiB
        head, tail = b'{"object": "list", "has_more": false, "data": [], "pad": "', b'"}'
        await conn.head(200, length=len(head) + size + len(tail))
        await conn.write(head)
        chunk = b"x" * MiB
        for _ in range(300):
            await conn.write(chunk)
        await conn.write(tail)

    t = trial(huge)
    expect(t.sync(), 1, r"too large|larger than|exceed|MiB|MB")
    t.heals()


def test_an_endless_chunked_body_is_cut_at_the_size_cap(trial: Any) -> None:
    @every("list")
    async def endless(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.head(200, {"Transfer-Encoding": "chunked"})
        await conn.write(b'1c\r\n{"object": "list", "data": [\r\n')
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
        while True:
            await conn.write(chunk)

    t = trial(endless)
    expect(t.sync(), 1, r"too large|larger than|exceed|MiB|MB")
    t.heals()


@functools.cache
def gzip_bomb(mib: int = 200) -> bytes:
    """A ~200 KB gzip body that inflates to ``mib`` MiB, built a MiB at a time."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    out = [z.compress(b'{"object": "list", "data": [], "pad": "')]
    chunk = b" " * MiB
    out += [z.compress(chunk) for _ in range(mib)]
    out.append(z.compress(b'"}') + z.flush())
    return b"".join(out)


def test_a_gzip_bomb_is_cut_at_the_size_cap(trial: Any) -> None:
    @every("list")
    async def bomb(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send(200, gzip_bomb(), {"Content-Encoding": "gzip"})

    t = trial(bomb)
    expect(t.sync(), 1, r"too large|larger than|exceed|MiB|MB")
    t.heals()


def test_json_nested_100k_deep_in_a_list_page_is_refused(trial: Any) -> None:
    @every("list")
    async def nested(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send(200, b'{"object": "list", "has_more": false, "data": ' + deep(100_000) + b"}")

    t = trial(nested)
    expect(t.sync(), 1, r"deep|nest")
    t.heals()


def test_json_nested_100k_deep_in_a_message_page_fails_only_that_completion(trial: Any) -> None:
    @victim
    async def nested(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send(200, b'{"object": "list", "has_more": false, "data": ' + deep(100_000) + b"}")

    t = trial(nested)
    expect(t.sync(), 1, r"input messages of 1 completion")
    t.heals()


def test_json_nested_100k_deep_in_an_error_body_is_one_line(trial: Any) -> None:
    @every("list")
    async def nested(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send(400, b'{"error": ' + deep(100_000, '{"a":', "}") + b"}")

    t = trial(nested)
    expect(t.sync(), 1, r"HTTP 400|failed")
    t.heals()


# ---- not the API: HTML, redirects, auth -------------------------------------------------------


def test_an_html_page_with_200_says_it_is_not_the_api(trial: Any) -> None:
    @every("list")
    async def portal(req: Request, conn: Conn, srv: HostileServer) -> None:
        page = b"<!doctype html><html><body><h1>Welcome to the hotel wifi</h1></body></html>"
        await conn.send(200, page, {"Content-Type": "text/html"})

    t = trial(portal)
    expect(t.sync(), 1, r"the server answered HTML, not JSON \(is the base URL right\?")
    t.heals()


def test_a_401_mid_walk_stops_with_the_key_advice_and_resumes_later(trial: Any) -> None:
    async def revoke(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind == "list" and req.query.get("after"):
            seen = srv.state["pages"] = srv.state.get("pages", 0) + 1
            if seen >= 2:
                await conn.send_json(
                    {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}, 401
                )
                return True
        return False

    t = trial(revoke)
    expect(t.sync(), 1, r"rejected the key")
    t.heals()


def test_an_error_that_echoes_the_key_never_prints_it(trial: Any) -> None:
    @every("list")
    async def echo(req: Request, conn: Conn, srv: HostileServer) -> None:
        said = req.headers.get("authorization", "")
        await conn.send_json({"error": {"message": f"bad request from {said} ({KEY})"}}, 400)

    t = trial(echo)
    expect(t.sync(), 1, r"HTTP 400")  # expect() also asserts the key is not on stderr
    t.heals()


def test_control_sequences_in_an_error_message_are_not_replayed_to_the_terminal(trial: Any) -> None:
    @every("list")
    async def escapes(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json({"error": {"message": "\x1b]0;pwned\x07\x1b[2J\x9b31m gone"}}, 400)

    t = trial(escapes)
    run = t.sync()
    expect(run, 1, r"HTTP 400")
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr and "\x9b" not in run.stderr
    t.heals()


def test_a_redirect_to_another_host_never_receives_the_key(trial: Any, upstream: RunningEmulator) -> None:
    other = HostileServer(upstream.root_url, host="127.0.0.2")
    with other.running():

        @every("list")
        async def away(req: Request, conn: Conn, srv: HostileServer) -> None:
            await conn.send(302, b"", {"Location": other.root_url + req.target})

        t = trial(away)
        expect(t.sync(), 1, r"redirect|302")
        leaked = [r.target for r in other.seen if any(KEY in v for v in r.headers.values())]
        assert not leaked, leaked
        t.heals()


def test_a_redirect_loop_ends_with_one_line(trial: Any) -> None:
    @every("list")
    async def loop(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send(302, b"", {"Location": req.target})

    t = trial(loop)
    expect(t.sync(), 1, r"redirect|302")
    t.heals()


# ---- lists that lie: order, duplicates, cycles, endless ---------------------------------------


def test_pages_that_reorder_their_items_lose_nothing(trial: Any) -> None:
    async def shuffle(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list":
            return False
        status, page = await srv.fetch_json(req)
        random.Random(req.target).shuffle(page["data"])
        await conn.send_json(page, status)
        return True

    t = trial(shuffle)
    expect(t.sync(), 0, r"synced")
    t.heals()


def test_duplicate_ids_within_and_across_pages_are_stored_once(trial: Any) -> None:
    async def dup(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list":
            return False
        status, page = await srv.fetch_json(req)
        if page["data"]:
            page["data"] = [page["data"][0], *page["data"], page["data"][0]]
            page["last_id"] = page["data"][-2]["id"]  # the cursor itself stays honest
        await conn.send_json(page, status)
        return True

    t = trial(dup)
    expect(t.sync(), 0, r"synced")
    assert len(snapshot(t.db)) == COUNT
    t.heals()


def test_a_list_cycle_a_b_a_ends_the_walk(trial: Any) -> None:
    async def cycle(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list":
            return False
        pages = srv.state.setdefault("pages", {})
        after = req.query.get("after")
        if after and after in pages.get("second_last", ()):  # after page B: page A again
            await conn.send_json(pages["first"])
            return True
        status, page = await srv.fetch_json(req)
        if not after:
            pages["first"] = page
        elif page["data"]:
            pages["second_last"] = (page["last_id"],)
        await conn.send_json(page, status)
        return True

    t = trial(cycle)
    expect(t.sync(), (0, 1), r"cycle|seen before|loop|pages")
    t.heals()


def test_endless_new_ids_stop_at_the_page_cap(trial: Any) -> None:
    async def endless(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind == "list":
            status, page = await srv.fetch_json(Request("GET", "/v1/chat/completions?limit=10", req.headers))
            n = srv.state["n"] = srv.state.get("n", 0) + 1
            page["data"] = [{**c, "id": f"chatcmpl-fake{n:06d}x{k}"} for k, c in enumerate(page["data"])]
            page["has_more"], page["last_id"] = True, page["data"][-1]["id"]
            await conn.send_json(page, status)
            return True
        if req.kind == "messages" and "-fake" in req.path:
            await conn.send_json({"object": "list", "data": [], "has_more": False})
            return True
        return False

    t = trial(endless)
    expect(t.sync(), (0, 1), r"pages|cycle|endless|too many")
    assert t.server.count("list") <= LIMITS["max_pages"] + 5
    t.heals(full=True)  # the invented ids are then marked removed


def test_a_page_with_has_more_and_no_data_ends_the_walk_without_marking_removed(trial: Any) -> None:
    async def hollow(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind == "list" and req.query.get("after"):
            await conn.send_json(
                {"object": "list", "data": [], "has_more": True, "first_id": None, "last_id": None}
            )
            return True
        return False

    t = trial(hollow)
    expect(t.sync(), (0, 1), r"synced|page|cursor")
    run = t.sync(full=True)
    expect(run, (0, 1), r"synced|page|cursor")
    assert not removed_ids(t.db)  # a truncated walk is no evidence of removal
    t.heals()


def test_a_messages_cycle_fails_only_that_completion(trial: Any) -> None:
    async def cycle(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "messages" or srv.state.setdefault("victim", req.path) != req.path:
            return False
        cid = req.path.split("/")[-2]
        a = [{"id": f"{cid}-a{k}", "role": "user", "content": f"A{k}"} for k in range(2)]
        b = [{"id": f"{cid}-b{k}", "role": "user", "content": f"B{k}"} for k in range(2)]
        page = b if req.query.get("after") == a[-1]["id"] else a
        await conn.send_json(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"],
                "last_id": page[-1]["id"],
                "has_more": True,
            }
        )
        return True

    t = trial(cycle)
    expect(t.sync(), 1, r"input messages of 1 completion|cycle")
    assert t.server.count("messages") < COUNT + 10 * LIMITS["max_message_pages"]
    t.heals()


def test_a_404_for_one_completions_messages_marks_nothing_removed(trial: Any) -> None:
    @first("messages")
    async def gone(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json(
            {"error": {"message": "No chat completion found", "type": "invalid_request_error"}}, 404
        )

    t = trial(gone)
    expect(t.sync(), (0, 1), r"synced.*without messages")
    assert not removed_ids(t.db)
    t.heals()


# ---- one bad item -----------------------------------------------------------------------------


def poison(page_no: int, edit: Any) -> Any:
    """A script that applies ``edit`` to the third item of list page ``page_no`` (1-based)."""

    async def behaviour(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list":
            return False
        status, _, body = await srv.fetch(req)
        page = json.loads(body)
        n = srv.state["page"] = srv.state.get("page", 0) + 1
        if n == page_no and len(page["data"]) > 2:
            await conn.send(status, edit(page, page["data"][2]))
            return True
        await conn.send(status, body)
        return True

    return behaviour


def _replace_item(page: dict[str, Any], item: dict[str, Any], raw: bytes) -> bytes:
    """The page with ``item`` replaced by the raw JSON text ``raw``."""
    marker = "\ue000MARK\ue000"
    k = page["data"].index(item)
    page = {**page, "data": [*page["data"][:k], marker, *page["data"][k + 1 :]]}
    return json.dumps(page).encode().replace(json.dumps(marker).encode(), raw)


def test_created_2_to_the_70_rejects_one_item_and_keeps_the_page(trial: Any) -> None:
    t = trial(
        poison(2, lambda p, item: _replace_item(p, item, json.dumps({**item, "created": 2**70}).encode()))
    )
    expect(t.sync(), 0, r"1 malformed")
    assert len(snapshot(t.db)) == COUNT - 1
    t.heals()


def test_a_lone_surrogate_in_an_id_rejects_one_item(trial: Any) -> None:
    def edit(page: dict[str, Any], item: dict[str, Any]) -> bytes:
        raw = json.dumps({**item, "id": "chatcmpl-\ud800lone"}).encode()  # json.dumps escapes it: valid JSON
        return _replace_item(page, item, raw)

    t = trial(poison(2, edit))
    expect(t.sync(), 0, r"1 malformed")
    t.heals()


def test_non_object_items_are_rejected_and_the_rest_of_the_page_kept(trial: Any) -> None:
    async def junk(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list" or req.query.get("after"):
            return False
        status, page = await srv.fetch_json(req)
        page["data"] = [42, "chatcmpl-x", None, [], *page["data"]]
        await conn.send_json(page, status)
        return True

    t = trial(junk)
    expect(t.sync(), 0, r"malformed")
    assert len(snapshot(t.db)) == COUNT
    t.heals()


def test_an_item_without_a_usable_id_is_rejected(trial: Any) -> None:
    t = trial(poison(1, lambda p, item: _replace_item(p, item, json.dumps({**item, "id": 12345}).encode())))
    expect(t.sync(), 0, r"1 malformed")
    t.heals()


def test_a_created_of_infinity_rejects_one_item(trial: Any) -> None:
    t = trial(
        poison(
            3,
            lambda p, item: _replace_item(
                p, item, json.dumps(item).encode().replace(b'"created": ', b'"created": 1e999, "x": ', 1)
            ),
        )
    )
    expect(t.sync(), 0, r"1 malformed")
    t.heals()


def test_nan_and_1e999_values_are_kept_as_sent_and_healed_by_a_full_sync(trial: Any) -> None:
    def edit(page: dict[str, Any], item: dict[str, Any]) -> bytes:
        raw = json.dumps({**item, "temperature": float("nan"), "top_p": 1e999}).replace("Infinity", "1e999")
        return _replace_item(page, item, raw.encode())

    t = trial(poison(1, edit))
    expect(t.sync(), 0, r"synced")
    assert len(snapshot(t.db)) == COUNT
    t.heals(full=True)


def test_invalid_utf8_in_one_completions_messages_fails_only_that_completion(trial: Any) -> None:
    @victim
    async def mojibake(req: Request, conn: Conn, srv: HostileServer) -> None:
        _, _, body = await srv.fetch(req)
        await conn.send(200, body.replace(b'"content":"', b'"content":"\xff\xfe', 1))

    t = trial(mojibake)
    expect(t.sync(), 1, r"input messages of 1 completion")
    t.heals()


def test_ids_dot_and_dot_dot_never_reach_other_endpoints(trial: Any) -> None:
    async def dots(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind == "list" and not req.query.get("after"):
            status, page = await srv.fetch_json(req)
            extra = [{**page["data"][0], "id": "."}, {**page["data"][1], "id": ".."}]
            page["data"] = [*extra, *page["data"]]
            await conn.send_json(page, status)
            return True
        if req.path.rstrip("/") in ("/v1/chat", "/v1", "/v1/chat/messages", "/v1/chat/completions/messages"):
            srv.state.setdefault("normalised", []).append(req.target)
            await conn.send_json({"error": {"message": "wrong endpoint"}}, 400)
            return True
        if req.kind == "messages" and req.path.split("/")[-2].upper() in ("%2E", "%2E%2E"):
            await conn.send_json({"object": "list", "data": [], "has_more": False})
            return True
        return False

    t = trial(dots)
    run = t.sync()
    assert not t.server.state.get("normalised"), t.server.state["normalised"]
    expect(run, (0, 1), r"synced|malformed")
    t.heals(full=True)


# ---- Llama Stack: a created-only cursor over many equal seconds --------------------------------


@pytest.fixture
def llama() -> Iterator[RunningEmulator]:
    with run_in_thread(EmulatorOptions(count=250, seed=13, now=NOW, flavor="llama-stack", burst=4)) as emu:
        yield emu


def test_llama_stack_equal_created_seconds_lose_nothing_on_first_incremental_and_full_sync(
    llama: RunningEmulator, workdir: Path, tmp_path: Path
) -> None:
    state, db = llama.state, tmp_path / "llama.db"
    assert len({state.created(i) for i in range(250)}) < 120  # most seconds are shared
    expect(sync(workdir, db, llama.base_url, flavor="llama-stack"), 0, r"synced \(first")
    assert set(snapshot(db)) == set(state.snapshot_ids())
    state.add_generated(created=state.newest_created())  # joins the newest second
    for full in (False, True):
        expect(sync(workdir, db, llama.base_url, flavor="llama-stack", full=full), 0, r"synced")
        assert set(snapshot(db)) == set(state.snapshot_ids()) and not removed_ids(db)


def test_llama_stack_marks_a_deleted_completion_removed_and_unmarks_it_when_listed_again(
    llama: RunningEmulator, workdir: Path, tmp_path: Path
) -> None:
    state, db = llama.state, tmp_path / "llama.db"
    expect(sync(workdir, db, llama.base_url, flavor="llama-stack"), 0, r"synced \(first")
    gone = state.corpus.id_of(100)
    assert state.delete(gone)
    expect(sync(workdir, db, llama.base_url, flavor="llama-stack", full=True), 0, r"1 marked removed")
    assert removed_ids(db) == {gone}
    assert state.undelete(gone)
    expect(sync(workdir, db, llama.base_url, flavor="llama-stack", full=True), 0, r"synced")
    assert not removed_ids(db) and set(snapshot(db)) == set(state.snapshot_ids())


# ---- more ways to be wrong --------------------------------------------------------------------


def test_a_401_on_the_first_request_says_to_check_the_key(trial: Any) -> None:
    @every("list")
    async def denied(req: Request, conn: Conn, srv: HostileServer) -> None:
        await conn.send_json({"error": {"message": "Incorrect API key provided: sk-abc***wxyz"}}, 401)

    t = trial(denied)
    expect(t.sync(), 1, r"rejected the key.*OPENAI_API_KEY")
    t.heals()


def test_truncated_json_with_a_consistent_length_is_retried(trial: Any) -> None:
    @first("list", 2)
    async def cut(req: Request, conn: Conn, srv: HostileServer) -> None:
        _, _, body = await srv.fetch(req)
        await conn.send(200, body[: len(body) // 3])

    t = trial(cut)
    expect(t.sync(), 0, r"synced.*retries")
    assert_same(t.db, t.reference)


def test_json_sent_as_text_plain_is_still_read(trial: Any) -> None:
    async def plain(req: Request, conn: Conn, srv: HostileServer) -> bool:
        status, _, body = await srv.fetch(req)
        await conn.send(status, body, {"Content-Type": "text/plain; charset=utf-8"})
        return True

    t = trial(plain)
    expect(t.sync(), 0, r"synced \(first.*40 new")
    assert_same(t.db, t.reference)


def test_a_null_last_id_with_has_more_pages_on_the_last_item(trial: Any) -> None:
    async def no_cursor(req: Request, conn: Conn, srv: HostileServer) -> bool:
        if req.kind != "list":
            return False
        status, page = await srv.fetch_json(req)
        page["last_id"] = page["first_id"] = None
        await conn.send_json(page, status)
        return True

    t = trial(no_cursor)
    expect(t.sync(), 0, r"synced \(first.*40 new")
    assert_same(t.db, t.reference)


def test_a_server_that_closes_every_other_connection_at_once_is_ridden_out(trial: Any) -> None:
    async def flaky(req: Request, conn: Conn, srv: HostileServer) -> bool:
        n = srv.state["n"] = srv.state.get("n", 0) + 1
        if n % 2 and n < 30:
            conn.writer.transport.abort()
            return True
        return False

    t = trial(flaky)
    expect(t.sync(), 0, r"synced.*retries")
    assert_same(t.db, t.reference)
