"""The conversation list (`c` toggles it with the completion list): one row per thread, the most
recently active first: first user message, turns, models, last activity, total tokens and cost.

With a search active it lists the conversations that hold its matches instead, in the order of
each one's first match, with how many matches each holds (`hits`); picking a row then shows that
first match, so its turn is the one marked in the Thread tab.

Rows load a page at a time as the cursor nears the end (an account can hold a hundred thousand
threads); picking a row posts `Picked` with the thread's root (or first match), and the app shows
that completion with its Thread tab. A cost is the sum of the known costs; `+?` says some of
the thread's completions have none (unknown is never counted as $0), `?` that none has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from rich.text import Text
from textual import work
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from ccbrowser.render import usd
from ccbrowser.safe import one_line
from ccbrowser.store.conversation import Matching, Summary, Totals
from ccbrowser.store.labels import Label
from ccbrowser.tui.keymap import bindings
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.thread_reads import grouped, matching, summaries, summary

PAGE = 200
PREVIEW = 60  # characters of the first user message (the list scrolls sideways in a narrow pane)
COLUMNS = ("last", "tokens", "cost")  # after turns and the message; then the models
MIN_PREVIEW = 16


def _ago(ts: int | None, now: float) -> str:
    if ts is None:
        return "?"
    d = max(0, int(now - ts))
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if d >= size:
            return f"{d // size}{unit}"
    return "now"


def cost_cell(t: Totals | None) -> str:
    """A thread's cost in a list cell: known costs summed, `+?` when some are unknown."""
    if t is None or t.cost_usd is None:
        return "?"
    return usd(t.cost_usd, short=True) + ("+?" if t.cost_unknown else "")


def label_marks(label: Label | None) -> str:
    """A thread's labels as the start of its row: `★` when starred, then `#tag` each."""
    if label is None:
        return ""
    marks = (["★"] if label.starred else []) + [f"#{one_line(t, 24)}" for t in label.tags]
    return " ".join(marks)


def preview_cell(s: Summary, width: int = PREVIEW) -> Text:
    """The first user message, after the thread's labels. A `Text`, never a string: the table
    reads a string cell as markup, and this is the user's (or the server's) text."""
    cell = Text(no_wrap=True, end="")
    marks = label_marks(s.label)
    if marks:
        cell.append(one_line(marks, 40) + " ", style="bold yellow")
    cell.append(one_line(s.preview or "(no user message)", PREVIEW))
    cell.truncate(width, overflow="ellipsis")  # in cells: a wide character counts two
    return cell


