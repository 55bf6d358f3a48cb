"""A read-only document of `Content` lines, rendered with the Line API.

Lines are wrapped once per width and only the visible ones are turned into strips, so a long
conversation costs a wrap, not a widget per message. Search matches carry the `document.MATCH`
style; the rows holding them are what `n` / `N` jump between.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from rich.segment import Segment
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style

from ccbrowser.tui.document import MATCH
from ccbrowser.tui.keymap import bindings


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Change a Line-API view's scrollable size without a layout pass of the whole screen.

    Assigning `virtual_size` (a `layout=True` reactive) re-lays out every widget on the screen:
    ~10 ms at 160x48, on every cursor move (the detail's line count changes) and every search.
    The view's own box does not change, only its scrollbars and scroll limits: update those.
    """
    if size == view.virtual_size:
        return
    if not view.is_mounted or not view.size:
        view.virtual_size = size  # not laid out yet: the first layout takes it from here
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)
    view.refresh()


@dataclass(frozen=True, slots=True)
class Wrapped:
    """Lines wrapped to one width: the rows, the match rows, the line each row comes from."""

    width: int
    rows: list[Content]
    match_rows: list[int]
    origin: array[int]


def wrap(lines: list[Content], width: int) -> Wrapped:
    """Wrap `lines` to `width` cells. Pure (no widget state), so a thread can wrap a big document."""
    rows: list[Content] = []
    match_rows: list[int] = []
    origin = array("i")
    for index, line in enumerate(lines):
        if line.cell_length <= width and "\t" not in line.plain:
            parts = [line]
        else:
            parts = line.wrap(width) or [Content()]
        for part in parts:
            for span in part.spans:
                if span.style is MATCH:
                    match_rows.append(len(rows))
            rows.append(part)
            origin.append(index)
    return Wrapped(width, rows, match_rows, origin)


class DocView(ScrollView, can_focus=True):
    """Shows a document; remembers the match rows for `n` / `N`."""

    BINDINGS = bindings("detail")
    # The vertical scrollbar always shown (an empty track when the text fits): shown only when
    # needed, it appeared and went on every other cursor move, and each time Textual laid out
    # the whole screen again (~half the moves at 1M paid a second, full-screen render).
    DEFAULT_CSS = """
    DocView { background: $surface; padding: 0 0 0 1; overflow-x: hidden; overflow-y: scroll; }
    """

    class LineClicked(Message):
        """A click on a line of the document (its index in the lines given to `set_lines`)."""

        def __init__(self, view: DocView, line: int) -> None:
            super().__init__()
            self.view, self.line = view, line

        @property
        def control(self) -> DocView:
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Content] = []
        self._wrapped: list[Content] = []
        self._origin = array("i")
        self._width = 0
        self.match_rows: list[int] = []
        self.current_match = -1
        self._strip_cache: dict[int, Strip] = {}

    # -- content ------------------------------------------------------------------------------

    def set_lines(
        self, lines: list[Content], *, keep_scroll: bool = False, wrapped: Wrapped | None = None
    ) -> None:
        """Show `lines`; `wrapped` is them wrapped already (on a thread), used if the width still fits."""
        self._lines = lines
        self._width = 0
        self.current_match = -1
        if wrapped is not None and wrapped.width == self._content_width():
            self._apply(wrapped)
        else:
            self._rewrap()
        if not keep_scroll:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    @property
    def plain(self) -> str:
        """The text as displayed (for tests and snapshots of safety)."""
        return "\n".join(line.plain for line in self._lines)

    def _content_width(self) -> int:
        # Always leave room for the vertical scrollbar: wrapping must not depend on whether it shows.
        return max(10, self.size.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical)

    def content_width(self) -> int:
        return self._content_width()

    def _rewrap(self) -> None:
        width = self._content_width()
        if width != self._width:
            top = self.top_line if self._origin else 0
            self._apply(wrap(self._lines, width))
            if top:  # the same line stays at the top (a tab sized after it was filled)
                self.scroll_to_line(top)

    def scroll_to_line(self, line: int) -> None:
        """Scroll so that line `line` (of the lines given) is at the top."""
        row = self.row_of(line)
        if row >= 0:
            self.scroll_to(y=row, animate=False, immediate=True)

    def _apply(self, wrapped: Wrapped) -> None:
        self._width = wrapped.width
        self._wrapped, self.match_rows, self._origin = wrapped.rows, wrapped.match_rows, wrapped.origin
        self._strip_cache.clear()
        set_virtual_size(self, Size(wrapped.width, len(wrapped.rows)))

    @property
    def top_line(self) -> int:
        """The index (in the lines given) of the line at the top of the view."""
        row = min(round(self.scroll_y), len(self._origin) - 1)
        return self._origin[row] if row >= 0 else 0

    def row_of(self, line: int) -> int:
        """The first wrapped row of line `line` (where a click on it lands, at the top)."""
        return self._origin.index(line) if line in self._origin else -1

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < len(self._origin):
            self.post_message(self.LineClicked(self, self._origin[row]))

    def on_resize(self) -> None:
        self._rewrap()

    # -- matches ------------------------------------------------------------------------------

    def jump_match(self, step: int) -> tuple[int, int]:
        """Move to the next (+1) / previous (-1) match; returns (1-based index, total)."""
        total = len(self.match_rows)
        if not total:
            return 0, 0
        if self.current_match < 0:
            top = round(self.scroll_y)
            after = [i for i, r in enumerate(self.match_rows) if r >= top]
            self.current_match = (
                (after[0] if after else 0) if step > 0 else ((after[0] - 1) % total if after else total - 1)
            )
        else:
            self.current_match = (self.current_match + step) % total
        row = self.match_rows[self.current_match]
        self._strip_cache.clear()
        self.scroll_to(
            y=max(0, row - self.scrollable_content_region.height // 3), animate=False, immediate=True
        )
        self.refresh()
        return self.current_match + 1, total

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if row >= len(self._wrapped):
            return Strip.blank(width, base)
        strip = self._strip_cache.get(row)
        if strip is None:
            visual = self.visual_style
            line = self._wrapped[row]
            segments = [Segment(t, (visual + s).rich_style) for t, s in line.render(visual, end="")]
            strip = Strip(segments, line.cell_length)
            if self.current_match >= 0 and self.match_rows and self.match_rows[self.current_match] == row:
                strip = strip.apply_style((visual + Style.parse("on $accent 30%")).rich_style)
            if len(self._strip_cache) > 2000:
                self._strip_cache.clear()
            self._strip_cache[row] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, row)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip_cache.clear()
