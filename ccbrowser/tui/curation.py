"""Curation in the TUI: marks, bulk star / tag / note / export / copy ids, pushing tags, saved
views, the facets panel.

`CurationApp` is the base of `CCBrowserApp` (`tui/app.py` stays the shell): its actions are the
app's (`s`, `t`, `a`, `P`, `F`, `ctrl+s`, and the palette's bulk commands through `RunAction`),
its `@on` handlers are the app's too, so they remain the one place UI state changes. Writes run
on worker threads (`curation_io`), reads on the app's reader threads (`reads`); a finished write
posts `DataChanged`, so the list, the counts and the facets show it at once.

A bulk action acts on the marked completions, or on the one under the cursor when none is
marked; while the conversation list (`c`) shows, on every completion of the conversation under
its cursor (docs/architecture.md, "Curation": a label on a thread is that label on each of its
completions). `P` asks first (`screens/push.py`), then pushes on a worker thread that reports
like the sync runner: progress and a result line in the status bar, through messages.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.css.query import NoMatches

from ccbrowser.config import Config, load_config, view_name_problem
from ccbrowser.errors import CCBrowserError
from ccbrowser.safe import one_line
from ccbrowser.store.facets import facet_counts
from ccbrowser.tui import curation_io
from ccbrowser.tui import messages as msg
from ccbrowser.tui.curation_io import Selection
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.screens.ask import Ask
from ccbrowser.tui.screens.note import NoteEditor
from ccbrowser.tui.screens.push import ConfirmPush
from ccbrowser.tui.widgets.completion_list import CompletionList
from ccbrowser.tui.widgets.conversation_list import ConversationList
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
    profile: str | None
    settings_override: Any
    picked_root: str | None = None  # the conversation list's row (`ConversationActions`)
    _push_worker: Any | None = None

    @property
    def completion_list(self) -> CompletionList:
        raise NotImplementedError

    @property
    def status(self) -> StatusBar:
        raise NotImplementedError

    @property
    def list_in_use(self) -> Any:
        raise NotImplementedError

    def set_query(self, text: str, *, from_input: bool = False) -> None:
        raise NotImplementedError

    def copy(self, what: str, value: str) -> None:
        raise NotImplementedError

    load_detail: Any  # a worker of the shell

    def load_thread_detail(self, completion_id: str) -> None:
        raise NotImplementedError

    # -- what the actions act on ------------------------------------------------------------------

    def targets(self) -> list[int]:
        """The marked completions (in the order they were marked), else the cursor's."""
        lst = self.completion_list
        if len(lst.marks):
            return lst.marks.pks
        return [] if lst.current_pk is None else [lst.current_pk]

    def _thread_shown(self) -> bool:
        found = self.query("#threads")
        return bool(found) and bool(found.first().display)

    def selection(self) -> Selection:
        """The conversation under the conversation list's cursor while it shows, else `targets`."""
        if self._thread_shown():
            return Selection(thread=self.picked_root) if self.picked_root else Selection()
        return Selection(pks=tuple(self.targets()))

    def _nothing(self) -> bool:
        sel = self.selection()
        if not sel.pks and sel.thread is None:
            self.notify("Nothing to act on: the list is empty", severity="warning", markup=False, timeout=3)
            return True
        return False

    def _what(self, sel: Selection) -> str:
        if sel.thread is not None:
            return "the conversation"
        return f"{len(sel.pks):,} completion{'s' if len(sel.pks) != 1 else ''}"

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
            self._write(partial(curation_io.star, self.db_path, self.selection()))

    def action_tag(self) -> None:
        if self._nothing():
            return
        sel = self.selection()
        title = f"Tag {self._what(sel)} (-tag removes it)"
        self.push_screen(
            Ask(title, placeholder="good", check=curation_io.tag_problem),
            partial(self._then, partial(curation_io.tag, self.db_path, sel)),
        )

    # -- notes ----------------------------------------------------------------------------------

    @work(group="curate", exit_on_error=False)
    async def action_note(self) -> None:
        """`a`: read the current note on a reader thread, then open the editor on it."""
        if self._nothing():
            return
        sel = self.selection()
        draft = await self.reads.read(curation_io.note_of, sel)
        self.post_message(msg.NoteRead(sel, draft))

    @on(msg.NoteRead)
    def _on_note_read(self, message: msg.NoteRead) -> None:
        sel, draft = message.selection, message.draft
        title = f"Note on {sel.noun(draft.count)}"
        hint = "Their notes differ: saving replaces every one (empty: removes them)" if draft.mixed else ""
        editor = NoteEditor(title, draft.note, hint=hint, mixed=draft.mixed)
        self.push_screen(editor, partial(self._save_note, sel))

    def _save_note(self, sel: Selection, text: str | None) -> None:
        if text is not None:  # None: cancelled, or not edited
            self._write(partial(curation_io.note, self.db_path, sel, text))

    # -- push ----------------------------------------------------------------------------------

    def action_push_labels(self) -> None:
        """`P`: plan on a worker thread, ask (`ConfirmPush`), then push on another."""
        if self._nothing():
            return
        if self._push_worker is not None and not self._push_worker.is_finished:
            self.notify("A push is already running", markup=False, timeout=3)
            return
        from ccbrowser.tui import background

        profile = self.profile or self.status.state.profile
        try:
            settings = self.settings_override or background.resolve_settings(profile, self.config)
        except CCBrowserError as exc:
            self.notify(one_line(str(exc), 200), severity="error", markup=False)
            return
        if (missing := background.missing_key(settings)) is not None:
            self.notify(f"No API key: set {missing} to push", severity="warning", markup=False)
            return
        self._plan_push(self.selection(), settings)

    @work(thread=True, group="curate", exit_on_error=False)
    def _plan_push(self, sel: Selection, settings: Any) -> None:
        try:
            plan = curation_io.push_plan(self.db_path, sel)
        except CCBrowserError as exc:
            self.post_message(msg.Curated(str(exc), error=True))
            return
        self.post_message(msg.PushPlanned(plan, settings))

    @on(msg.PushPlanned)
    def _on_push_planned(self, message: msg.PushPlanned) -> None:
        plan = message.plan
        if not plan.changes:
            self.notify(
                "The server's tags already match: nothing to push (as of the last sync)",
                markup=False,
                timeout=4,
            )
            return
        self.push_screen(
            ConfirmPush(plan, message.settings.base_url), partial(self._push, plan, message.settings)
        )

    def _push(self, plan: Any, settings: Any, confirmed: bool | None) -> None:
        if not confirmed:
            if plan.sendable:
                self.notify("Not pushed (the local labels are kept)", markup=False, timeout=3)
            return
        tags = plan.tags()
        self.status.set(push_text=f"pushing tags 0/{len(tags):,}")
        limits = self.config.limits if self.config is not None else None
        run = partial(curation_io.run_push, self.post_message, self.db_path, settings, tags, limits)
        self._push_worker = self.run_worker(run, name="push", group="push", thread=True, exit_on_error=False)

    @on(msg.PushProgressed)
    def _on_push_progressed(self, message: msg.PushProgressed) -> None:
        self.status.set(push_text=f"pushing tags {message.done:,}/{message.total:,}")

    @on(msg.Pushed)
    def _on_pushed(self, message: msg.Pushed) -> None:
        result = message.result
        if result is None:
            self.status.set(push_text=f"push failed: {one_line(message.error or '', 100)}")
            self.notify(one_line(message.error or "push failed", 200), severity="error", markup=False)
            return
        line = f"pushed tags of {len(result.pushed):,}"
        if result.unchanged:
            line += f" · {result.unchanged:,} already had them"
        if result.failed:
            line += f" · {len(result.failed):,} failed"
        self.status.set(push_text=line)
        for cid, why in list(result.failed.items())[:5]:
            self.notify(f"{one_line(cid, 40)}: {one_line(why, 160)}", severity="error", markup=False)
        if result.pushed:
            self.post_message(msg.DataChanged(0))  # the server's answer is in the mirror now

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
            self._reload_detail()

    def _reload_detail(self) -> None:
        """The detail shows the labels: read it again (unless the app is closing)."""
        try:
            if self._thread_shown():
                self.query_one("#threads", ConversationList).refresh_current()  # its row's labels
                if self.picked_root:
                    self.load_thread_detail(self.picked_root)
            else:
                self.load_detail(self.completion_list.current_pk)
        except NoMatches:
            pass

    # -- export and copy --------------------------------------------------------------------------

    def action_export(self, fmt: str) -> None:
        if self._nothing() or fmt not in curation_io.EXPORT_FORMATS:
            return
        sel = self.selection()
        self.push_screen(
            Ask(f"Export {self._what(sel)} as {fmt} to the file", value=f"ccbrowser-{fmt}.jsonl"),
            partial(self._then, partial(curation_io.export_to, self.db_path, sel, fmt)),
        )

    @work(group="curate", exit_on_error=False)
    async def action_copy_ids(self) -> None:
        if self._nothing():
            return
        ids = await self.reads.read(curation_io.selected_ids, self.selection())
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
                self.screen.set_focus(self.list_in_use)
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
