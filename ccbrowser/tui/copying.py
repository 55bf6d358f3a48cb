"""The app's copy actions (`y`, `Y`): what to copy, copying it, and saying what was copied.

A base class of the app, kept apart so the shell stays a shell; it changes no UI state but the
choosers it opens and the notifications it shows.
"""

from __future__ import annotations

from textual import work
from textual.app import App

from ccbrowser.store.reader import Detail
from ccbrowser.tui import clipboard
from ccbrowser.tui.screens.copy import ARGS, Clip, CopyMenu, ToolCallChooser, tool_call_clip


class CopyActions(App[int]):
    system_clipboard: bool = True

    @property
    def detail(self) -> Detail | None:  # the app's: the completion under the cursor
        raise NotImplementedError

    def copy(self, what: str, value: str) -> None:
        """Copy the raw value (OSC 52 + system clipboard) and say what and how much."""
        if not value:
            self.notify(f"Nothing to copy: {what} is empty", markup=False, severity="warning", timeout=3)
            return
        value = clipboard.encodable(value)
        self.copy_to_clipboard(value)
        size = clipboard.human_size(len(value.encode("utf-8")))
        if self.system_clipboard:
            self._copy_system(value)
        self.notify(f"Copied {what} ({size})", markup=False, timeout=3)

    def _copy_clip(self, clip: Clip | None) -> None:
        if clip is not None:
            self.copy(*clip)

    @work(thread=True, exit_on_error=False, group="clipboard")
    def _copy_system(self, value: str) -> None:
        clipboard.copy_system(value)  # never raises: False when no tool worked

    def action_copy_args(self) -> None:
        calls = self.detail.tool_calls if self.detail is not None else None
        if calls == []:
            self.notify("No tool call in this completion", severity="warning", markup=False, timeout=3)
        elif calls and len(calls) == 1:
            self._copy_clip(tool_call_clip(calls[0]))
        elif calls:
            self.push_screen(
                ToolCallChooser(calls), lambda key: self._copy_clip(ToolCallChooser.clip(calls, key))
            )

    def action_copy_menu(self) -> None:
        if (d := self.detail) is not None:
            self.push_screen(CopyMenu(d), lambda key: self._on_copy_menu(d, key))

    def _on_copy_menu(self, detail: Detail, key: str | None) -> None:
        if key == ARGS:
            self.action_copy_args()
        elif key is not None:
            self._copy_clip(CopyMenu.clip(detail, key))
