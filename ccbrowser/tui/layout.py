"""Which panes show: both side by side, or one at a time (narrow terminals, `+` maximised).

The layout is a pure function of the width, the maximised pane and the pane in use, applied as
classes on the main screen (`ccbrowser.tcss` hides and sizes the panes from them). The app calls
`classes` at start, on every resize and when focus moves between the panes, so a resize gives
exactly the layout a fresh start at that size gives.
"""

from __future__ import annotations

from typing import Literal

from textual.dom import DOMNode
from textual.widgets import Footer

Pane = Literal["list", "detail"]

ONE_PANE_BELOW = 100  # columns: below this the list and the detail take turns (`enter` / `esc`)
WIDE_FROM = 140  # columns: the detail gets 3/5 of the width
ALL_CLASSES = frozenset({"-one-pane", "-show-list", "-show-detail", "-wide"})


def classes(width: int, maximised: Pane | None, pane: Pane) -> set[str]:
    """The screen classes for a terminal `width` columns wide.

    `maximised`: the pane `+` maximised (None: none); `pane`: the pane that has (or last had) focus,
    the one shown when only one shows. A maximised pane follows focus: `tab` swaps which one fills
    the screen, as in lazygit's full-screen mode.
    """
    if width < ONE_PANE_BELOW or maximised is not None:
        return {"-one-pane", f"-show-{pane}"}
    return {"-wide"} if width >= WIDE_FROM else set()


class PaneLayout:
    """The layout's state (maximised pane, pane in use) and its one way onto the screen."""

    def __init__(self) -> None:
        self.maximised: Pane | None = None
        self.pane: Pane = "list"

    def apply(self, screen: DOMNode, width: int) -> None:
        wanted = classes(width, self.maximised, self.pane)
        for name in ALL_CLASSES:
            screen.set_class(name in wanted, name)
        for footer in screen.query(Footer):  # narrow: every key label still fits on the line
            footer.compact = width < ONE_PANE_BELOW
            footer.show_command_palette = width >= ONE_PANE_BELOW

    def toggle_maximised(self, width: int) -> str | None:
        """`+`: maximise the pane in use, or show both again; at a width that shows one pane
        anyway nothing changes, and the returned line says so."""
        if width < ONE_PANE_BELOW:
            return f"One pane at a time below {ONE_PANE_BELOW} columns: enter / esc switch"
        self.maximised = None if self.maximised is not None else self.pane
        return None


def pane_of(widget: DOMNode) -> Pane | None:
    """The pane a focused widget is in (None: the search box, a modal screen, ...)."""
    for node in widget.ancestors_with_self:
        if node.id in ("list", "threads"):  # the completion or the conversation list
            return "list"
        if node.id == "tabs":
            return "detail"
    return None
