"""A small modal list to pick one of a few things (which tool call, what to copy).

Options are `Content`, never markup: tool names come from the data.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class Chooser(ModalScreen[str | None]):
    """Dismisses with the chosen option's id, or None on escape."""

    BINDINGS = [
        Binding("escape,q", "dismiss_none", "Cancel", id="chooser.cancel"),
        Binding("j", "cursor_down", "Down", show=False, id="chooser.down"),
        Binding("k", "cursor_up", "Up", show=False, id="chooser.up"),
    ]
    DEFAULT_CSS = """
    Chooser { align: center middle; }
    Chooser > Vertical {
        width: auto; max-width: 90%; min-width: 40; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    Chooser Label { color: $text-muted; margin-bottom: 1; }
    Chooser OptionList { height: auto; max-height: 20; border: none; width: auto; min-width: 36; }
    """

    def __init__(self, title: str, options: list[tuple[str, Content]]) -> None:
        super().__init__()
        self._title = title
        self._options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self._title), markup=False)
            yield OptionList(*[Option(prompt, id=key) for key, prompt in self._options], id="choices")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
