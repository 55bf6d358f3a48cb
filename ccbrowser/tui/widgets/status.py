"""The status bar: matches, profile, last sync, sync progress, offline / no key.

State lives in a small frozen dataclass that the app changes through `set`; rendering is `Content` only (profile names and
error messages come from outside and must not be parsed as markup).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from textual.content import Content
from textual.widget import Widget

from ccbrowser.safe import one_line
from ccbrowser.tui.messages import ShowSyncError
from ccbrowser.words import plural


@dataclass(frozen=True)
class StatusState:
    matches: int | None = None  # None: no query
    total: int = 0
    searching: bool = False
    partial: bool = False  # `matches` is a first screenful; the full count is on its way
    profile: str | None = None
    last_sync: float | None = None
    sync_text: str | None = None  # progress while a sync runs
    sync_error: str | None = None
    connectivity: str | None = None  # "no key", "offline", "sync unavailable" or None
    match_pos: tuple[int, int] | None = None
    marked: int = 0  # completions marked in the list (space / v)
    push_text: str | None = None  # a push of tags (`P`): its progress, then its result
    sort: str = "newest"
    extra: dict[str, str] = field(default_factory=dict)


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    d = max(0, int(now - ts))
    if d < 60:
        return "just now" if d < 5 else f"{d}s ago"
    if d < 3600:
        return f"{d // 60}m ago"
    if d < 86400:
        return f"{d // 3600}h ago"
    return f"{d // 86400}d ago"


class StatusBar(Widget):
    """One line, fixed height: redrawn without a layout pass (it changes on every search)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = StatusState()
        self.clock = clock
        self._shown: Content | None = None

    def on_mount(self) -> None:
        self.set_interval(5, self.update_state)  # keeps "synced Ns ago" honest

    def on_click(self) -> None:
        """A sync error is cut to fit the line: a click shows all of it."""
        if self.state.sync_error:
            self.post_message(ShowSyncError())

    def on_resize(self) -> None:
        self.update_state()

    def set(self, **changes: Any) -> None:
        """The one way the status changes: fields of `StatusState`, then one redraw if it shows."""
        self.state = replace(self.state, **changes)
        self.update_state()

    def update_state(self) -> None:
        """Redraw when what it shows changed (also every 5 s: "synced Ns ago")."""
        content = self.render_state()
        if self._shown is None or not content.is_same(self._shown):
            self._shown = content
            self.refresh()

    def render(self) -> Content:
        return self._shown if self._shown is not None else self.render_state()

    def render_state(self) -> Content:
        """The line; when it does not fit the bar, tighter separators and no profile name."""
        width = self.content_region.width or 10_000
        line = self._line(wide=True)
        return line if line.cell_length <= width else self._line(wide=False)

    def _line(self, *, wide: bool) -> Content:
        s = self.state
        sep = Content.styled("  │  " if wide else " │ ", "$text-muted 50%")
        parts: list[Content] = []
        if s.matches is None:
            parts.append(Content.styled(plural(s.total, "completion"), "bold $text"))
        else:
            parts.append(
                Content.styled(
                    f"{s.matches:,}+ matches" if s.partial else plural(s.matches, "match"),
                    "bold $text-accent",
                )
            )
            parts.append(Content.styled(f" of {s.total:,}", "$text-muted"))
        if s.searching:
            parts.append(Content.styled(" …", "$text-muted"))
        if s.marked:
            parts += [sep, Content.styled(f"● {s.marked:,} marked", "bold $text-accent")]
        parts += [sep, Content.styled(f"↕ {s.sort}", "$text-muted")]
        if s.match_pos is not None:
            parts += [sep, Content.styled(f"match {s.match_pos[0]}/{s.match_pos[1]}", "$text-warning")]
        if s.profile and wide:
            parts += [sep, Content("profile "), Content.styled(one_line(s.profile, 30), "bold")]
        parts += [sep, Content(f"synced {ago(s.last_sync, self.clock())}")]
        if s.sync_text:
            parts += [sep, Content.styled("⟳ " + one_line(s.sync_text, 60), "$text-success")]
        if s.push_text:
            parts += [sep, Content.styled("⇡ " + one_line(s.push_text, 80), "$text-accent")]
        if s.sync_error:
            error = one_line(s.sync_error, 120)
            more = " (click, or ctrl+p › sync error)" if error != s.sync_error else ""
            parts += [
                sep,
                Content.styled("✗ " + error, "bold $text-error"),
                Content.styled(more, "$text-muted"),
            ]
        if s.connectivity:
            parts += [sep, Content.styled(one_line(s.connectivity, 40), "bold $text-warning")]
        return Content.assemble(*parts)
