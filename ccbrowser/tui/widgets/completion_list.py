"""The completion list: a virtual list over a snapshot of primary keys (toolong-style Line API).

Nothing here is proportional to the number of completions except one `array` of keys: rows are
read a page at a time on the data thread, cached (LRU), and only the visible lines are rendered.
A page that is not loaded yet shows the rows it had in the previous snapshot (a live sync writes
a new snapshot every half second: rows must not flicker), else a dim placeholder for a frame.
Rows that a live refresh adds above the viewport are counted in the border title ("3 new ↑").
For a text query the rows on screen show their matched snippets, read in one batch per frame
on the reads' extras thread (`snippet_query`), so they never delay a page or a detail.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from rich.segment import Segment
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ccbrowser.store import reader
from ccbrowser.store.reader import ListRow
from ccbrowser.tui import search_bridge
from ccbrowser.tui.keymap import bindings
from ccbrowser.tui.marks import Marks
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.widgets.docview import set_virtual_size
from ccbrowser.tui.widgets.row_format import format_row

PAGE = 100
MAX_PAGES = 30  # 3,000 rows kept: a few screens either way, not megabytes of rows
MAX_SNIPPETS = 20_000
MAX_STALE = MAX_PAGES * PAGE
TITLE = "Completions"


class CompletionList(ScrollView, can_focus=True):
    """Keys: see `keymap` (`list.*`). Posts `Highlighted` when the cursor lands on a completion."""

    BINDINGS = bindings("list")
    DEFAULT_CSS = """
    CompletionList { background: $surface; overflow-x: hidden; scrollbar-gutter: stable; }
    """
    COMPONENT_CLASSES = {"completion-list--cursor", "completion-list--cursor-blur", "completion-list--marked"}

    class Highlighted(Message):
        def __init__(self, pk: int | None, index: int) -> None:
            super().__init__()
            self.pk = pk
            self.index = index

    class Opened(Message):
        pass

    class MarksChanged(Message):
        """`space` / `v` changed the marks; `count` is how many are marked now."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, reads: Reads, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reads = reads
        self.pks: array[int] = array("q")
        self.cursor = 0
        self._pages: OrderedDict[int, list[ListRow]] = OrderedDict()
        self._loading: set[int] = set()
        self._generation = 0
        self._strips: dict[tuple[int, int, int], Strip] = {}
        self.query_generation = -1  # which query the snapshot answers (set by the app)
        self.marks = Marks()
        self._stale: dict[int, ListRow] = {}  # the previous snapshot's rows, shown until re-read
        self._new: set[int] = set()  # added by a live refresh above the viewport, not seen yet
        self.new_above = 0
        self._snippet_query: Any | None = None
        self._snippets: dict[int, str] = {}  # pk -> snippet ("" when it has none)
        self._snippets_wanted: set[int] = set()

    def on_mount(self) -> None:
        self.border_title = TITLE

    @property
    def snippet_query(self) -> Any | None:
        return self._snippet_query

    @snippet_query.setter
    def snippet_query(self, query: Any | None) -> None:
        """The parsed query whose matched snippets the rows show (None: the previews)."""
        if query is not self._snippet_query:
            self._snippet_query = query if search_bridge.has_words(query) else None
            self._snippets.clear()
            self._snippets_wanted.clear()

    # -- snapshot -----------------------------------------------------------------------------

    def set_snapshot(
        self, pks: Iterable[int], *, keep_pk: int | None = None, rows_changed: bool = True
    ) -> None:
        """Replace the id snapshot; the cursor stays on `keep_pk` when it is still there."""
        old = self.pks
        self.pks = pks if isinstance(pks, array) else array("q", pks)
        self._generation += 1
        self._loading.clear()  # reads under way answer the old snapshot: they are dropped
        if rows_changed:
            # Two snapshots in a row (a sync commits often): rows the first had not read yet
            # still show what the one before showed.
            fresh = {r.pk: r for page in self._pages.values() for r in page}
            self._stale = fresh if len(self._stale) > MAX_STALE else {**self._stale, **fresh}
            self._pages.clear()
            self._strips.clear()
        else:
            # The same rows (the rest of an answer, whose first keys are the first step's): a
            # page read stays, with its drawn lines, where its keys did not change.
            for page in [
                p
                for p in self._pages
                if self.pks[p * PAGE : (p + 1) * PAGE] != old[p * PAGE : (p + 1) * PAGE]
            ]:
                del self._pages[page]
            for key in [k for k in self._strips if k[0] // PAGE not in self._pages]:
                del self._strips[key]
        index = 0
        screen_row = self.cursor - round(self.scroll_y)
        if keep_pk is not None:
            try:
                index = self.pks.index(keep_pk)
            except ValueError:
                index = min(max(self.cursor, 0), max(0, len(self.pks) - 1))
        set_virtual_size(self, Size(self.size.width, len(self.pks)))
        self.cursor = -1
        if keep_pk is not None and 0 <= screen_row < self.scrollable_content_region.height:
            # Same completion, same place on the screen: new rows above it do not make it jump.
            self.scroll_to(y=max(0, index - screen_row), animate=False, immediate=True)
        elif keep_pk is None:
            self.scroll_to(y=0, animate=False, immediate=True)
        self._count_new(old if keep_pk is not None and rows_changed else None)
        self.move_to(index)

    def _count_new(self, old: array[int] | None) -> None:
        """Note the rows above the viewport that `old` (the snapshot before a live refresh) lacked."""
        top = round(self.scroll_y)
        if old is None:
            self._new.clear()
        elif top and self.pks[:top] != old[:top]:
            # the rows above the viewport that `old` lacks (a set of those, not of all of `old`:
            # a million keys would be ~60 MB)
            added = set(self.pks[:top])
            added.difference_update(old)
            self._new.update(added)
        count = sum(1 for pk in self.pks[:top] if pk in self._new) if self._new and top else 0
        if not count:
            self._new.clear()
        if count != self.new_above:
            self.new_above = count
            self.border_title = f"{TITLE} · {count:,} new ↑ (g)" if count else TITLE

    @property
    def current_pk(self) -> int | None:
        return self.pks[self.cursor] if 0 <= self.cursor < len(self.pks) else None

    def row_at(self, index: int) -> ListRow | None:
        page = self._pages.get(index // PAGE)
        if page is None:
            return self._stale.get(self.pks[index]) if 0 <= index < len(self.pks) else None
        offset = index % PAGE
        return page[offset] if offset < len(page) else None

    # -- page loading -------------------------------------------------------------------------

    def _want(self, first: int, last: int) -> None:
        """Load every page that rows first..last touch, then one page either side.

        The pages on screen come in one read, so a jump repaints the list once; the pages either
        side are asked for after the next frame, so they queue behind the detail read."""
        if not self.pks:
            return
        end = (len(self.pks) - 1) // PAGE
        shown = self._missing_pages(first // PAGE, min(end, last // PAGE))
        if shown:
            self._read_pages(shown)
        if self._missing_pages(max(0, first // PAGE - 1), min(end, last // PAGE + 1)):
            self.call_after_refresh(self._prefetch, first, last, self._generation)

    def _missing_pages(self, lo: int, hi: int) -> list[int]:
        missing = []
        for page in range(lo, hi + 1):
            if page in self._pages:
                self._pages.move_to_end(page)
            elif page not in self._loading:
                missing.append(page)
        return missing

    def _prefetch(self, first: int, last: int, generation: int) -> None:
        if generation == self._generation and self.pks:
            end = (len(self.pks) - 1) // PAGE
            if pages := self._missing_pages(max(0, first // PAGE - 1), min(end, last // PAGE + 1)):
                self._read_pages(pages)

    def _read_pages(self, pages: list[int]) -> None:
        self._loading.update(pages)
        # the app's worker: a failed read reaches its one Worker.StateChanged handler
        self.app.run_worker(self._load(pages, self._generation), group="pages", exit_on_error=False)

    async def _load(self, pages: list[int], generation: int) -> None:
        keys = [list(self.pks[page * PAGE : (page + 1) * PAGE]) for page in pages]
        try:
            rows = await self.reads.read(reader.rows_by_pk, [pk for chunk in keys for pk in chunk])
        finally:
            if generation == self._generation:
                self._loading.difference_update(pages)
        if generation != self._generation:
            return
        found = {r.pk: r for r in rows}  # a row gone between snapshot and read keeps its place
        for page, chunk in zip(pages, keys, strict=True):
            self._pages[page] = [found.get(pk) or _missing(pk) for pk in chunk]
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        # Repaint the rows on screen that this read filled (they showed a placeholder or the
        # previous snapshot's row), and only those.
        first, last = self._visible_range()
        for page in pages:
            lo, hi = max(first, page * PAGE), min(last, (page + 1) * PAGE, len(self.pks))
            if lo < hi:
                for key in [k for k in self._strips if lo <= k[0] < hi]:
                    del self._strips[key]
                self.refresh_lines(lo, hi - lo)

    def _want_snippet(self, pk: int) -> None:
        """Ask for a shown row's snippet; the asks of one frame go in one read."""
        if pk in self._snippets or pk in self._snippets_wanted:
            return
        if not self._snippets_wanted:
            self.call_later(self._read_snippets)
        self._snippets_wanted.add(pk)

    def _read_snippets(self) -> None:
        pks, self._snippets_wanted = list(self._snippets_wanted), set()
        if pks and self._snippet_query is not None:
            self.app.run_worker(
                self._load_snippets(self._snippet_query, pks), group="snippets", exit_on_error=False
            )

    async def _load_snippets(self, query: Any, pks: list[int]) -> None:
        found = await self.reads.read_aside(search_bridge.snippets, query, pks)
        if query is not self._snippet_query:
            return
        if len(self._snippets) > MAX_SNIPPETS:
            self._snippets.clear()
        self._snippets.update({pk: found.get(pk, "") for pk in pks})
        self._strips.clear()
        self.refresh()

    def _visible_range(self) -> tuple[int, int]:
        top = round(self.scroll_y)
        return top, top + self.scrollable_content_region.height

    # -- cursor -------------------------------------------------------------------------------

    def move_to(self, index: int, *, center: bool = False) -> None:
        if not self.pks:
            self.cursor = 0
            self.refresh()
            self.post_message(self.Highlighted(None, 0))
            return
        index = max(0, min(index, len(self.pks) - 1))
        if index == self.cursor:
            return
        old, self.cursor = self.cursor, index
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if center:
            self.scroll_to(y=max(0, index - height // 2), animate=False, immediate=True)
        elif index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        if round(self.scroll_y) == top and 0 <= old - top < height:
            # No scroll: only the two rows that changed are drawn again (strips are cached by row).
            self.refresh_line(old)
            self.refresh_line(index)
        else:
            self.refresh()
        first, last = self._visible_range()
        self._want(min(first, index), max(last, index))
        self.post_message(self.Highlighted(self.pks[index], index))

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self.move_to(0)

    def action_cursor_bottom(self) -> None:
        self.move_to(len(self.pks) - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_open(self) -> None:
        self.post_message(self.Opened())

    def action_toggle_mark(self) -> None:
        if (pk := self.current_pk) is not None:
            self.marks.toggle(pk)
            self.refresh_marks()
            self.move_to(self.cursor + 1)  # lazygit / k9s: marking moves on

    def action_mark_range(self) -> None:
        if self.pks:
            self.marks.mark_range(self.pks, self.cursor)
            self.refresh_marks()

    def refresh_marks(self) -> None:
        """Draw the marks again (after a change here or a bulk action) and say how many there are."""
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(len(self.marks)))

    async def _on_click(self, event: events.Click) -> None:
        index = round(self.scroll_y) + event.y
        if 0 <= index < len(self.pks):
            self.move_to(index)
            if event.chain >= 2:
                self.post_message(self.Opened())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        first, last = self._visible_range()
        self._want(first, last)
        if self._new and new < old:
            self._count_new(self.pks)

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.pks))
        first, last = self._visible_range()
        self._want(first, last)

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        width = self.scrollable_content_region.width
        base = self.visual_style.rich_style
        if index >= len(self.pks):
            if index == 0 and not self.pks:
                return self._text_strip(Content.styled(" No completions here.", "$text-muted italic"), width)
            return Strip.blank(width, base)
        selected = index == self.cursor
        marked = self.pks[index] in self.marks
        key = (index, width, ((2 if self.has_focus else 1) if selected else 0) + 3 * marked)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        row = self.row_at(index)
        if row is None:
            self._want(index, index)
            return self._text_strip(Content.styled(" …", "$text-muted"), width, selected)
        snippet_due = self._snippet_query is not None and row.pk not in self._snippets
        if snippet_due:
            self._want_snippet(row.pk)
        snippet = None if snippet_due else self._snippets.get(row.pk)
        if marked:
            line = Content.assemble(
                Content.styled("● ", "bold $text-accent"), format_row(row, max(1, width - 2), snippet)
            )
        else:
            line = format_row(row, width, snippet)
        strip = self._text_strip(line, width, selected, marked)
        if snippet_due:
            return strip  # not cached: the snippet follows
        if len(self._strips) > 500:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def _text_strip(
        self, content: Content, width: int, selected: bool = False, marked: bool = False
    ) -> Strip:
        visual = self.visual_style
        if marked and not selected:
            visual = self.get_visual_style("completion-list--marked")
        if selected:
            component = "completion-list--cursor" if self.has_focus else "completion-list--cursor-blur"
            visual = self.get_visual_style(component)
        segments = [Segment(t, (visual + s).rich_style) for t, s in content.render(visual, end="")]
        strip = Strip(segments, content.cell_length)
        return strip.crop_extend(0, width, visual.rich_style)


def _missing(pk: int) -> ListRow:
    return ListRow(pk, "", None, None, "(gone)", None, None, 0, False, False, 0, None, None, None, False)
