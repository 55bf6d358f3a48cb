"""A small progress line for long commands: on a terminal only, quiet when piped.

Lines that matter off a terminal too (warnings, rate-limit waits) go through :meth:`Progress.line`.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Progress:
    """Rewrites one stderr line at most ~10 times a second; nothing at all when stderr is not a TTY."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.total = total
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def _due(self, force: bool) -> bool:
        """At most ~10 redraws a second, none at all when not on a terminal."""
        if not self.enabled:
            return False
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return False
        self._last = now
        return True

    def update(self, done: int, extra: str = "", *, force: bool = False) -> None:
        if not self._due(force):
            return
        now = self._last
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "█" * int(frac * 24) + "░" * (24 - int(frac * 24))
            text = f"{self.label} {bar} {done:,}/{self.total:,} ({rate:,.0f}/s) {extra}"
        else:
            text = f"{self.label} {done:,} ({rate:,.0f}/s) {extra}"
        self._write(text)

    def step(self, done: int, total: int) -> None:
        """`update` for work that knows its total as it goes (a `(done, total)` callback)."""
        self.total = total
        self.update(done)

    def show(self, text: str, *, force: bool = False) -> None:
        """A free-form status line (for work whose rate is not one number, like a sync)."""
        if self._due(force):
            self._write(f"{self.label} · {text}")

    def line(self, text: str) -> None:
        """A line that stays (a warning, a wait): printed even when piped; the bar redraws below it."""
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[2K")
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last = 0.0  # redraw the bar at the next update

    def _write(self, text: str) -> None:
        # Never wider than the terminal: a wrapped line cannot be rewritten and leaves a trail.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if len(text) > width:
            text = text[: max(0, width - 1)] + "…"
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
