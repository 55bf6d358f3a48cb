"""Curation in the TUI: marks, bulk star / tag / export / copy ids, saved views, the facets panel.

`CurationApp` is the base of `CCBrowserApp` (`tui/app.py` stays the shell): its actions are the
app's (`s`, `t`, `F`, `ctrl+s`, and the palette's bulk commands through `RunAction`), its `@on`
handlers are the app's too, so they remain the one place UI state changes. Writes run on worker
threads (`curation_io`), reads on the app's reader threads (`reads`); a finished write posts
`DataChanged`, so the list, the counts and the facets show it at once.

A bulk action acts on the marked completions, or on the one under the cursor when none is marked.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App

from ccbrowser.config import Config, load_config, view_name_problem
from ccbrowser.errors import CCBrowserError
from ccbrowser.safe import one_line
from ccbrowser.store import labels
from ccbrowser.store.facets import facet_counts
from ccbrowser.tui import curation_io
from ccbrowser.tui import messages as msg
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.screens.ask import Ask
from ccbrowser.tui.widgets.completion_list import CompletionList
from ccbrowser.tui.widgets.facets import FacetsPanel
from ccbrowser.tui.widgets.status import StatusBar


class CurationApp(App[int]):
    """What the shell provides (set in `CCBrowserApp.__init__` / its properties)."""

    reads: Reads
    db_path: Path
    config: Config | None
    query_text: str
    parsed_query: Any | None
    _facet_index: Any | None = None  # store.facets.FacetIndex, kept between counts

    @property
    def completion_list(self) -> CompletionList:
        raise NotImplementedError

    @property
    def status(self) -> StatusBar:
        raise NotImplementedError

    def set_query(self, text: str, *, from_input: bool = False) -> None:
        raise NotImplementedError

    def copy(self, what: str, value: str) -> None:
        raise NotImplementedError

    # -- what the actions act on ------------------------------------------------------------------

    def targets(self) -> list[int]:
        """The marked completions (in the order they were marked), else the cursor's."""
        lst = self.completion_list
        if len(lst.marks):
            return lst.marks.pks
        return [] if lst.current_pk is None else [lst.current_pk]

    def _nothing(self) -> bool:
        if not self.targets():
            self.notify("Nothing to act on: the list is empty", severity="warning", markup=False, timeout=3)
            return True
        return False

    @on(CompletionList.MarksChanged)
    def _on_marks_changed(self, event: CompletionList.MarksChanged) -> None:
        self.status.set(marked=event.count)

    @on(msg.RunAction)
    async def _on_run_action(self, message: msg.RunAction) -> None:
        await self.run_action(message.action)

    def action_clear_marks(self) -> None:
        n = self.completion_list.marks.clear()
        self.completion_list.refresh_marks()
        self.notify(f"Cleared {n:,} marks", markup=False, timeout=2)

    # -- labels ---------------------------------------------------------------------------------

    def action_star(self) -> None:
        if not self._nothing():
            self._write(partial(curation_io.star, self.db_path, self.targets()))

    def action_tag(self) -> None:
        if self._nothing():
            return
        pks = self.targets()
        title = f"Tag {len(pks):,} completion{'s' if len(pks) != 1 else ''} (-tag removes it)"
        self.push_screen(
            Ask(title, placeholder="good", check=curation_io.tag_problem),
            partial(self._then, partial(curation_io.tag, self.db_path, pks)),
        )

    def _then(self, job: Any, answer: str | None) -> None:
        """An `Ask` answered: run `job(answer)` on a worker thread (escape: nothing)."""
        if answer:
            self._write(partial(job, answer))

    @work(thread=True, group="curate", exit_on_error=False)
    def _write(self, job: Any) -> None:
        """A label or export job on a worker thread; its one line comes back as a notification."""
        try:
            said = job()
        except CCBrowserError as exc:
            self.post_message(msg.Curated(str(exc), error=True))
            return
        self.post_message(msg.Curated(said, error=False))

    @on(msg.Curated)
    def _on_curated(self, message: msg.Curated) -> None:
        self.notify(
            one_line(message.text, 200), severity="error" if message.error else "information", markup=False
        )
        if not message.error:
            self.post_message(msg.DataChanged(0))  # this connection's write: show it now

    # -- export and copy --------------------------------------------------------------------------

    def action_export(self, fmt: str) -> None:
        if self._nothing() or fmt not in curation_io.EXPORT_FORMATS:
            return
        pks = self.targets()
        self.push_screen(
            Ask(f"Export {len(pks):,} completion(s) as {fmt} to the file", value=f"ccbrowser-{fmt}.jsonl"),
            partial(self._then, partial(curation_io.export_to, self.db_path, pks, fmt)),
        )

    @work(group="curate", exit_on_error=False)
    async def action_copy_ids(self) -> None:
        if self._nothing():
            return
        ids = await self.reads.read(labels.ids_of, self.targets())
        self.copy(f"{len(ids):,} id{'s' if len(ids) != 1 else ''}", "\n".join(ids))

    # -- saved views ----------------------------------------------------------------------------

    def saved_views(self) -> dict[str, str]:
        """The config's `[views]` ({} when the file cannot be read: its error shows elsewhere)."""
        if self.config is None:
            try:
                self.config = load_config()
            except CCBrowserError:
                return {}
        return self.config.views

    def action_save_view(self) -> None:
        text = self.query_text.strip()
        if not text:
            self.notify(
                "Type a query first: a view names a query", severity="warning", markup=False, timeout=3
            )
            return

        def check(name: str) -> str | None:
            return view_name_problem(name.removeprefix("@"))

        self.push_screen(
            Ask(
                f"Save as a view: {one_line(text, 50)}",
                placeholder="name (then @name in a search)",
                check=check,
            ),
            partial(self._save_view, text),
        )

    def _save_view(self, text: str, name: str | None) -> None:
        if not name:
            return
        name = name.removeprefix("@")
        from ccbrowser.config_edit import save_view
        from ccbrowser.paths import config_path

        config = self.config or load_config()
        try:
            self.config, old = save_view(config.path or config_path(), name, text)
        except CCBrowserError as exc:
            self.notify(one_line(str(exc), 200), severity="error", markup=False)
            return
        verb = "Saved" if old is None else "Replaced"
        self.notify(f"{verb} @{name}: {one_line(text, 60)}", markup=False, timeout=4)

    # -- facets ---------------------------------------------------------------------------------

    @property
    def facets_panel(self) -> FacetsPanel | None:
        found = self.query("#facets")
        return found.first(FacetsPanel) if found else None

    async def action_toggle_facets(self) -> None:
        panel = self.facets_panel
        if panel is None:
            panel = FacetsPanel(id="facets")
            await self.query_one("#main").mount(panel)
        elif panel.display:
            panel.display = False
            if self.focused is panel:
                self.screen.set_focus(self.completion_list)
            return
        panel.display = True
        self.screen.set_focus(panel)
        self.count_facets()

    @on(msg.Matches)
    def _facets_follow(self, message: msg.Matches) -> None:
        panel = self.facets_panel
        if panel is not None and panel.display and not message.partial:
            self.count_facets()

    @work(exclusive=True, group="facets", exit_on_error=False)
    async def count_facets(self) -> None:
        lst = self.completion_list
        pks = None if self.parsed_query is None else list(lst.pks)
        facets, self._facet_index = await self.reads.facets(facet_counts, pks, self._facet_index)
        self.post_message(msg.FacetsCounted(facets))

    @on(msg.SyncFinished)
    def _facets_after_sync(self) -> None:
        self._facet_index = None  # a sync may have rewritten metadata in place (see store.facets)

    @on(msg.FacetsCounted)
    def _on_facets_counted(self, message: msg.FacetsCounted) -> None:
        if (panel := self.facets_panel) is not None:
            panel.show(message.facets)

    @on(FacetsPanel.Chosen)
    def _on_facet_chosen(self, event: FacetsPanel.Chosen) -> None:
        self.set_query(f"{self.query_text.strip()} {event.term}".strip())  # the box shows it
