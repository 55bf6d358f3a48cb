"""The search box and the line under it (a parse error, or the parser's hints)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from ccbrowser.safe import one_line

PLACEHOLDER = "Search   tool:refund_order A-8812 since:7d   model:gpt-4o*   has:refusal   (/ to focus)"


class SearchBar(Vertical):
    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="search", select_on_focus=False)
        yield Static("", id="query-error", markup=False)

    def on_mount(self) -> None:
        self.box.cursor_blink = self._cursor_blink
        self.query_one("#query-error").display = False

    @property
    def box(self) -> Input:
        return self.query_one("#search", Input)

    def set_text(self, text: str) -> None:
        """Show `text` in the box without it counting as typing."""
        if self.box.value != text:
            with self.box.prevent(Input.Changed):
                self.box.value = text

    def say(self, text: str, *, error: bool) -> None:
        """An error (the results stay), a hint, or (empty `text`) nothing."""
        line = self.query_one("#query-error", Static)
        if error:
            line.update(
                Content.assemble(Content.styled("✗ ", "bold $text-error"), Content(one_line(text, 200)))
            )
        elif text:
            line.update(Content.styled("ℹ " + one_line(text, 200), "$text-warning"))
        line.display = bool(text)
