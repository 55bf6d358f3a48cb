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

What a sync does (docs/architecture.md section 7):

1. **Head** (when the profile already has rows): list ``order=desc`` from the top until a page
   reaches below the newest known ``created`` minus the look-back window (1 h by default: a stored
   completion can be listed later than its ``created``). Nothing new = one request.
2. **Backfill** (first sync, or resuming one): newest first, 100 per page. Every page commits
   with the checkpoint (cursor) in one transaction, so a SIGKILL at any instant resumes with no
   duplicate and no loss. An interrupted head walk leaves its floor in the checkpoint too, so the
   next head walk still reaches it. Two page transactions may be in flight while the next page
   is fetched; if one fails, none queued behind it commits and the walk ends: a saved checkpoint
   only ever covers pages whose rows are committed.
3. **Reconcile** (``full=True``): walk everything and apply changes (metadata).
4. **Input messages**: fetched once per completion that lacks them, newest first, by a pool of
   workers behind an adaptive limiter (halves after a 429, grows back slowly), pipelined with the
   list paging and written in batches. A 404 is recorded as ``missing``; other per-completion
   errors leave it pending for the next sync. Items that embed ``input_messages`` (Llama Stack)
   need no call.

What the sync does not trust:

- **Items.** Each listed object is checked by one schema (``api.models.ListedCompletion``, see
  ``sync.vet``); a malformed one goes to ``rejects`` with its reason and the page goes on.
- **Pages.** A walk ends, with a warning, when a page repeats (a cursor, or every item, seen
  before in this walk: the checkpoint stays at the last page before the repeat), when a page has
  more but no cursor, or after ``Limits.max_pages`` pages (an endless list).
- **Llama Stack's cursor** is ``created < created(after)`` with whole-second ``created``: a cursor
  inside a group of equal ``created`` would skip the rest of that second (any client paging the
  usual way loses them). Its pages are cut before their trailing group of equal ``created``, so
  the next cursor is the last item of a complete second; a page that is one second throughout is
  asked again with a doubled ``limit`` (it has no cap) until the second fits.
