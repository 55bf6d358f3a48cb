"""What the sync may trust: checkpoints never pass a failed page, malformed items are set aside,
"removed" needs strong evidence, Llama Stack's `created` cursor loses nothing, repeating and
endless lists end. Small servers of our own run over loopback HTTP where the emulator has no such
behaviour."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
import test_sync
from test_sync import FAST, KEY, NOW, assert_mirrors, emu, local, settings_for, sync
from test_sync_cli import run_cli

from ccbrowser.api.client import RetryPolicy
from ccbrowser.api.limits import Limits
from ccbrowser.config import Settings, resolve
from ccbrowser.emulator.faults import FaultOptions
from ccbrowser.emulator.server import RunningEmulator
from ccbrowser.errors import CCBrowserError
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Checkpoint, Writer, load_checkpoint, mark_removed, prepare
from ccbrowser.sync import SyncEvent, SyncOptions, SyncSummary

globals()["emulator"] = test_sync.emulator  # the shared fixture (pytest finds it by this name)
Route = Callable[[str, str, dict[str, str]], tuple[int, Any]]


# -- a small server of our own ------------------------------------------------------------------


@contextmanager
def serve(route: Route) -> Iterator[str]:
    """`route(method, path, query) -> (status, body)` over a real socket; body: bytes or JSON value."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body = route("GET", unquote(url.path), query)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def completion(cid: str, created: int, text: str = "hello") -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"re: {text}"}}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        "metadata": {},
    }


