"""Work the app starts and then only hears from: the sync thread and the live-refresh watcher.

Both post messages (`messages.py`) to the app and never touch a widget, so every change of UI
state happens in the app's `@on` handlers (harlequin style). Neither imports Textual widgets.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from textual.message_pump import MessagePump

from ccbrowser.config import Config
from ccbrowser.errors import CCBrowserError
from ccbrowser.store import reader
from ccbrowser.tui.messages import DataChanged, SyncFinished, SyncProgressed
from ccbrowser.tui.reads import Reads

PROGRESS_MIN_INTERVAL = 0.2
RELOAD_MIN_INTERVAL = 0.5


def run_sync(
    target: MessagePump, db_path: Path, settings: Any, stop: threading.Event, config: Config | None = None
) -> None:
    """One sync, in the calling (worker) thread. Ends with exactly one `SyncFinished`: a sync bug
    becomes an error line, never a closed browser. The config's `[limits]` bound it as on the CLI."""
    from ccbrowser.sync.engine import SyncOptions, sync_blocking  # the engine loads only when it runs

    options = None
    if config is not None:
        from ccbrowser.paths import prices_path
        from ccbrowser.pricing.update import load_price_book
        from ccbrowser.store.costs import Pricer
        from ccbrowser.threads import Options

        book = load_price_book(prices_path(), tier_factors=config.tier_factors)  # as `prices` shows it
        pricer = Pricer.build(book, config.flavors())
        options = SyncOptions(limits=config.limits, pricer=pricer, thread_options=Options.of(config.threads))

    last = 0.0

    def on_event(event: Any) -> None:
        nonlocal last
        urgent = getattr(event, "kind", "") in ("wait", "retry")
        now = time.monotonic()
        if now - last < PROGRESS_MIN_INTERVAL and not urgent:
            return
        last = now
        text = progress_text(event)
        if text is not None:
            target.post_message(SyncProgressed(text, replaceable=not urgent))

    try:
        summary = sync_blocking(db_path, settings, on_event=on_event, stop=stop, options=options)
    except CCBrowserError as exc:
        target.post_message(SyncFinished(None, exc))
    except Exception as exc:
        target.post_message(SyncFinished(None, CCBrowserError(f"sync failed: {type(exc).__name__}: {exc}")))
    else:
        target.post_message(SyncFinished(summary, None))


def progress_text(event: Any) -> str | None:
    """A short status-bar line for a sync event (None: nothing worth redrawing for)."""
    p = getattr(event, "progress", None)
    kind = getattr(event, "kind", "")
    if p is None:
        return None
    if kind == "wait":
        return f"rate limited, waiting… ({p.listed:,} listed)"
    if kind == "retry":
        return f"retrying ({p.retries}) · {p.listed:,} listed"
    parts = [f"{p.phase}", f"{p.listed:,} listed", f"{p.new:,} new"]
    if p.messages_todo:
        parts.append(f"messages {p.messages_done:,}/{p.messages_todo:,}")
    return " · ".join(parts)


class ChangeWatcher:
    """Notices commits by other connections (a `ccbrowser sync`, the app's own sync thread).

    watchfiles wakes it when the database's files change; `PRAGMA data_version` confirms that
    something was committed. At most one `DataChanged` per RELOAD_MIN_INTERVAL: a sync commits
    many pages, and the list need not be read again for each.
    """

    def __init__(self, target: MessagePump, reads: Reads, db_path: Path) -> None:
        self.target = target
        self.reads = reads
        self.db_path = db_path
        self.version: int | None = None
        self._pending = False
        self._last = 0.0

    async def check(self) -> bool:
        """Post `DataChanged` if the data moved since the last look; True when it did."""
        if self._pending:
            return False
        try:
            version = await self.reads.read(reader.data_version)
        except Exception:  # closing, or a file system hiccup: the next look will tell
            return False
        if version == self.version:
            return False
        if self.version is None:  # the first look sets the baseline
            self.version = version
            return False
        wait = self._last + RELOAD_MIN_INTERVAL - time.monotonic()
        if wait > 0:
            self._pending = True
            try:
                await asyncio.sleep(wait)
                version = await self.reads.read(reader.data_version)
            except Exception:  # closing meanwhile: nothing to tell
                return False
            finally:
                self._pending = False
        self.version = version
        self._last = time.monotonic()
        self.target.post_message(DataChanged(version))
        return True

    async def watch(self, stop: asyncio.Event) -> None:
        """watchfiles on the database's directory until `stop` is set."""
        from watchfiles import awatch

        names = {self.db_path.name, self.db_path.name + "-wal", self.db_path.name + "-journal"}
        directory = self.db_path.resolve().parent
        async for changes in awatch(directory, stop_event=stop, debounce=150, step=50, recursive=False):
            if any(Path(p).name in names for _c, p in changes):
                await self.check()


# -- what a sync needs from the config (until the config arrives as one loaded object) --------


def default_profile(config: Config | None) -> str | None:
    """For the status bar. Without a loaded config (tests, embedding) the file is read here; a
    broken one is not hidden: `resolve_settings` raises it when the sync starts, and the status
    bar shows why."""
    if config is not None:
        return config.default_profile
    from ccbrowser.config import default_profile_name

    try:
        return default_profile_name()
    except CCBrowserError:
        return None


def profile_names(config: Config | None) -> list[str]:
    """For the palette (none when the config cannot be read: see `default_profile`)."""
    if config is not None:
        return config.profile_names
    from ccbrowser.config import profile_names as names

    try:
        return names()
    except CCBrowserError:
        return []


def resolve_settings(profile: str | None, config: Config | None) -> Any:
    from ccbrowser.config import resolve

    return resolve(profile, config=config)


def missing_key(settings: Any) -> str | None:
    """The variable to set when these settings cannot sync for want of a key (else None)."""
    if getattr(settings, "has_key", False) or getattr(settings, "flavor", "") == "llama-stack":
        return None
    return getattr(settings, "api_key_env", None) or "OPENAI_API_KEY"
