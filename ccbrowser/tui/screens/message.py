"""A whole message to read (a sync error cut to one line in the status bar), scrollable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ccbrowser.safe import visible


class MessageScreen(ModalScreen[None]):
    """`text` comes from outside (a server's error body): shown as `Content`, controls visible."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close", id="message.close"),
        Binding("y", "copy", "Copy", id="message.copy"),
    ]
    DEFAULT_CSS = """
    MessageScreen { align: center middle; }
    MessageScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%; border: round $error;
        background: $surface; border-title-color: $text-error; border-subtitle-color: $text-muted;
    }
    MessageScreen VerticalScroll { height: auto; max-height: 100%; padding: 0 1; }
    """

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = Content(self.title_text)
        box.border_subtitle = Content("esc close · y copy")
        with box, VerticalScroll():
            yield Static(Content(visible(self.text)), markup=False)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied the message", markup=False, timeout=2)
