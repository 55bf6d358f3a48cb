"""A small modal that asks for one line of text (a tag, a view name, a file name).

`check` says what is wrong with an answer (shown under the box, the screen stays) or None; enter
on a good answer dismisses with it, escape with None. Text is `Content`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class Ask(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="ask.cancel")]
    DEFAULT_CSS = """
    Ask { align: center middle; }
    Ask > Vertical {
        width: 64; max-width: 90%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    Ask Label { color: $text-muted; }
    Ask #ask-error { color: $text-error; height: auto; }
    Ask Input { margin: 1 0 0 0; }
    """

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self._title), markup=False)
            yield Input(self._value, placeholder=self._placeholder, id="ask-input")
            yield Label("", id="ask-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        problem = "type something, or escape to cancel" if not answer else None
        if problem is None and self._check is not None:
            problem = self._check(answer)
        if problem:
            self.query_one("#ask-error", Label).update(Content(problem))
            return
        self.dismiss(answer)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
