"""The sync engine: mirror a profile's stored completions into the local database.

Public API (no Textual here; call it from any thread that can run an event loop)::

    from ccbrowser.config import resolve
    from ccbrowser.sync import run_sync, watch, SyncOptions, SyncEvent, SyncSummary

    settings = resolve("default")                       # or resolve(profile, base_url=..., flavor=...)
    summary = asyncio.run(run_sync(db_path, settings, full=False, on_event=cb, stop=stop_event))

- ``run_sync(db_path, settings, *, full=False, on_event=None, stop=None, options=None) -> SyncSummary``
  runs one sync. ``on_event(SyncEvent)`` is called on the event loop's thread (a TUI worker thread
  should forward it with ``call_from_thread``/``post_message``). ``stop`` is a ``threading.Event``:
  set it from any thread and the sync ends after the transaction in progress, returning a summary
  with ``cancelled=True``. Cancelling the task that awaits ``run_sync`` works as well (same clean
  stop, then ``CancelledError``). Failures raise ``CCBrowserError`` subclasses with one clear
  line (``AuthError`` for a bad key, ``NetworkError`` after the retries); what was committed stays.
- ``watch(db_path, settings, *, interval=60, ...)`` syncs until ``stop`` is set, with a full
  reconcile every ``full_every`` seconds; transient errors are reported to ``on_error`` and retried
  at the next interval, auth errors end it.

What a sync does (DESIGN section 4):

1. **Head** (when the profile already has rows): list ``order=desc`` from the top until a page
   reaches below the newest known ``created`` minus the look-back window (1 h by default: a stored
   completion can be listed later than its ``created``). Nothing new = one request.
2. **Backfill** (first sync, or resuming one): newest first, 100 per page. Every page commits
   with the checkpoint (cursor) in one transaction, so a SIGKILL at any instant resumes with no
   duplicate and no loss. An interrupted head walk leaves its floor in the checkpoint too, so the
   next head walk still reaches it.
3. **Reconcile** (``full=True``): walk everything, apply changes (metadata), and mark ids that are
   no longer listed as removed upstream (never deleted). A walk from the top also marks the ids it
   should have seen in the range it covered, so an incremental sync notices recent deletions.
4. **Input messages**: fetched once per completion that lacks them, newest first, by a pool of
   workers behind an adaptive limiter (halves after a 429, grows back slowly), pipelined with the
   list paging and written in batches. A 404 is recorded as ``missing``; other per-completion
   errors leave it pending for the next sync. Items that embed ``input_messages`` (Llama Stack)
   need no call.

All SQLite work runs on one dedicated thread with one connection (SQLite has one writer); the
event loop keeps fetching while a page commits. An unchanged listed object is not rewritten.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ccbrowser.api.client import (
    PAGE_LIMIT,
    APIError,
    AuthError,
    Client,
    RetryNotice,
    RetryPolicy,
)
from ccbrowser.config import Settings
from ccbrowser.errors import CCBrowserError

T = TypeVar("T")
STATE_VERSION = 1


@dataclass
class SyncOptions:
    """Tuning knobs; the defaults suit the real API. Tests shrink the delays."""

    lookback: float = 3600.0  # seconds re-read below the newest known `created`
    concurrency: int = 32  # most message fetches in flight (halved on 429s, grows back)
    initial_concurrency: int | None = None  # default: concurrency (the limiter only shrinks on 429s)
    page_limit: int = PAGE_LIMIT
    retry: RetryPolicy | None = None
    timeout: float = 60.0
    message_batch: int = 64  # completions' inputs per write transaction
    flush_interval: float = 0.25  # seconds: newest inputs become browsable at least this often
    fetch_messages: bool = True


@dataclass
class SyncProgress:
    """Counters of one sync; every event carries a copy."""

    phase: str = "starting"  # starting | head | backfill | reconcile | messages | done
    pages: int = 0
    listed: int = 0  # objects received in list pages
    new: int = 0  # completions new to the store
    updated: int = 0  # stored ones that changed (metadata, ...)
    messages_done: int = 0  # completions whose input messages are now stored
    messages_todo: int = 0  # completions queued for their input messages (done ones included)
    messages_missing: int = 0  # 404 on /messages: recorded, not fatal
    messages_failed: int = 0  # other per-completion errors: left pending for the next sync
    rejected: int = 0  # malformed objects kept in `rejects`
    removed: int = 0  # marked removed upstream
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    total: int | None = None  # when the server says (Azure's `total`)


@dataclass(frozen=True)
class SyncEvent:
    """``kind``: phase | page | messages | retry | wait | reject | missing | removed | warning | done."""

    kind: str
    progress: SyncProgress
    detail: str = ""


@dataclass
class SyncSummary:
    profile: str
    mode: str  # first | resume | incremental | full
    progress: SyncProgress
    seconds: float
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        p = self.progress
        parts = [f"{p.listed:,} listed", f"{p.new:,} new", f"{p.updated:,} updated"]
        if p.removed:
            parts.append(f"{p.removed:,} marked removed")
        parts.append(f"input messages for {p.messages_done:,}")
        if p.messages_missing:
            parts.append(f"{p.messages_missing:,} without messages (404)")
        if p.messages_failed:
            parts.append(f"{p.messages_failed:,} messages to retry")
        if p.rejected:
            parts.append(f"{p.rejected:,} malformed (kept in rejects)")
        extra = f"{p.requests:,} request{'s' if p.requests != 1 else ''}"
        if p.retries:
            extra += f", {p.retries:,} retries"
        if p.waited >= 0.05:
            extra += f", waited {p.waited:.1f} s"
        verb = "interrupted" if self.cancelled else "synced"
        return f"{verb} ({self.mode}, profile {self.profile}): {', '.join(parts)}; {extra} in {self.seconds:.1f} s"


EventCallback = Callable[[SyncEvent], None]


async def run_sync(
    db_path: str | Path,
    settings: Settings,
    *,
    full: bool = False,
    on_event: EventCallback | None = None,
    stop: threading.Event | None = None,
    options: SyncOptions | None = None,
) -> SyncSummary:
    """One sync of ``settings.profile`` into ``db_path`` (see the module docstring)."""
    return await _Sync(Path(db_path), settings, options or SyncOptions(), on_event, stop).run(full)


async def watch(
    db_path: str | Path,
    settings: Settings,
    *,
    interval: float = 60.0,
    full: bool = False,
    full_every: float = 24 * 3600.0,
    on_event: EventCallback | None = None,
    on_summary: Callable[[SyncSummary], None] | None = None,
    on_error: Callable[[CCBrowserError], None] | None = None,
    stop: threading.Event | None = None,
    options: SyncOptions | None = None,
) -> None:
    """Sync every ``interval`` seconds until ``stop`` is set; reconcile every ``full_every`` seconds.

    Network and server errors are passed to ``on_error`` and retried next time; an ``AuthError``
    is raised (retrying with the same key cannot help).
    """
    stop = stop or threading.Event()
    last_full = time.time() if not full else 0.0
    while not stop.is_set():
        do_full = time.time() - last_full >= full_every
        try:
            summary = await run_sync(
                db_path, settings, full=do_full, on_event=on_event, stop=stop, options=options
            )
        except AuthError:
            raise
        except CCBrowserError as exc:
            if on_error is None:
                raise
            on_error(exc)
        else:
            if do_full and not summary.cancelled:
                last_full = time.time()
            if on_summary is not None:
                on_summary(summary)
        deadline = time.monotonic() + interval
        while not stop.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


# -- implementation -----------------------------------------------------------------------------


@dataclass
class _PageOutcome:
    new: int
    updated: int
    rejected: list[str]
    need_messages: list[tuple[str, int | None]]


class _Stopped(Exception):
    """Raised inside the fetch tasks when the caller asked to stop."""


class _Sync:
    def __init__(
        self,
        db_path: Path,
        settings: Settings,
        options: SyncOptions,
        on_event: EventCallback | None,
        stop: threading.Event | None,
    ) -> None:
        self.db_path = db_path
        self.settings = settings
        self.profile = settings.profile
        self.options = options
        self.on_event = on_event
        self.stop = stop or threading.Event()
        self.progress = SyncProgress()
        self.warnings: list[str] = []
        self.state: dict[str, Any] = {}
        self.conn: sqlite3.Connection | None = None
        self.writer: Any = None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="ccbrowser-sync-db")
        self._queue: list[tuple[int, int, str | None]] = []  # heap of (-created, seq, id); id None = end
        self._queue_ready: asyncio.Event | None = None
        self._seq = itertools.count()
        self._queued: set[str] = set()
        self._buffer: dict[str, list[Any] | None] = {}
        self._writes: set[asyncio.Future[Any]] = set()
        self._page_writes: list[asyncio.Future[Any]] = []
        self._submitted_state: dict[str, Any] | None = None  # the checkpoint of the last page submitted
        self.client: Client | None = None

    # -- small helpers --------------------------------------------------------------------------

    def emit(self, kind: str, detail: str = "") -> None:
        if self.on_event is None:
            return
        if self.client is not None:
            s = self.client.stats
            self.progress.requests, self.progress.retries = s.requests, s.retries
            self.progress.rate_limited, self.progress.waited = s.rate_limited, s.waited
        self.on_event(SyncEvent(kind, replace(self.progress), detail))

    def _phase(self, phase: str) -> None:
        if self.progress.phase != phase:
            self.progress.phase = phase
            self.emit("phase", phase)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run on the database thread (FIFO: writes commit in the order they were submitted)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _on_retry(self, notice: RetryNotice) -> None:
        if notice.rate_limited:
            self.emit("wait", f"rate limited: waiting {notice.delay:.1f} s")
        else:
            self.emit("retry", f"{notice.reason}: retry {notice.attempt} in {notice.delay:.1f} s")

    # -- database-thread functions ---------------------------------------------------------------

    def _open(self) -> tuple[dict[str, Any] | None, int | None, list[tuple[str, int | None]]]:
        from ccbrowser.store import reader
        from ccbrowser.store.db import open_db
        from ccbrowser.store.writer import Writer, load_checkpoint

        self.conn = open_db(self.db_path)
        self.writer = Writer(self.conn, profile=self.profile, source=f"sync:{self.profile}")
        state = load_checkpoint(self.conn, self.profile)
        newest = reader.newest_created(self.conn, self.profile)
        pending = reader.pending_messages(self.conn, self.profile) if self.options.fetch_messages else []
        return state, newest, pending

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _write_page(self, items: list[Any], state: dict[str, Any]) -> _PageOutcome:
        from ccbrowser.store import reader
        from ccbrowser.store.extract import dumps

        assert self.conn is not None
        ids = [it["id"] for it in items if isinstance(it, dict) and isinstance(it.get("id"), str)]
        stored = reader.sync_rows(self.conn, ids) if ids else {}
        todo: list[Any] = []
        new = updated = 0
        need: list[tuple[str, int | None]] = []
        for it in items:
            cid = it.get("id") if isinstance(it, dict) else None
            if not isinstance(cid, str):
                todo.append(it)  # the writer keeps it in `rejects`
                continue
            row = stored.get(cid)
            embedded = isinstance(it.get("input_messages"), list)
            if row is None:
                new += 1
                todo.append(it)
                if not embedded:
                    need.append((cid, _created(it)))
                continue
            raw, messages_state, removed_at, profile = row
            if removed_at is not None or profile != self.profile or raw != dumps(it):
                updated += 1
                todo.append(it)
            if messages_state is None and not embedded:
                need.append((cid, _created(it)))
        result = self.writer.write(todo, checkpoint=(self.profile, state))
        return _PageOutcome(new, updated, result.rejected, need)

    def _write_inputs(self, batch: dict[str, list[Any] | None]) -> None:
        self.writer.write_inputs(batch)

    def _mark_removed(self, seen: set[str], created_above: int | None) -> int:
        from ccbrowser.store import reader
        from ccbrowser.store.writer import mark_removed

        assert self.conn is not None
        gone = reader.live_ids(self.conn, self.profile, created_above=created_above) - seen
        return mark_removed(self.conn, sorted(gone)) if gone else 0

    def _save_state(self, state: dict[str, Any]) -> None:
        from ccbrowser.store.writer import save_checkpoint, transaction

        assert self.conn is not None
        with transaction(self.conn):
            save_checkpoint(self.conn, self.profile, state)

    # -- the run --------------------------------------------------------------------------------

    async def run(self, full: bool) -> SyncSummary:
        started = time.monotonic()
        self._queue_ready = asyncio.Event()
        fatal: BaseException | None = None
        mode = "full" if full else "incremental"
        try:
            state, newest, pending = await self._db(self._open)
            self.state = _initial_state(state)
            backfill = self.state["backfill"]
            if not full:
                if newest is None and not backfill["done"]:
                    mode = "first" if backfill["after"] is None else "resume"
                elif not backfill["done"]:
                    mode = "resume"
            for cid, created in pending:
                self._enqueue(cid, created)
            self.client = Client(
                self.settings,
                retry=self.options.retry,
                timeout=self.options.timeout,
                concurrency=self.options.concurrency,
                initial_concurrency=self.options.initial_concurrency or self.options.concurrency,
                on_retry=self._on_retry,
            )
            try:
                await self._fetch_all(full, newest)
            finally:
                await self.client.aclose()
        except (Exception, asyncio.CancelledError) as exc:
            fatal = exc
        try:
            await self._drain()
        except Exception as exc:
            fatal = fatal if fatal is not None and not isinstance(fatal, _Stopped) else exc
        try:
            if self.conn is not None and (
                fatal is None or isinstance(fatal, (_Stopped, asyncio.CancelledError))
            ):
                # Only what was submitted (and is now committed) may move the checkpoint: the live
                # `self.state` can be one page ahead of the last transaction.
                final = self._submitted_state if self._submitted_state is not None else self.state
                final = copy.deepcopy(final)
                final["last_sync"] = time.time()
                if full and fatal is None:
                    final["last_full"] = time.time()
                await self._db(self._save_state, final)
        except Exception as exc:  # pragma: no cover - the database went away
            fatal = fatal or exc
        finally:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._close)
            self.executor.shutdown(wait=True)
        cancelled = isinstance(fatal, (_Stopped, asyncio.CancelledError)) or self.stop.is_set()
        self.progress.phase = "done"
        self.emit("done", "interrupted" if cancelled else "")
        if self.client is not None:
            s = self.client.stats
            self.progress.requests, self.progress.retries = s.requests, s.retries
            self.progress.rate_limited, self.progress.waited = s.rate_limited, s.waited
        if isinstance(fatal, asyncio.CancelledError):
            raise fatal
        if fatal is not None and not isinstance(fatal, _Stopped):
            if isinstance(fatal, sqlite3.Error):
                raise CCBrowserError(f"database error in {self.db_path}: {fatal}") from None
            raise fatal
        return SyncSummary(
            self.profile, mode, self.progress, time.monotonic() - started, cancelled, self.warnings
        )

    async def _fetch_all(self, full: bool, newest: int | None) -> None:
        """The list walker and the message workers, until done, stopped or failed."""
        workers = [asyncio.create_task(self._worker()) for _ in range(max(1, self.options.concurrency))]
        walker = asyncio.create_task(self._walk_all(full, newest))
        watcher = asyncio.create_task(self._watch_stop())
        ticker = asyncio.create_task(self._ticker())
        tasks = [walker, *workers, watcher]
        try:
            pending: set[asyncio.Task[Any]] = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is not None:
                        raise exc
                if watcher in done or pending == {watcher}:
                    break
            if self.stop.is_set():
                raise _Stopped()
        finally:
            for task in (*tasks, ticker):
                task.cancel()
            await asyncio.gather(*tasks, ticker, return_exceptions=True)

    async def _watch_stop(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(0.05)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.options.flush_interval)
            if self._buffer:
                self._flush()

    # -- list walking ---------------------------------------------------------------------------

    async def _walk_all(self, full: bool, newest: int | None) -> None:
        backfill = self.state["backfill"]
        if full:
            self._phase("reconcile")
            await self._walk("full", after=None, stop_below=None)
        else:
            if newest is not None or backfill["done"]:
                # (an account that was empty at the last sync: walk it all, it is all new)
                self._phase("head")
                stop_below = None if newest is None else int(newest - self.options.lookback)
                floor = self.state.get("head_floor")
                if isinstance(floor, int) and stop_below is not None:
                    stop_below = min(stop_below, floor)
                reached_end = await self._walk("head", after=None, stop_below=stop_below)
                if reached_end and not backfill["done"]:
                    backfill.update(after=None, done=True)
            if not backfill["done"]:
                self._phase("backfill")
                try:
                    await self._walk("backfill", after=backfill["after"], stop_below=None)
                except APIError as exc:
                    if backfill["after"] is None or exc.status not in (400, 404):
                        raise
                    # The cursor's completion is gone upstream: start over (unchanged rows are skipped).
                    self.emit("warning", "backfill cursor no longer listed; restarting from the top")
                    backfill["after"] = None
                    await self._walk("backfill", after=None, stop_below=None)
        await self._await_page_writes()
        self._phase("messages")
        self._end_workers()

    async def _walk(self, kind: str, *, after: str | None, stop_below: int | None) -> bool:
        """List pages newest first from ``after``; True when the list's end was reached."""
        assert self.client is not None
        backfill = self.state["backfill"]
        from_top = after is None
        seen: set[str] = set()
        lowest: int | None = None
        monotone = True  # newest first as promised; if not, no range can be trusted for removals
        previous: int | None = None
        if kind == "head":
            self.state["head_floor"] = stop_below
        reached_end = False
        while True:
            if self.stop.is_set():
                raise _Stopped()
            page = await self.client.list_page(order="desc", limit=self.options.page_limit, after=after)
            if page.total is not None:
                self.progress.total = page.total
            items = page.data
            created = [c for c in (_created(it) for it in items) if c is not None]
            for it in items:
                if isinstance(it, dict) and isinstance(it.get("id"), str):
                    seen.add(it["id"])
            for c in created:
                if previous is not None and c > previous:
                    monotone = False
                previous = c
            if created:
                low = min(created)
                lowest = low if lowest is None else min(lowest, low)
            reached_end = not page.has_more or not items or page.last_id is None or page.last_id == after
            # Where the walk is in the list: the created of the page's last item.
            window_done = stop_below is not None and created and created[-1] < stop_below
            last = reached_end or bool(window_done)
            if kind == "head" and last:
                self.state["head_floor"] = None
            if not backfill["done"] and kind in ("backfill", "full"):
                backfill["after"] = page.last_id
                if reached_end:
                    backfill.update(after=None, done=True)
            self.progress.pages += 1
            self.progress.listed += len(items)
            await self._submit_page(items, copy.deepcopy(self.state))
            after = page.last_id
            if last:
                break
        if from_top and (reached_end or (monotone and lowest is not None)):
            # Everything strictly newer than the lowest `created` seen was listed: any live local
            # id in that range that was not is gone upstream. At the list's end: everything.
            await self._await_page_writes()
            removed = await self._db(self._mark_removed, seen, None if reached_end else lowest)
            if removed:
                self.progress.removed += removed
                self.emit("removed", f"{removed:,} no longer listed upstream")
        return reached_end

    async def _submit_page(self, items: list[Any], state: dict[str, Any]) -> None:
        """Queue the page's transaction; keep at most two in flight so fetching overlaps committing."""
        while len(self._page_writes) >= 2:
            await self._page_writes.pop(0)
        fut = asyncio.ensure_future(self._db(self._write_page, items, state))
        fut.add_done_callback(self._page_written)
        self._page_writes.append(fut)
        self._submitted_state = state

    def _page_written(self, fut: asyncio.Future[_PageOutcome]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        outcome = fut.result()
        p = self.progress
        p.new += outcome.new
        p.updated += outcome.updated
        p.rejected += len(outcome.rejected)
        for reason in outcome.rejected:
            self.warnings.append(f"malformed object kept in rejects: {reason}")
            self.emit("reject", reason)
        if self.options.fetch_messages:
            for cid, created in outcome.need_messages:
                self._enqueue(cid, created)
        self.emit("page", f"{p.listed:,} listed")

    async def _await_page_writes(self) -> None:
        while self._page_writes:
            await self._page_writes.pop(0)

    # -- input messages -------------------------------------------------------------------------

    def _enqueue(self, cid: str, created: int | None) -> None:
        if cid in self._queued:
            return
        self._queued.add(cid)
        self.progress.messages_todo += 1
        heapq.heappush(self._queue, (-(created or 0), next(self._seq), cid))
        if self._queue_ready is not None:
            self._queue_ready.set()

    def _end_workers(self) -> None:
        heapq.heappush(self._queue, (1 << 62, next(self._seq), None))
        if self._queue_ready is not None:
            self._queue_ready.set()

    async def _next_id(self) -> str | None:
        assert self._queue_ready is not None
        while not self._queue:
            self._queue_ready.clear()
            await self._queue_ready.wait()
        item = self._queue[0]
        if item[2] is None:
            return None  # the end marker stays for the other workers
        heapq.heappop(self._queue)
        return item[2]

    async def _worker(self) -> None:
        assert self.client is not None
        while True:
            cid = await self._next_id()
            if cid is None:
                return
            if self.stop.is_set():
                raise _Stopped()
            try:
                messages = await self.client.messages(cid)
            except AuthError:
                raise
            except APIError as exc:  # e.g. gone between two pages of its messages: next sync
                self.progress.messages_failed += 1
                self.warnings.append(f"input messages of {cid}: {exc}")
                self.emit("warning", f"input messages of {cid}: {exc}")
                continue
            if messages is None:
                self.progress.messages_missing += 1
                self.emit("missing", cid)
            self._buffer[cid] = messages
            if len(self._buffer) >= self.options.message_batch:
                self._flush()

    def _flush(self) -> None:
        batch, self._buffer = self._buffer, {}
        fut = asyncio.ensure_future(self._db(self._write_inputs, batch))
        self._writes.add(fut)

        def done(f: asyncio.Future[Any]) -> None:
            self._writes.discard(f)
            if not f.cancelled() and f.exception() is None:
                self.progress.messages_done += sum(1 for v in batch.values() if v is not None)
                self.emit("messages", f"{self.progress.messages_done:,}/{self.progress.messages_todo:,}")

        fut.add_done_callback(done)

    async def _drain(self) -> None:
        """Let every submitted transaction finish and write what was fetched but not yet stored."""
        errors: list[BaseException] = []
        for fut in self._page_writes:
            try:
                await asyncio.shield(fut)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        self._page_writes.clear()
        if self._buffer and self.conn is not None:
            self._flush()
        while self._writes:
            fut = next(iter(self._writes))
            try:
                await asyncio.shield(fut)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            self._writes.discard(fut)
        for err in errors:
            if not isinstance(err, asyncio.CancelledError):
                raise err


def _created(item: Any) -> int | None:
    if not isinstance(item, dict):
        return None
    value = item.get("created")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _initial_state(saved: dict[str, Any] | None) -> dict[str, Any]:
    """The checkpoint, or a fresh one; unknown versions start over (every write is idempotent)."""
    state: dict[str, Any] = {
        "v": STATE_VERSION,
        "backfill": {"after": None, "done": False},
        "head_floor": None,
    }
    if isinstance(saved, dict) and saved.get("v") == STATE_VERSION:
        backfill = saved.get("backfill")
        if isinstance(backfill, dict):
            after = backfill.get("after")
            state["backfill"] = {
                "after": after if isinstance(after, str) else None,
                "done": bool(backfill.get("done")),
            }
        floor = saved.get("head_floor")
        state["head_floor"] = floor if isinstance(floor, int) else None
        for key in ("last_sync", "last_full"):
            if isinstance(saved.get(key), (int, float)):
                state[key] = saved[key]
    return state


def sync_blocking(
    db_path: str | Path,
    settings: Settings,
    *,
    full: bool = False,
    on_event: EventCallback | None = None,
    stop: threading.Event | None = None,
    options: SyncOptions | None = None,
) -> SyncSummary:
    """``run_sync`` on a fresh event loop in the calling thread (for a plain worker thread)."""
    return asyncio.run(run_sync(db_path, settings, full=full, on_event=on_event, stop=stop, options=options))
