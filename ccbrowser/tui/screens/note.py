"""`a`: the note editor, a TextArea in a modal. ctrl+s saves (an empty note removes it), escape
closes without saving. The note is the user's own text, but a CLI `--note` can hold escape
sequences: it is shown with controls made visible, and saved back only when edited."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, TextArea

from ccbrowser.safe import visible
from ccbrowser.store.labels import note_problem
from ccbrowser.tui.keymap import bindings


class NoteEditor(ModalScreen[str | None]):
    """Dismisses with the note to save ("" removes it), or None (cancelled, or not edited)."""

    BINDINGS = bindings("note")
    DEFAULT_CSS = """
    NoteEditor { align: center middle; }
    NoteEditor > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    NoteEditor Label { color: $text-muted; }
    NoteEditor #note-error { color: $text-error; height: auto; }
    NoteEditor TextArea { height: 10; margin: 1 0 0 0; }
    """

    def __init__(self, title: str, note: str, *, hint: str = "", mixed: bool = False) -> None:
        super().__init__()
        self._title = title
        self._mixed = mixed  # the selection's notes differ: even an unedited box replaces them
        self._original = note
        self._shown = visible(note)
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self._title), markup=False)
            if self._hint:
                yield Label(Content(self._hint), markup=False, id="note-hint")
            yield TextArea(self._shown, soft_wrap=True, id="note-text")
            yield Label("", id="note-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if text == self._shown and not self._mixed:
            self.dismiss(None)  # not edited: nothing to write (and an escaped note stays as it was)
            return
        text = text.strip()
        if problem := note_problem(text):
            self.query_one("#note-error", Label).update(Content(problem))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