class LlamaStack:
    """Llama Stack 0.7's list semantics: newest first by `created` only (whole seconds), `after`
    means `created < created(after)`, no limit cap, input messages embedded, 400 for a missing id."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {it["id"]: it for it in items}
        self.limits: list[int] = []

    def add(self, item: dict[str, Any]) -> None:
        self.items[item["id"]] = item

    def route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        ordered = sorted(self.items.values(), key=lambda c: (c["created"], c["id"]), reverse=True)
        if path == "/v1/chat/completions":
            limit = int(query.get("limit", "20"))
            self.limits.append(limit)
            after = query.get("after")
            if after:
                if after not in self.items:
                    return 400, {"detail": f"Chat completion with id '{after}' not found"}
                ordered = [c for c in ordered if c["created"] < self.items[after]["created"]]
            data = ordered[:limit]
            return 200, {
                "data": data,
                "has_more": len(ordered) > limit,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "object": "list",
            }
        cid = path.removeprefix("/v1/chat/completions/")
        if cid in self.items:
            return 200, self.items[cid]
        return 400, {"detail": f"Chat completion with id '{cid}' not found"}


def llama_item(n: int, created: int) -> dict[str, Any]:
    item = completion(f"chatcmpl-{n:05d}", created, f"question {n}")
    item.update(metadata=None, usage=None, input_messages=[{"role": "user", "content": f"question {n}"}])
    return item


def llama_settings(base_url: str) -> Settings:
    return resolve(None, base_url=base_url, flavor="llama-stack", env={}, config={})


def live_and_removed(db: Path) -> tuple[set[str], set[str]]:
    mine = local(db)
    return {c for c, v in mine.items() if not v[3]}, {c for c, v in mine.items() if v[3]}


# -- Llama Stack ---------------------------------------------------------------------------------


def test_llama_stack_equal_seconds_lose_nothing_and_mark_nothing_removed(db_path: Path) -> None:
    # 7 completions per second, and one second holding 250 (more than a page).
    items = [llama_item(n, NOW - 10_000 + n // 7) for n in range(400)]
    items += [llama_item(n, NOW - 20_000) for n in range(400, 650)]
    server = LlamaStack(items)
    with serve(server.route) as base:
        # The server is faithful: a client paging the usual way loses completions.
        naive: set[str] = set()
        after = None
        with httpx.Client() as http:
            while True:
                body = http.get(
                    f"{base}/chat/completions", params={"limit": 100, **({"after": after} if after else {})}
                ).json()
                naive |= {c["id"] for c in body["data"]}
                if not body["has_more"]:
                    break
                after = body["last_id"]
        assert len(naive) < 650
        s = llama_settings(base)
        opts = SyncOptions(retry=FAST.retry, lookback=30)  # the head walk covers the newest 30 s
        summary = sync(db_path, s, options=opts)
        assert summary.progress.new == 650 and not summary.warnings
        assert max(server.limits) > 250  # grew the page to hold the 250-completion second whole
        assert live_and_removed(db_path) == (set(server.items), set())

        for n in range(650, 660):  # new ones, sharing the newest seconds with stored ones
            server.add(llama_item(n, NOW - 10_000 + 400 // 7 + (n % 2)))
        summary = sync(db_path, s, options=opts)
        assert summary.mode == "incremental" and summary.progress.new == 10
        assert live_and_removed(db_path) == (set(server.items), set())
        summary = sync(db_path, s, full=True, options=opts)
        assert summary.progress.removed == 0 and not summary.warnings
        assert live_and_removed(db_path) == (set(server.items), set())
        mine = local(db_path)
        assert all(
            mine[c][2] == "ok" and mine[c][1] == server.items[c]["input_messages"] for c in server.items
        )

        # Really deleted: marked removed (the retrieve answers 400 not found). Listed again: live.
        old, recent = server.items.pop("chatcmpl-00100"), server.items.pop("chatcmpl-00655")
        summary = sync(db_path, s, options=opts)  # the head walk covers the recent one only
        assert live_and_removed(db_path)[1] == {"chatcmpl-00655"}
        summary = sync(db_path, s, full=True, options=opts)
        assert summary.progress.removed == 1
        assert live_and_removed(db_path) == (set(server.items), {"chatcmpl-00100", "chatcmpl-00655"})
        server.add(recent)
        summary = sync(db_path, s, options=opts)
        assert summary.progress.restored == 1
        server.add(old)
        summary = sync(db_path, s, full=True, options=opts)
        assert summary.progress.restored == 1 and summary.progress.removed == 0
        assert live_and_removed(db_path) == (set(server.items), set())


# -- checkpoints and failed pages -----------------------------------------------------------------


@emu(count=300, seed=31)
@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_a_failed_page_write_is_never_passed_by_the_checkpoint(
    emulator: RunningEmulator, db_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    """The n-th page's transaction fails (the disk, say): the pages queued behind it must not
    commit a checkpoint past it, not even `done` from the last page."""
    real = Writer.write_page
    calls = {"n": 0}

    def failing(self: Writer, items: Any, checkpoint: Checkpoint | None, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, items, checkpoint, **kw)

    monkeypatch.setattr(Writer, "write_page", failing)
    with pytest.raises(CCBrowserError, match="disk I/O error"):
        sync(db_path, settings_for(emulator))
    conn = open_db(db_path)
    saved = load_checkpoint(conn, "default")
    stored = {r[0] for r in conn.execute("SELECT id FROM completions")}
    conn.close()
    newest_first = list(reversed(emulator.state.snapshot_ids()))
    assert saved is None or not saved.done
    if saved is not None and saved.after is not None:
        assert set(newest_first[: newest_first.index(saved.after) + 1]) <= stored
        assert newest_first.index(saved.after) < (fail_at - 1) * 100
    else:
        assert fail_at == 1
    monkeypatch.setattr(Writer, "write_page", real)
    again = sync(db_path, settings_for(emulator))
    assert not again.warnings
    assert_mirrors(db_path, emulator.state)


# -- malformed items ------------------------------------------------------------------------------

BAD_ITEMS: list[tuple[Any, str]] = [
    ({**completion("chatcmpl-big-created", NOW), "created": 2**70}, "`created` is outside SQLite"),
    ({**completion("x", NOW), "id": "chatcmpl-\ud800"}, "`id` holds a control character or a lone surrogate"),
    ({**completion("x", NOW), "id": "chatcmpl-\x1b[2J"}, "`id` holds a control character"),
    ({**completion("x", NOW), "id": ".."}, "`id` is a relative path segment"),
    ({**completion("x", NOW), "id": "c" * 5000}, "`id` is 5,000 characters long"),
    ({**completion("x", NOW), "id": ""}, "`id` is empty"),
    ({**completion("chatcmpl-str-created", NOW), "created": "1e999"}, "`created` must be an integer"),
    (
        {**completion("chatcmpl-big-tokens", NOW), "usage": {"total_tokens": 2**64}},
        "`usage.total_tokens` is outside SQLite",
    ),
    (
        {**completion("chatcmpl-big-index", NOW), "choices": [{"index": 1e300, "message": {}}]},
        "`choices.0.index` is outside SQLite",
    ),
    (42, "expected a JSON object, got a number"),
    (["a"], "expected a JSON object, got an array"),
]


def test_malformed_items_go_to_rejects_and_the_page_goes_on(tmp_path: Path) -> None:
    good = [completion(f"chatcmpl-good-{n}", NOW - n) for n in range(20)]
    page = good[:10] + [item for item, _ in BAD_ITEMS] + good[10:]

    def route(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/v1/chat/completions":
            body = {"object": "list", "data": page, "has_more": False, "last_id": good[-1]["id"]}
            return 200, json.dumps(body).encode()  # \ud800 travels as its JSON escape
        if path.endswith("/messages"):
            return 200, {
                "object": "list",
                "data": [{"id": "m-0", "role": "user", "content": "hi"}],
                "has_more": False,
            }
        return 404, {"error": {"message": "no such completion"}}

    db = tmp_path / "db.sqlite"
    with serve(route) as base:
        done = run_cli("sync", "--db", str(db), "--base-url", base)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    warnings = [
        line for line in lines if line.startswith("ccbrowser: warning: malformed object kept in rejects")
    ]
    assert len(warnings) == len(BAD_ITEMS)
    for _item, reason in BAD_ITEMS:
        assert any(reason in w for w in warnings), reason
    assert "\x1b" not in done.stderr  # the escape in an id is shown, not sent to the terminal
    assert f"{len(BAD_ITEMS)} malformed (kept in rejects)" in lines[-1] and lines[-1].startswith(
        "ccbrowser: synced"
    )
    conn = open_db(db)
    stored = {r[0] for r in conn.execute("SELECT id FROM completions")}
    rejects = conn.execute("SELECT error, raw FROM rejects").fetchall()
    conn.close()
    assert stored == {c["id"] for c in good}
    assert len(rejects) == len(BAD_ITEMS)
    for item, reason in BAD_ITEMS:
        assert any(reason in err and json.loads(raw) == item for err, raw in rejects), reason


def test_an_object_too_deep_to_encode_is_rejected_not_fatal(db_path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(5000):
        deep = [deep]
    items = [completion("chatcmpl-a", NOW), {**completion("chatcmpl-deep", NOW), "tools": deep}]
    prepared = prepare(items)
    assert list(prepared.rows) == ["chatcmpl-a"]
    assert prepared.rejects[0][0] == "cannot index this object (RecursionError)"
    conn = open_db(db_path)
    Writer(conn, profile="default").apply(prepared)
    assert conn.execute("SELECT error FROM rejects").fetchone()[0].startswith("cannot index")
    conn.close()


# -- removal evidence -----------------------------------------------------------------------------


@emu(count=300, seed=32)
def test_a_relisted_unchanged_row_is_no_longer_marked_removed(
    emulator: RunningEmulator, db_path: Path
) -> None:
    s = settings_for(emulator)
    sync(db_path, s)
    ids = emulator.state.snapshot_ids()
    recent, old = ids[-2], ids[5]
    conn = open_db(db_path)
    mark_removed(conn, [recent, old])  # e.g. by an older version on weak evidence
    conn.close()
    summary = sync(db_path, s)
    assert summary.progress.restored == 1 and summary.progress.updated == 0
    assert live_and_removed(db_path)[1] == {old}
    summary = sync(db_path, s, full=True)
    assert summary.progress.restored == 1 and summary.progress.removed == 0
    assert_mirrors(db_path, emulator.state)


def _paged(items: list[dict[str, Any]], *, skip: Callable[[str], bool] = lambda cid: False) -> Route:
    """An id-cursor server (newest first); `skip`: ids the list leaves out but GET still answers."""

    def route(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        ordered = sorted(items, key=lambda c: c["created"], reverse=True)
        if path == "/v1/chat/completions":
            listed = [c for c in ordered if not skip(c["id"])]
            after = query.get("after")
            start = next(i for i, c in enumerate(listed) if c["id"] == after) + 1 if after else 0
            limit = int(query["limit"])
            data = listed[start : start + limit]
            return 200, {"object": "list", "data": data, "has_more": start + limit < len(listed)}
        if path.endswith("/messages"):
            return 200, {"object": "list", "data": [], "has_more": False}
        cid = path.removeprefix("/v1/chat/completions/")
        found = [c for c in ordered if c["id"] == cid]
        return (200, found[0]) if found else (404, {"error": {"message": "not found"}})

    return route


def test_a_list_that_skips_live_completions_marks_none_removed(db_path: Path) -> None:
    items = [completion(f"chatcmpl-{n:04d}", NOW - n * 10) for n in range(250)]
    with serve(_paged(items)) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        sync(db_path, s)
    with serve(_paged(items, skip=lambda cid: cid.endswith("7"))) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        summary = sync(db_path, s, full=True)
    assert summary.progress.removed == 0
    assert any("still retrievable" in w for w in summary.warnings)
    assert live_and_removed(db_path) == ({c["id"] for c in items}, set())
    del items[7]  # now really gone: the GET says 404
    with serve(_paged(items)) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        summary = sync(db_path, s, full=True)
    assert summary.progress.removed == 1 and live_and_removed(db_path)[1] == {"chatcmpl-0007"}


def _counting(route: Route, pages: list[int]) -> Route:
    """`route`, counting list pages into the last slot of `pages`."""

    def counted(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/v1/chat/completions":
            pages[-1] += 1
        return route(method, path, query)

    return counted


def _deep_bad_item() -> tuple[list[dict[str, Any]], int]:
    """300 completions 100 s apart (the head window covers one page), one malformed far below."""
    items = [completion(f"chatcmpl-{n:04d}", NOW - n * 100) for n in range(300)]
    bad = 250
    items[bad] = {**items[bad], "usage": {"total_tokens": 2**64}}
    return items, bad


def test_a_malformed_object_is_stored_once_the_server_sends_it_whole(db_path: Path) -> None:
    items, bad = _deep_bad_item()
    with serve(_paged(items)) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        assert sync(db_path, s).progress.rejected == 1
        assert len(local(db_path)) == 299
        items[bad] = completion(items[bad]["id"], items[bad]["created"])
        sync(db_path, s)  # an incremental sync, yet it walks down to the rejected one's page
    assert set(local(db_path)) == {c["id"] for c in items}


def test_a_permanently_malformed_object_is_rechecked_a_bounded_number_of_syncs(db_path: Path) -> None:
    items, _bad = _deep_bad_item()
    pages = [0]
    with serve(_counting(_paged(items), pages)) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        options = replace(FAST, recheck_syncs=3)
        summaries = []
        for _ in range(6):
            pages.append(0)
            summaries.append(sync(db_path, s, options=options))
    first, *rechecks, gave_up, after = pages[1], *pages[2:5], pages[5], pages[6]
    assert first == 3 and rechecks == [3, 3, 3]  # the whole way down to the malformed page
    assert gave_up == 1 and after == 1  # then only the head window
    said = [w for summary in summaries for w in summary.warnings if "stayed malformed" in w]
    assert len(said) == 1 and "sync --full" in said[0]
    conn = open_db(db_path)
    assert conn.execute("SELECT count(*) FROM rejects").fetchone()[0] >= 1  # kept, not dropped
    conn.close()


# -- repeating and endless lists ------------------------------------------------------------------


def test_pages_that_repeat_end_the_walk_and_mark_nothing_removed(db_path: Path) -> None:
    items = [completion(f"chatcmpl-{n:04d}", NOW - n * 10) for n in range(300)]
    with serve(_paged(items)) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        sync(db_path, s)
    requests: list[str | None] = []

    def cycle(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        # Page A -> page B -> page A -> ...: the cursor after B leads back to A.
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": "not found"}}
        requests.append(query.get("after"))
        page = items[100:200] if query.get("after") == items[99]["id"] else items[:100]
        return 200, {"object": "list", "data": page, "has_more": True}

    with serve(cycle) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        summary = sync(db_path, s, full=True)
    assert len(requests) == 3
    assert summary.progress.removed == 0
    assert any(
        "the server's list pages repeat" in w and "nothing marked removed" in w for w in summary.warnings
    )
    assert live_and_removed(db_path) == ({c["id"] for c in items}, set())


def test_an_endless_list_stops_at_max_pages(db_path: Path) -> None:
    def endless(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path != "/v1/chat/completions":
            return 200, {"object": "list", "data": [], "has_more": False}
        n = int(query.get("after", "chatcmpl-0").split("-")[1])
        page = [completion(f"chatcmpl-{n + k + 1}", NOW - n - k) for k in range(10)]
        return 200, {"object": "list", "data": page, "has_more": True}

    opts = SyncOptions(retry=FAST.retry, page_limit=10, limits=Limits(max_pages=5))
    with serve(endless) as base:
        s = resolve(None, base_url=base, env={"OPENAI_API_KEY": KEY}, config={})
        summary: SyncSummary = asyncio.run(_run(db_path, s, opts))
    assert summary.progress.pages == 5 and summary.progress.new == 50
    assert any("did not end after 5 pages (limits.max_pages)" in w for w in summary.warnings)
    conn = open_db(db_path)
    saved = load_checkpoint(conn, "default")
    conn.close()
    assert saved is not None and not saved.done and saved.after == "chatcmpl-50"


async def _run(db: Path, s: Settings, opts: SyncOptions) -> SyncSummary:
    from ccbrowser.sync import run_sync

    return await run_sync(db, s, options=opts)


@emu(count=1200, seed=33)  # 12 pages: a stop after the first leaves the backfill unfinished
def test_a_head_walk_that_reaches_the_end_saves_the_backfill_as_done(
    emulator: RunningEmulator, db_path: Path
) -> None:
    stop = threading.Event()
    s = settings_for(emulator)
    first = sync(db_path, s, stop=stop, on_event=lambda e: stop.set() if e.kind == "page" else None)
    assert first.cancelled
    wide = SyncOptions(retry=FAST.retry, lookback=10**9)  # the head walk reaches the list's end
    resumed = sync(db_path, s, options=wide)
    assert resumed.mode == "resume"
    conn = open_db(db_path)
    saved = load_checkpoint(conn, "default")
    conn.close()
    assert saved is not None and saved.done and saved.after is None
    assert sync(db_path, s).mode == "incremental"
    assert_mirrors(db_path, emulator.state)


def test_write_page_decides_what_changed(db_path: Path) -> None:
    conn = open_db(db_path)
    writer = Writer(conn, profile="default")
    a, b, c = (completion(f"chatcmpl-{x}", NOW) for x in "abc")
    first = writer.write_page([a, b], Checkpoint(after="chatcmpl-b"))
    assert (first.new, first.updated, first.restored) == (2, 0, 0)
    assert [cid for cid, _ in first.need_messages] == ["chatcmpl-a", "chatcmpl-b"]
    mark_removed(conn, ["chatcmpl-a"])
    deep: Any = 0
    for _ in range(5000):
        deep = [deep]
    changed = {**b, "metadata": {"label": "x"}}
    out = writer.write_page(
        [a, changed, c, {**completion("chatcmpl-deep", NOW), "x": deep}], Checkpoint(done=True)
    )
    assert (out.new, out.updated, out.restored) == (1, 1, 1)
    assert out.rejected == ["cannot index this object (RecursionError)"]
    # Input messages were never fetched: all three still need them; the rejected one does not.
    assert sorted(cid for cid, _ in out.need_messages) == ["chatcmpl-a", "chatcmpl-b", "chatcmpl-c"]
    assert conn.execute("SELECT count(*) FROM completions WHERE removed_at IS NOT NULL").fetchone()[0] == 0
    saved = load_checkpoint(conn, "default")
    assert saved is not None and saved.done and saved.after is None
    again = writer.write_page([a, changed, c], None)
    assert (again.new, again.updated, again.restored) == (0, 0, 0)
    conn.close()


def test_old_saved_checkpoints_still_load(db_path: Path) -> None:
    conn = open_db(db_path)
    conn.execute(
        "INSERT INTO sync_state (profile, state, updated) VALUES ('default', ?, 0)",
        ('{"v":1,"backfill":{"after":"chatcmpl-x","done":false},"head_floor":17,"last_sync":5}',),
    )
    conn.execute("INSERT INTO sync_state (profile, state, updated) VALUES ('other', '{\"v\":99}', 0)")
    assert load_checkpoint(conn, "default") == Checkpoint(after="chatcmpl-x", head_floor=17, last_sync=5.0)
    assert load_checkpoint(conn, "other") == Checkpoint()
    assert load_checkpoint(conn, "nobody") is None
    conn.close()


@emu(count=40, seed=34, faults=FaultOptions(rate_limit_rate=0.3, retry_after_ms=700, seed=2))
def test_a_long_rate_limit_wait_says_so_every_heartbeat(emulator: RunningEmulator, db_path: Path) -> None:
    events: list[SyncEvent] = []
    opts = SyncOptions(
        retry=RetryPolicy(max_retries=30, base_delay=0.005, max_delay=0.05, max_retry_after=1.0),
        limits=Limits(heartbeat=0.2),
        concurrency=2,
    )
    sync(db_path, settings_for(emulator), options=opts, on_event=events.append)
    waits = [e.detail for e in events if e.kind == "wait"]
    assert any(w.startswith("rate limited: waiting 0.7 s (retry ") for w in waits)
    assert any(w.startswith("rate limited: still waiting, ") and w.endswith(" to go") for w in waits)
    assert_mirrors(db_path, emulator.state)