class ConversationList(DataTable[str | Text]):
    BINDINGS = bindings("list")  # the completion list's keys (j/k, g/G, ctrl+d/u, enter)

    class Picked(Message):
        """The cursor is on a conversation: show its root completion."""

        def __init__(self, root: str, thread: str) -> None:
            super().__init__()
            self.root = root
            self.thread = thread

    class Loaded(Message):
        def __init__(self, rows: list[Summary], offset: int, found: Matching | None, gen: int) -> None:
            super().__init__()
            self.rows = rows
            self.offset = offset
            self.found = found
            self.gen = gen

    def __init__(
        self, reads: Reads, clock: Callable[[], float] = time.time, *, id: str | None = None
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.reads = reads
        self.clock = clock
        self.rows_by_key: dict[str, Summary] = {}
        self._loading = False
        self._exhausted = False
        self._matches: Sequence[int] | None = None  # the search's matches; None: every thread
        self._found: Matching | None = None  # those matches grouped, once per reload
        self._gen = 0  # reloads so far: a page of an earlier one is dropped
        self._searching: bool | None = None  # the columns shown are for a search
        self._width = PREVIEW  # the message cells' width, decided at each reload's first page

    def on_mount(self) -> None:
        self._columns(False)

    def _columns(self, searching: bool) -> None:
        """Turns, then the first user message cut to what the pane shows (`_preview_width`): a
        narrow list still tells its conversations apart. The other numbers and the models follow
        (the Thread tab's header has them too); the list scrolls sideways to them."""
        if searching == self._searching:
            return
        self._searching = searching
        self.clear(columns=True)
        self.border_title = "Conversations with matches" if searching else "Conversations"
        if searching:
            self.add_column("hits", key="hits")
        self.add_column("turns", key="turns")
        self.add_column("first user message", key="preview")
        for name in COLUMNS:
            self.add_column(name, key=name)
        self.add_column("models", key="models")

    def on_resize(self) -> None:
        """The previews are cut to the pane: cut them again when it changes (a first page read
        before the list was laid out was cut to a guess)."""
        width = self._preview_width()
        if width != self._width and self.rows_by_key:
            self._width = width
            items = list(self.rows_by_key.items())
            for i, (key, s) in enumerate(items):  # the column's width measured once, at the last
                self.update_cell(key, "preview", preview_cell(s, width), update_width=i == len(items) - 1)

    def _preview_width(self) -> int:
        """What is left of the pane after the turns (and hits) cells, within PREVIEW."""
        width = self.size.width or self.screen.size.width // 3
        used = 11 + (8 if self._searching else 0)  # those cells, their padding, the scrollbar
        return max(MIN_PREVIEW, min(PREVIEW, width - used))

    def reload(self, matches: Sequence[int] | None = None) -> None:
        """Every conversation, or (`matches`: a search's pks in its order) those holding them."""
        self.clear()
        self.rows_by_key.clear()
        self._exhausted = False
        self._matches, self._found = matches, None
        self._gen += 1
        self._columns(matches is not None)
        self.load(0)

    @work(exclusive=True, group="conversations", exit_on_error=False)
    async def load(self, offset: int) -> None:
        self._loading = True
        gen, found = self._gen, self._found
        if self._matches is None:
            rows = await self.reads.read(summaries, PAGE, offset)
        else:
            if found is None:
                found = await self.reads.read(grouped, self._matches)
            rows = await self.reads.read(matching, found, PAGE, offset)
        self.post_message(self.Loaded(rows, offset, found, gen))

    def on_conversation_list_loaded(self, message: ConversationList.Loaded) -> None:
        if message.gen != self._gen:
            return  # a reload started meanwhile: its own load is under way
        self._loading = False
        if message.offset != self.row_count:
            return
        self._found = message.found
        self._exhausted = len(message.rows) < PAGE
        now = self.clock()
        self._width = width = self._preview_width() if message.offset == 0 else self._width
        for s in message.rows:
            self.rows_by_key[s.thread] = s
            cells: list[str | Text] = [
                str(s.turns) + (f" ⑂{s.branches}" if s.branches else ""),
                preview_cell(s, width),
                _ago(s.last_created, now),
                f"{s.total_tokens or 0:,}",
                cost_cell(s.totals),
                Text(one_line((s.models or "?").replace(",", ", "), 16)),
            ]
            if self._matches is not None:
                cells.insert(0, f"{s.matches or 0:,}")
            self.add_row(*cells, key=s.thread)
        if message.offset == 0:
            if message.rows:
                self.move_cursor(row=0)
                self._picked(0)
            else:
                self.post_message(self.Empty())

    @work(group="conversation-row", exit_on_error=False)
    async def refresh_current(self) -> None:
        """The cursor's row read again (its labels just changed); the rest stays as it is."""
        if not 0 <= self.cursor_row < self.row_count:
            return
        key = str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)
        old = self.rows_by_key.get(key)
        fresh = await self.reads.read(summary, key)
        if old is None or fresh is None or self.rows_by_key.get(key) is not old:
            return  # reloaded meanwhile
        self.rows_by_key[key] = fresh = replace(fresh, matches=old.matches, first_match=old.first_match)
        self.update_cell(key, "preview", preview_cell(fresh, self._width))

    def action_cursor_top(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def action_open(self) -> None:
        self.post_message(self.Opened())

    class Opened(Message):
        """Enter on a row: read it in the detail pane."""

    class Empty(Message):
        """The list has no row (no thread, or none holds a match)."""

    def _picked(self, row: int) -> None:
        if 0 <= row < self.row_count:
            key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
            s = self.rows_by_key.get(str(key))
            if s is not None:
                self.post_message(self.Picked(s.first_match or s.root, s.thread))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._picked(event.cursor_row)
        if not self._loading and not self._exhausted and event.cursor_row >= self.row_count - 20:
            self.load(self.row_count)
