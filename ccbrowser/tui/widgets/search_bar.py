"""The search box (with its history) and the line under it (a parse error, or the parser's hints)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from ccbrowser.safe import one_line
from ccbrowser.tui.keymap import bindings

PLACEHOLDER = "Search   tool:refund_order A-8812 since:7d   model:gpt-4o*   has:refusal   (/ to focus)"
HISTORY = 100


class SearchBox(Input):
    """`up` / `down` walk the queries used before (newest first, as a shell does); `down` past the
    newest gives back what was being typed, and once more leaves the box for the list (`Leave`)."""

    BINDINGS = [*Input.BINDINGS, *bindings("search")]

    class Leave(Message):
        """Into the list, with the box's query applied (as `enter` does)."""

        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._pos: int | None = None  # where in `history` up/down are; None: not walking it
        self._draft = ""

    def remember(self, text: str) -> None:
        """Add a used query (a repeat moves to the newest place)."""
        text = text.strip()
        self._pos = None
        if not text:
            return
        if text in self.history:
            self.history.remove(text)
        self.history.append(text)
        del self.history[:-HISTORY]

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_history_back(self) -> None:
        if not self.history:
            return
        if self._pos is None:
            self._draft, self._pos = self.value, len(self.history)
        self._pos = max(0, self._pos - 1)
        self._show(self.history[self._pos])

    def action_history_forward(self) -> None:
        if self._pos is None:
            self.post_message(self.Leave(self.value))
            return
        self._pos += 1
        if self._pos >= len(self.history):
            self._pos = None
            self._show(self._draft)
        else:
            self._show(self.history[self._pos])

    def on_blur(self) -> None:
        self.remember(self.value)


class SearchBar(Vertical):
    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cursor_blink = cursor_blink
        self.showing_error = False  # the line under the box holds an error, not a hint

    def compose(self) -> ComposeResult:
        yield SearchBox(placeholder=PLACEHOLDER, id="search", select_on_focus=False)
        yield Static("", id="query-error", markup=False)

    def on_mount(self) -> None:
        self.box.cursor_blink = self._cursor_blink
        self.query_one("#query-error").display = False

    @property
    def box(self) -> SearchBox:
        return self.query_one("#search", SearchBox)

    def set_text(self, text: str) -> None:
        """Show `text` in the box without it counting as typing."""
        if self.box.value != text:
            with self.box.prevent(Input.Changed):
                self.box.value = text

    def say(self, text: str, *, error: bool) -> None:
        """An error (the results stay), a hint, or (empty `text`) nothing."""
        self.showing_error = error and bool(text)
        line = self.query_one("#query-error", Static)
        if error:
            line.update(
                Content.assemble(Content.styled("✗ ", "bold $text-error"), Content(one_line(text, 200)))
            )
        elif text:
            line.update(Content.styled("ℹ " + one_line(text, 200), "$text-warning"))
        line.display = bool(text)
