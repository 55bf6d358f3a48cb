"""`ccbrowser sync`: mirror stored completions from the API into the local database.

Ctrl-C (or SIGTERM) stops after the transaction in progress and exits 130; a second Ctrl-C
abandons the in-flight requests at once (still without a torn write: every page is one
transaction). The progress bar goes to stderr on a terminal only; the summary line, warnings,
rate-limit waits and retries (one line each) always do. `--watch` says that it started and
prints each sync that changed something; a quiet spell is one line when it starts ("nothing
changed") and one an hour after that, so a watcher left open for days stays readable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from ccbrowser.errors import UsageError
from ccbrowser.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full", action="store_true", help="walk everything: apply metadata changes, mark removed ids"
    )
    parser.add_argument("--watch", action="store_true", help="keep syncing until interrupted")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="S",
        help="seconds between syncs with --watch (default 60)",
    )
    parser.add_argument(
        "--profile", metavar="NAME", default=None, help="profile from the config file (default: env vars)"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=None,
        help="API base URL (default: $OPENAI_BASE_URL or the profile's)",
    )
    parser.add_argument(
        "--flavor",
        choices=("openai", "azure", "router", "llama-stack"),
        default=None,
        help="API dialect (default: guessed from the URL)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http to a non-loopback host (sends the key in clear)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="most input-message fetches in flight (default 32)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ccbrowser.config import is_loopback, resolve
    from ccbrowser.sync import SyncOptions, run_sync, watch

    if args.interval is not None and not args.watch:
        raise UsageError("--interval sets the time between syncs of --watch: add --watch, or drop --interval")
    args.interval = WATCH_INTERVAL if args.interval is None else args.interval
    if args.interval <= 0:
        raise UsageError("--interval must be > 0")
    if args.concurrency is not None and not 1 <= args.concurrency <= 256:
        raise UsageError("--concurrency must be between 1 and 256")
    settings = resolve(
        args.profile,
        base_url=args.base_url,
        flavor=args.flavor,
        insecure=args.insecure or None,
        config=args.config,
    )
    if not settings.has_key and settings.flavor != "llama-stack" and not is_loopback(settings.base_url):
        raise UsageError(
            f"no API key: set {settings.api_key_env} (profile {settings.profile!r}); "
            "the key is read from the environment, never from a flag"
        )
    from ccbrowser.commands.prices import ensure_costs, pricer_for
    from ccbrowser.store import open_db
    from ccbrowser.threads import Options

    pricer = pricer_for(args)
    options = SyncOptions(
        limits=args.config.limits, pricer=pricer, thread_options=Options.of(args.config.threads)
    )
    conn = open_db(args.db)
    try:
        ensure_costs(conn, pricer)  # with a progress line, before the sync's own line
    finally:
        conn.close()
    if args.concurrency:
        options.concurrency = args.concurrency
    path = args.db
    stop = threading.Event()
    bar = _Bar()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # second Ctrl-C: stop waiting for requests in flight
        stop.set()
        bar.note("stopping after the current transaction (Ctrl-C again to abandon requests in flight)")

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        if args.watch:
            sys.stderr.write(
                f"ccbrowser: watching {settings.base_url} (profile {settings.profile}): "
                f"a sync every {args.interval:g} s; Ctrl-C stops\n"
            )
            quiet = _Quiet()

            def summary(s: Any) -> None:
                bar.clear()
                p = s.progress
                changed = (
                    p.new or p.updated or p.removed or p.messages_done or p.messages_failed or p.rejected
                )
                note = quiet.first(s.line()) or (None if changed else quiet.note())
                if changed:
                    quiet.since = None
                    note = note or s.line()
                if note:
                    sys.stderr.write(f"ccbrowser: {note}\n")

            def error(exc: Exception) -> None:
                bar.clear()
                sys.stderr.write(f"ccbrowser: sync failed: {exc}; retrying in {args.interval:g} s\n")

            asyncio.run(
                watch(
                    path,
                    settings,
                    interval=args.interval,
                    full=args.full,
                    on_event=bar.event,
                    on_summary=summary,
                    on_error=error,
                    stop=stop,
                    options=options,
                )
            )
            bar.clear()
            return 130 if stop.is_set() else 0
        result = asyncio.run(
            run_sync(path, settings, full=args.full, on_event=bar.event, stop=stop, options=options)
        )
    finally:
        bar.clear()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if args.integrity is not None:
        args.integrity.result()  # a damaged file is never reported as synced (see cli.CHECKED_COMMANDS)
    sys.stderr.write(f"ccbrowser: {result.line()}\n")
    if result.cancelled:
        sys.stderr.write("ccbrowser: interrupted; run `ccbrowser sync` again to continue where it stopped\n")
        return 130
    failed = result.progress.messages_failed
    if failed:
        sys.stderr.write(
            f"ccbrowser: the input messages of {failed:,} completion{'s' if failed != 1 else ''} could not be "
            "fetched after retries; run `ccbrowser sync` again to fetch them\n"
        )
        return 1
    return 0


WATCH_INTERVAL = 60.0


class _Quiet:
    """What `--watch` says about syncs that change nothing: the first sync's summary, then one
    line when a quiet spell starts and one every `REMIND` seconds of it."""

    REMIND = 3600.0

    def __init__(self) -> None:
        self.started = False
        self.since: float | None = None
        self.said = 0.0

    def first(self, line: str) -> str | None:
        if self.started:
            return None
        self.started = True
        return line

    def note(self) -> str | None:
        now = time.time()
        if self.since is None:
            self.since = self.said = now
            return (
                f"nothing changed ({time.strftime('%H:%M', time.localtime(now))}); quiet until something does"
            )
        if now - self.said >= self.REMIND:
            self.said = now
            return f"nothing changed since {time.strftime('%H:%M', time.localtime(self.since))}"
        return None


class _Bar:
    """The progress line (pages, completions, messages, retries, waits) on a terminal only; waits,
    retries of a second or more and warnings as lines of their own, piped or not (one line each;
    warnings after the first twenty are only counted in the summary)."""

    MAX_WARNING_LINES = 20
    # A retry after a short backoff is noise (the summary counts it; a wrong URL stays one line);
    # one that makes the user wait gets a line.
    RETRY_LINE_AFTER = 1.0

    def __init__(self) -> None:
        from ccbrowser.progress import Progress

        self.progress = Progress("syncing")
        self.status = ""
        self.warning_lines = 0

    def event(self, ev: Any) -> None:
        from ccbrowser.safe import one_line

        if ev.kind == "wait" or (ev.kind == "retry" and ev.seconds >= self.RETRY_LINE_AFTER):
            self.progress.line(f"ccbrowser: {one_line(ev.detail, 300)}")
        elif ev.kind in ("warning", "reject"):
            self.warning_lines += 1
            text = ev.detail if ev.kind == "warning" else f"malformed object kept in rejects: {ev.detail}"
            if self.warning_lines <= self.MAX_WARNING_LINES:
                self.progress.line(f"ccbrowser: warning: {one_line(text, 300)}")
            elif self.warning_lines == self.MAX_WARNING_LINES + 1:
                self.progress.line("ccbrowser: warning: more warnings not shown (the summary counts them)")
        if not self.progress.enabled:
            return
        p = ev.progress
        if ev.kind == "wait":
            self.status = ev.detail
        elif ev.kind in ("page", "messages"):
            self.status = ""
        total = f"/{p.total:,}" if p.total else ""
        parts = [
            p.phase,
            plural(p.pages, "page"),
            f"{p.listed:,}{total} listed ({p.new:,} new)",
            f"messages {p.messages_done:,}/{p.messages_todo:,}",
        ]
        if p.retries:
            parts.append(plural(p.retries, "retry"))
        if p.waited >= 0.05:
            parts.append(f"waited {p.waited:.1f} s")
        if self.status:
            parts.append(self.status)
        self.progress.show(" · ".join(parts), force=ev.kind in ("phase", "done", "wait"))

    def note(self, text: str) -> None:
        self.status = text

    def clear(self) -> None:
        self.progress.close()
