"""A small modal list to pick one of a few things (which tool call, what to copy).

Options are `Content`, never markup: tool names come from the data. Each option is numbered, and
may have a letter: `1`..`9` or the letter picks it at once, as in lazygit's menus.
"""

from __future__ import annotations

from textual import events
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

    def __init__(
        self, title: str, options: list[tuple[str, Content]], letters: dict[str, str] | None = None
    ) -> None:
        """`letters`: option id -> its letter (never j, k or q: those move and cancel)."""
        super().__init__()
        self._title = title
        self._options = options
        self._letters = letters or {}
        self._hotkeys = {str(i + 1): key for i, (key, _p) in enumerate(options[:9])}
        self._hotkeys.update({letter: key for key, letter in self._letters.items()})

    def _prompt(self, index: int, key: str, prompt: Content) -> Content:
        number = f"{index + 1} " if index < 9 else "  "
        letter = self._letters.get(key, " ")
        return Content.assemble(
            Content.styled(number, "$text-muted"), Content.styled(f"{letter}  ", "bold $text-accent"), prompt
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self._title), markup=False)
            yield OptionList(
                *[
                    Option(self._prompt(i, key, prompt), id=key)
                    for i, (key, prompt) in enumerate(self._options)
                ],
                id="choices",
            )

    def on_key(self, event: events.Key) -> None:
        key = self._hotkeys.get(event.character or "")
        if key is not None:
            event.stop()
            event.prevent_default()
            self.dismiss(key)

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
