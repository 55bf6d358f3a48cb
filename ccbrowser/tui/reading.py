"""The app's reading and comparing keys, kept out of the shell (`app.py` mixes this class in).

`m` Markdown view, `S` long system prompts, `f` JSON folds, `=` mark for compare, `d` compare,
`p` / `E` open in `$PAGER` / `$EDITOR`. Each acts on the detail pane's state (`DetailTabs`) or
opens a screen; none reads the database (the marked completion is the `Detail` already read).
"""

from __future__ import annotations

from textual.actions import SkipAction
from textual.app import App

from ccbrowser.compare import Side
from ccbrowser.safe import one_line
from ccbrowser.store.reader import Detail
from ccbrowser.tui import external
from ccbrowser.tui.screens.compare import CompareScreen
from ccbrowser.tui.widgets.detail import DetailTabs


def side(detail: Detail) -> Side:
    return Side(detail.row.id, detail.raw, detail.input_messages, detail.row.cost_usd)


class ReadingActions(App[int]):
    marked: Detail | None = None

    @property
    def _detail_tabs(self) -> DetailTabs:
        """The main screen's detail; on any other screen (help, compare) these keys step aside."""
        if self.screen is not self.screen_stack[0]:
            raise SkipAction
        return self.screen.query_one("#tabs", DetailTabs)

    def _say(self, text: str, warning: bool = False) -> None:
        self.notify(text, markup=False, timeout=3, severity="warning" if warning else "information")

    def action_toggle_markdown(self) -> None:
        on = self._detail_tabs.set_view(markdown=not self._detail_tabs.view.markdown).markdown
        self._say("Markdown view (m: plain text)" if on else "Plain text (m: Markdown)")

    def action_toggle_system(self) -> None:
        shown = self._detail_tabs.set_view(system_open=not self._detail_tabs.view.system_open).system_open
        self._say("Long system prompts in full (S folds them)" if shown else "Long system prompts folded")

    def action_fold_json(self) -> None:
        tabs = self._detail_tabs
        if tabs.active_key != "raw":
            tabs.active = "tab-raw"
            tabs.build("raw")
        depth = tabs.fold_json()
        self._say(
            "JSON: everything open" if depth is None else f"JSON: folded below depth {depth} (f: deeper)"
        )

    def action_mark_compare(self) -> None:
        detail = self._detail_tabs.detail
        if detail is None:
            return
        if self.marked is not None and self.marked.row.pk == detail.row.pk:
            self.marked = None
            return self._say("Compare mark cleared")
        self.marked = detail
        self._say(f"Marked {one_line(detail.row.id, 40)}: move to another completion and press d")

    def action_compare(self) -> None:
        detail = self._detail_tabs.detail
        if detail is None:
            return
        if self.marked is not None and self.marked.row.pk != detail.row.pk:
            self.push_screen(CompareScreen(side(self.marked), side(detail)))
        elif detail.row.n_choices > 1:
            self.push_screen(CompareScreen(side(detail)))
        else:
            self._say("Press = on a completion to mark it, then d on another to compare", warning=True)

    def action_open_pager(self) -> None:
        self._open_external("pager")

    def action_open_editor(self) -> None:
        self._open_external("editor")

    def _open_external(self, kind: str) -> None:
        source = self._detail_tabs.source()
        if source is None:
            return self._say(f"Nothing to open in the {kind}", warning=True)
        failure = external.open_in(kind, source.text, source.suffix, self.suspend)
        if failure is not None:
            self.notify(f"ccbrowser: {failure}", severity="error", markup=False, timeout=6)