- **"Removed upstream"** needs two pieces of evidence. (a) A *verified* walk from the top: it
  ended normally (the list's end, or below the head window), newest first throughout as asked,
  no page overlapping another, no repeat, no item without a usable id, nothing cut by a limit.
  Such a walk covered every ``created`` strictly above the lowest one it listed (everything, at
  the list's end), so a live local id in that range that it did not list is a *candidate*.
  (b) For each candidate, ``GET /chat/completions/{id}`` answers 404 (Llama Stack: 400 "not
  found"). An answer with the object means the list skipped it: it is stored, not marked, with a
  warning. Any other answer leaves it as it is. This costs one request per completion that
  really went away (at most ``SyncOptions.max_removal_checks`` per sync). A marked completion
  that is listed or retrieved again is live again (``restored``), changed or not. Removed rows
  are never deleted locally.
"""

from __future__ import annotations

import asyncio
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
    NetworkError,
    NotFoundError,
    RetryNotice,
    RetryPolicy,
    seconds_text,
)
from ccbrowser.api.limits import Limits
from ccbrowser.config import Settings
from ccbrowser.errors import CCBrowserError
from ccbrowser.safe import one_line
from ccbrowser.store import reader
from ccbrowser.store.costs import Pricer, ensure_priced
from ccbrowser.store.db import database_error, end_bulk_write, open_db
from ccbrowser.store.writer import (
    Checkpoint,
    PageOutcome,
    Writer,
    load_checkpoint,
    mark_removed,
    save_checkpoint,
    transaction,
)
from ccbrowser.sync.vet import vet
from ccbrowser.threads import Options
from ccbrowser.words import plural

T = TypeVar("T")


@dataclass
class SyncOptions:
    """Tuning knobs; the defaults suit the real API. Tests shrink the delays."""

    lookback: float = 3600.0  # seconds re-read below the newest known `created`
    concurrency: int = 32  # most message fetches in flight (halved on 429s, grows back)
    initial_concurrency: int | None = None  # default: concurrency (the limiter only shrinks on 429s)
    page_limit: int = PAGE_LIMIT
    retry: RetryPolicy | None = None
    timeout: float = 60.0
    # completions' inputs per write transaction: each commit flushes an FTS segment and rewrites
    # the index pages it touched, so 256 costs ~15% less CPU than 64 (bench_sync, parse + store)
    message_batch: int = 256
    flush_interval: float = 0.25  # seconds: newest inputs become browsable at least this often
    fetch_messages: bool = True
    limits: Limits = field(default_factory=Limits)  # what a server can make a sync spend
    max_removal_checks: int = 10_000  # unlisted ids confirmed by GET per sync (see "removed")
    # Syncs that walk down again to a page whose objects were malformed; past that they stay in
    # `rejects` (`sync --full` asks again), so one bad old object cannot make every sync deep.
    recheck_syncs: int = 5
    pricer: Pricer | None = None  # prices each written completion (default: bundled prices, no hints)
    thread_options: Options | None = None  # `[threads]`: how conversations group (None: the database's)


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
    restored: int = 0  # marked removed before, listed or retrieved again: live again
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
    seconds: float = 0.0  # wait | retry: how long this wait is


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
        if p.restored:
            parts.append(f"{p.restored:,} listed again (no longer marked removed)")
        parts.append(f"input messages for {p.messages_done:,}")
        if p.messages_missing:
            parts.append(f"{p.messages_missing:,} without messages (404)")
        if p.messages_failed:
            parts.append(f"{plural(p.messages_failed, 'message')} to retry")
        if p.rejected:
            parts.append(f"{p.rejected:,} malformed (kept in rejects)")
        extra = plural(p.requests, "request")
        if p.retries:
            extra += f", {plural(p.retries, 'retry')}"
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

_MAX_GROUP_LIMIT = 100_000  # Llama Stack: the largest page asked for to hold one second whole


class _Stopped(Exception):
    """Raised inside the fetch tasks when the caller asked to stop."""


class _Skipped(Exception):
    """A page not written because an earlier page's transaction failed (nothing may pass it)."""


@dataclass
class _WalkResult:
    """What a list walk saw, and whether it may serve as evidence that unseen ids are gone."""

    reached_end: bool = False
    verified: bool = True  # newest first as promised, no repeat, no cut, no anomaly
    seen: set[str] = field(default_factory=set)
    lowest: int | None = None  # the lowest `created` listed


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
        self.checkpoint = Checkpoint()  # the walker's position (can run a page ahead of the store)
        self._loaded = Checkpoint()  # as saved by the last sync
        self.conn: sqlite3.Connection | None = None
        self.writer: Writer | None = None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="ccbrowser-sync-db")
        self._queue: list[tuple[int, int, str | None]] = []  # heap of (-created, seq, id); id None = end
        self._queue_ready: asyncio.Event | None = None
        self._seq = itertools.count()
        self._queued: set[str] = set()
        self._buffer: dict[str, list[Any] | None] = {}
        self._writes: set[asyncio.Future[Any]] = set()
        self._page_writes: list[asyncio.Future[Any]] = []
        # Database thread only: the checkpoint of the last page whose transaction committed, and
        # whether a page's transaction failed (then no later page may commit a checkpoint past it).
        self._committed: Checkpoint | None = None
        self._page_failed = False
        self._recheck_floor: int | None = None  # (database thread) lowest page with rejects this sync
        self.client: Client | None = None
        self._waiting_until = 0.0  # monotonic end of the longest rate-limit wait announced
        self._next_beat = 0.0  # when to say "still waiting" if nothing else was said

    # -- small helpers --------------------------------------------------------------------------

    def emit(self, kind: str, detail: str = "", seconds: float = 0.0) -> None:
        if self.on_event is None:
            return
        if self.client is not None:
            s = self.client.stats
            self.progress.requests, self.progress.retries = s.requests, s.retries
            self.progress.rate_limited, self.progress.waited = s.rate_limited, s.waited
        self.on_event(SyncEvent(kind, replace(self.progress), detail, seconds))

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.emit("warning", text)

    def _phase(self, phase: str) -> None:
        if self.progress.phase != phase:
            self.progress.phase = phase
            self.emit("phase", phase)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run on the database thread (FIFO: writes commit in the order they were submitted)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _on_retry(self, notice: RetryNotice) -> None:
        """Every client notice becomes one line: waits and heartbeats always, retries when long."""
        now = time.monotonic()
        self._next_beat = now + self.options.limits.heartbeat  # any notice counts as a sign of life
        if notice.heartbeat:
            self.emit("wait", notice.line(), notice.remaining)
        elif notice.rate_limited:
            self._waiting_until = max(self._waiting_until, now + notice.delay)
            self.emit("wait", notice.line(), notice.delay)
        else:
            self.emit("retry", notice.line(), notice.delay)

    # -- database-thread functions ---------------------------------------------------------------

    def _open(self) -> tuple[Checkpoint | None, int | None, list[tuple[str, int | None]]]:
        self.conn = open_db(self.db_path)
        pricer = self.options.pricer
        if pricer is not None:
            ensure_priced(self.conn, pricer)  # the rows this sync writes are priced the same way
        self.writer = Writer(
            self.conn,
            profile=self.profile,
            source=f"sync:{self.profile}",
            pricer=pricer,
            thread_options=self.options.thread_options,
        )
        saved = load_checkpoint(self.conn, self.profile)
        newest = reader.newest_created(self.conn, self.profile)
        pending = reader.pending_messages(self.conn, self.profile) if self.options.fetch_messages else []
        return saved, newest, pending

    def _recheck_budget(self, cp: Checkpoint) -> int | None:
        """The floor of malformed objects to walk down to this time, while retries are left."""
        if cp.recheck_floor is None:
            return None
        if cp.recheck_tries >= self.options.recheck_syncs:
            self.warn(
                f"objects listed as malformed stayed malformed for {cp.recheck_tries} syncs: kept in"
                " rejects, no longer walked down to (sync --full asks for them again)"
            )
            cp.recheck_floor, cp.recheck_tries = None, 0
            return None
        cp.recheck_tries += 1
        return cp.recheck_floor

    def _close(self) -> None:
        if self.conn is not None:
            end_bulk_write(self.conn)
            self.conn.close()
            self.conn = None

    def _write_page(self, items: list[Any], checkpoint: Checkpoint | None) -> PageOutcome:
        """Vet the items, write the page with its checkpoint; a failure stops every later page."""
        assert self.writer is not None
        if self._page_failed:
            raise _Skipped()
        try:
            good, rejects = vet(items)
            if rejects:
                # Walk down here again next time: the server may send these whole by then.
                floor = min((c for c in map(_created, good) if c is not None), default=0)
                self._recheck_floor = _lower(self._recheck_floor, floor)
            if checkpoint is not None and self._recheck_floor is not None:
                checkpoint.recheck_floor = _lower(checkpoint.recheck_floor, self._recheck_floor)
            outcome = self.writer.write_page(good, checkpoint, rejects=rejects)
        except BaseException:
            self._page_failed = True
            raise
        if checkpoint is not None:
            self._committed = checkpoint
        return outcome

    def _write_inputs(self, batch: dict[str, list[Any] | None]) -> None:
        assert self.writer is not None
        self.writer.write_inputs(batch)

    def _candidates(self, seen: set[str], created_above: int | None) -> list[str]:
        assert self.conn is not None
        return sorted(reader.live_ids(self.conn, self.profile, created_above=created_above) - seen)

    def _mark_removed(self, ids: list[str]) -> int:
        assert self.conn is not None
        return mark_removed(self.conn, ids) if ids else 0

    def _save_state(self, checkpoint: Checkpoint) -> None:
        assert self.conn is not None
        with transaction(self.conn):
            save_checkpoint(self.conn, self.profile, checkpoint)

    # -- the run --------------------------------------------------------------------------------

    async def run(self, full: bool) -> SyncSummary:
        started = time.monotonic()
        self._queue_ready = asyncio.Event()
        fatal: BaseException | None = None
        mode = "full" if full else "incremental"
        try:
            saved, newest, pending = await self._db(self._open)
            self._loaded = saved or Checkpoint()
            self.checkpoint = replace(self._loaded)
            cp = self.checkpoint
            if not full:
                if newest is None and not cp.done:
                    mode = "first" if cp.after is None else "resume"
                elif not cp.done:
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
                limits=self.options.limits,
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
                # Only a committed page may move the checkpoint: the walker's own position can be
                # a page ahead of the last transaction, and a failed page must never be passed.
                final = replace(self._committed or self._loaded)
                final.last_sync = time.time()
                if full and fatal is None:
                    final.last_full = final.last_sync
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
                raise database_error(fatal, self.db_path) from None  # damaged, read-only, disk full...
            if not isinstance(fatal, CCBrowserError):
                raise CCBrowserError(
                    f"sync stopped: {type(fatal).__name__}: {one_line(str(fatal), 200)}"
                ) from fatal
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
        """Flush fetched input messages; during a long rate-limit wait, say so every heartbeat."""
        while True:
            await asyncio.sleep(min(self.options.flush_interval, self.options.limits.heartbeat))
            if self._buffer:
                self._flush()
            now = time.monotonic()
            if now < self._waiting_until and now >= self._next_beat:
                self._next_beat = now + self.options.limits.heartbeat
                left = self._waiting_until - now
                self.emit("wait", f"rate limited: still waiting, {seconds_text(left)} to go", left)

    # -- list walking ---------------------------------------------------------------------------

    async def _walk_all(self, full: bool, newest: int | None) -> None:
        cp = self.checkpoint
        evidence: _WalkResult | None = None  # a walk from the top: what it saw
        if full:
            self._phase("reconcile")
            evidence = await self._walk("full", after=None, stop_below=None)
        else:
            if newest is not None or cp.done:
                # (an account that was empty at the last sync: walk it all, it is all new)
                self._phase("head")
                stop_below = None if newest is None else int(newest - self.options.lookback)
                if stop_below is not None:
                    stop_below = _lower(_lower(stop_below, cp.head_floor), self._recheck_budget(cp))
                evidence = await self._walk("head", after=None, stop_below=stop_below)
            if not cp.done:
                self._phase("backfill")
                try:
                    await self._walk("backfill", after=cp.after, stop_below=None)
                except APIError as exc:
                    if cp.after is None or exc.status not in (400, 404):
                        raise
                    # The cursor's completion is gone upstream: start over (unchanged rows are skipped).
                    self.warn("backfill cursor no longer listed; restarting from the top")
                    cp.after = None
                    await self._walk("backfill", after=None, stop_below=None)
        await self._await_page_writes()
        if evidence is not None and evidence.verified:
            await self._remove_unlisted(evidence)
        self._phase("messages")
        self._end_workers()

    async def _walk(self, kind: str, *, after: str | None, stop_below: int | None) -> _WalkResult:
        """List pages newest first from ``after``, each committed with the checkpoint that follows it."""
        assert self.client is not None
        cp = self.checkpoint
        out = _WalkResult(verified=after is None)
        cursors: set[str | None] = {after}
        previous: int | None = None
        grouped = self.settings.flavor == "llama-stack"
        limit = self.options.page_limit
        max_pages = self.options.limits.max_pages
        pages = 0
        if kind == "head":
            cp.head_floor = stop_below
        while True:
            if self.stop.is_set():
                raise _Stopped()
            if pages >= max_pages:
                self.warn(
                    f"the server's list did not end after {pages:,} pages (limits.max_pages): "
                    "stopped this walk; nothing marked removed"
                )
                out.verified = False
                break
            page = await self.client.list_page(order="desc", limit=limit, after=after)
            pages += 1
            if page.total is not None:
                self.progress.total = page.total
            items = page.data
            has_more = page.has_more and bool(items)
            if grouped and has_more:
                # Llama Stack pages with `created < created(after)`: a cursor inside a group of
                # equal `created` would skip the rest of that second. Keep whole seconds only.
                keep = _whole_seconds(items)
                if keep == 0:
                    if limit < _MAX_GROUP_LIMIT:
                        limit = min(limit * 2, _MAX_GROUP_LIMIT)  # one second fills the page: ask more
                        continue
                    self.warn(
                        f"more than {limit:,} completions share one second of `created`: "
                        "some may be skipped; nothing marked removed"
                    )
                    out.verified = False
                    keep = len(items)
                items = items[:keep]
                limit = self.options.page_limit
            # Not grouped: the page's cursor as the client read it (the server's `last_id` when it
            # names an item of the page, so a repeated item at the end does not move it back).
            next_after = _id_of(items[-1]) if items else None
            if not grouped and page.last_id is not None:
                next_after = page.last_id
            ids = [cid for cid in (_id_of(it) for it in items) if cid is not None]
            if len(ids) < len(items):
                out.verified = False  # an item without a usable id could be any stored one
            repeat: str | None = None
            if ids and all(cid in out.seen for cid in ids):
                repeat = "every item of a page seen before"
            elif has_more and next_after is not None and next_after in cursors:
                repeat = f"cursor {one_line(str(next_after), 60)} seen before"
            if any(cid in out.seen for cid in ids):
                out.verified = False  # pages that overlap: the list moved or reorders
            out.seen.update(ids)
            created = [c for c in (_created(it) for it in items) if c is not None]
            for c in created:
                if previous is not None and c > previous:
                    out.verified = False  # not newest first as asked: no range can be trusted
                previous = c
            if created:
                low = min(created)
                out.lowest = low if out.lowest is None else min(out.lowest, low)
            reached_end = not has_more
            if has_more and next_after is None and repeat is None:
                self.warn(
                    "the server's list page gives no cursor to go on: stopped this walk; nothing marked removed"
                )
                out.verified = False
                reached_end = False
                repeat = "no cursor"
            window_done = stop_below is not None and bool(created) and created[-1] < stop_below
            last = reached_end or window_done or repeat is not None
            if repeat is None:
                if kind == "head" and last:
                    cp.head_floor = None
                    cp.recheck_floor = None  # reached: set again below if its rejects are still bad
                if kind == "head" and reached_end and not cp.done:
                    cp.after, cp.done = None, True  # the whole list, from the top: nothing to backfill
                if not cp.done and kind in ("backfill", "full"):
                    cp.after = next_after
                    if reached_end:
                        cp.after, cp.done = None, True
            elif repeat != "no cursor":
                self.warn(
                    f"the server's list pages repeat ({repeat}): stopped this walk; nothing marked removed"
                )
                out.verified = False
            self.progress.pages += 1
            self.progress.listed += len(items)
            if items:
                await self._submit_page(items, replace(cp))
            if last:
                out.reached_end = reached_end
                break
            cursors.add(next_after)
            after = next_after
        if not (out.reached_end or stop_below is not None):
            out.verified = False  # a walk cut short covers no known range
        return out

    async def _remove_unlisted(self, walk: _WalkResult) -> None:
        """Mark removed what a verified walk from the top did not list and the server says is gone.

        The walk covered everything strictly newer than its lowest `created` (everything, if it
        reached the list's end); each live local id in that range it did not list is asked for
        by id: a 404 marks it removed, an answer stores it (the list skipped it), anything
        else leaves it for the next sync.
        """
        above = None if walk.reached_end else walk.lowest
        if above is None and not walk.reached_end:
            return
        candidates = await self._db(self._candidates, walk.seen, above)
        if not candidates:
            return
        cap = self.options.max_removal_checks
        if len(candidates) > cap:
            self.warn(
                f"{plural(len(candidates), 'completion')} no longer listed: checking {cap:,} now, the rest next sync"
            )
            candidates = candidates[:cap]
        gone: list[str] = []
        alive: list[Any] = []
        unsure = 0
        slots = asyncio.Semaphore(max(1, self.options.concurrency))

        async def check(cid: str) -> None:
            nonlocal unsure
            assert self.client is not None
            async with slots:
                if self.stop.is_set():
                    return
                try:
                    obj = await self.client.retrieve(cid)
                except NotFoundError:
                    gone.append(cid)
                    return
                except AuthError:
                    raise
                except APIError as exc:
                    if (
                        self.settings.flavor == "llama-stack"
                        and exc.status == 400
                        and "not found" in str(exc).lower()
                    ):
                        gone.append(cid)
                    else:
                        unsure += 1
                    return
                except NetworkError:
                    unsure += 1
                    return
                alive.append(obj)

        await asyncio.gather(*(check(cid) for cid in candidates))
        if alive:
            self.warn(
                f"{len(alive):,} completion{'s' if len(alive) != 1 else ''} missing from the list "
                "pages but still retrievable: stored, not marked removed"
            )
            self.progress.listed += len(alive)
            fut = asyncio.ensure_future(self._db(self._write_page, alive, None))
            fut.add_done_callback(self._page_written)
            await fut
        if unsure:
            self.warn(f"{unsure:,} unlisted completions could not be checked: not marked removed")
        removed = await self._db(self._mark_removed, sorted(gone))
        if removed:
            self.progress.removed += removed
            self.emit("removed", f"{removed:,} no longer listed upstream")

    async def _submit_page(self, items: list[Any], checkpoint: Checkpoint) -> None:
        """Queue the page's transaction; keep at most two in flight so fetching overlaps committing.

        A failed transaction surfaces here (its future is awaited before a third is queued) and
        ends the walk; the page queued behind it is refused on the database thread.
        """
        while len(self._page_writes) >= 2:
            await self._page_writes.pop(0)
        fut = asyncio.ensure_future(self._db(self._write_page, items, checkpoint))
        fut.add_done_callback(self._page_written)
        self._page_writes.append(fut)

    def _page_written(self, fut: asyncio.Future[PageOutcome]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        outcome = fut.result()
        p = self.progress
        p.new += outcome.new
        p.updated += outcome.updated
        p.restored += outcome.restored
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
                self.warn(f"input messages of {cid}: {exc}")
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
            if not isinstance(err, (asyncio.CancelledError, _Skipped)):
                raise err


def _created(item: Any) -> int | None:
    if not isinstance(item, dict):
        return None
    value = item.get("created")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id_of(item: Any) -> str | None:
    cid = item.get("id") if isinstance(item, dict) else None
    return cid if isinstance(cid, str) and cid else None


def _lower(a: int | None, b: int | None) -> int | None:
    """The lower of two floors, None meaning no floor."""
    return b if a is None else a if b is None else min(a, b)


def _whole_seconds(items: list[Any]) -> int:
    """How many leading items remain once the trailing group sharing the last `created` is cut."""
    last = _created(items[-1])
    if last is None:
        return len(items)
    keep = len(items)
    while keep > 0 and _created(items[keep - 1]) == last:
        keep -= 1
    return keep


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
