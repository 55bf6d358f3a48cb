"""The conversation list (`c` toggles it with the completion list): one row per thread, the most
recently active first: first user message, turns, models, last activity, total tokens.

Rows load a page at a time as the cursor nears the end (an account can hold a hundred thousand
threads); picking a row posts `Picked` with the thread's root, and the app shows that
completion with its Thread tab.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from ccbrowser.safe import one_line
from ccbrowser.store.conversation import Summary
from ccbrowser.tui.keymap import bindings
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.thread_reads import summaries

PAGE = 200


def _ago(ts: int | None, now: float) -> str:
    if ts is None:
        return "?"
    d = max(0, int(now - ts))
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if d >= size:
            return f"{d // size}{unit} ago"
    return "now"


class ConversationList(DataTable[str]):
    BINDINGS = bindings("list")  # the completion list's keys (j/k, g/G, ctrl+d/u, enter)

    class Picked(Message):
        """The cursor is on a conversation: show its root completion."""

        def __init__(self, root: str, thread: str) -> None:
            super().__init__()
            self.root = root
            self.thread = thread

    class Loaded(Message):
        def __init__(self, rows: list[Summary], offset: int) -> None:
            super().__init__()
            self.rows = rows
            self.offset = offset

    def __init__(
        self, reads: Reads, clock: Callable[[], float] = time.time, *, id: str | None = None
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.reads = reads
        self.clock = clock
        self.rows_by_key: dict[str, Summary] = {}
        self._loading = False
        self._exhausted = False

    def on_mount(self) -> None:
        self.border_title = "Conversations"
        # the numbers first: a narrow list still shows them, the message takes what is left
        self.add_column("turns", key="turns")
        self.add_column("last", key="last")
        self.add_column("tokens", key="tokens")
        self.add_column("models", key="models")
        self.add_column("first user message", key="preview")

    def reload(self) -> None:
        self.clear()
        self.rows_by_key.clear()
        self._exhausted = False
        self.load(0)

    @work(exclusive=True, group="conversations", exit_on_error=False)
    async def load(self, offset: int) -> None:
        self._loading = True
        rows = await self.reads.read(summaries, PAGE, offset)
        self.post_message(self.Loaded(rows, offset))

    def on_conversation_list_loaded(self, message: ConversationList.Loaded) -> None:
        self._loading = False
        if message.offset != self.row_count:
            return  # a reload started meanwhile
        self._exhausted = len(message.rows) < PAGE
        now = self.clock()
        width = max(16, self.size.width - 44)
        for s in message.rows:
            self.rows_by_key[s.thread] = s
            self.add_row(
                str(s.turns) + (f" ⑂{s.branches}" if s.branches else ""),
                _ago(s.last_created, now),
                f"{s.total_tokens or 0:,}",
                one_line((s.models or "?").replace(",", ", "), 16),
                one_line(s.preview or "(no user message)", width),
                key=s.thread,
            )
        if message.offset == 0 and message.rows:
            self.move_cursor(row=0)
            self._picked(0)

    def action_cursor_top(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def action_open(self) -> None:
        self.post_message(self.Opened())

    class Opened(Message):
        """Enter on a row: read it in the detail pane."""

    def _picked(self, row: int) -> None:
        if 0 <= row < self.row_count:
            key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
            s = self.rows_by_key.get(str(key))
            if s is not None:
                self.post_message(self.Picked(s.root, s.thread))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._picked(event.cursor_row)
        if not self._loading and not self._exhausted and event.cursor_row >= self.row_count - 20:
            self.load(self.row_count)
