"""The ccbrowser TUI: search bar, virtual completion list, detail tabs, status bar, footer.

This module is the shell: layout, actions and `@on` handlers, and the only place UI state
changes. The UI thread never runs SQL (`reads.Reads` owns a read thread and a search thread);
the sync thread and the file watcher (`background`) and the palette (`palette`) post messages
(`messages`), and the handlers here act on them (harlequin style).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Footer, Input, TabbedContent
from textual.worker import Worker, WorkerState

from ccbrowser.config import Config
from ccbrowser.errors import AmbiguousId, CCBrowserError, NetworkError, UsageError
from ccbrowser.safe import one_line, visible
from ccbrowser.store.reader import Detail
from ccbrowser.tui import background, heap, idle, layout, reads, search_bridge, thread_reads, usage_reads
from ccbrowser.tui import messages as msg
from ccbrowser.tui.conversations import ConversationActions
from ccbrowser.tui.copying import CopyActions
from ccbrowser.tui.curation import CurationApp
from ccbrowser.tui.keymap import bindings, conflicts, effective_keys, main_screen_actions
from ccbrowser.tui.palette import CCBrowserCommands
from ccbrowser.tui.reading import ReadingActions
from ccbrowser.tui.reads import Reads
from ccbrowser.tui.screens.help import HelpScreen
from ccbrowser.tui.screens.message import MessageScreen
from ccbrowser.tui.widgets.completion_list import CompletionList
from ccbrowser.tui.widgets.conversation_list import ConversationList
from ccbrowser.tui.widgets.detail import DetailTabs
from ccbrowser.tui.widgets.docview import DocView
from ccbrowser.tui.widgets.search_bar import SearchBar, SearchBox
from ccbrowser.tui.widgets.status import StatusBar

SEARCH_DEBOUNCE = 0.15
SYNC_INTERVAL = 300.0
POLL_INTERVAL = 2.0  # data_version, for file systems where watching does not work


MAIN_SCREEN_ACTIONS = main_screen_actions()
AFTER_FIRST_PAINT_AT_LATEST = 0.5  # s: start-up's second step begins by then, detail or not


# CopyActions before CurationApp, which only declares `copy` for its type checks.
class CCBrowserApp(ConversationActions, CopyActions, CurationApp, ReadingActions):
    """Browse the local mirror. Everything that varies between runs is a constructor argument,
    so tests and screenshots can fix the clock, the keymap and the sync behaviour."""

    CSS_PATH = "ccbrowser.tcss"
    TITLE = "ccbrowser"
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {CCBrowserCommands}
    ENABLE_COMMAND_PALETTE = True
    AUTO_FOCUS = "#list"

    def __init__(
        self,
        db_path: str | Path,
        *,
        sync: bool = True,
        profile: str | None = None,
        clock: Callable[[], float] = time.time,
        keymap: dict[str, str] | None = None,
        system_clipboard: bool = True,
        watch: bool = True,
        cursor_blink: bool = True,
        settings_override: Any = None,
        sync_interval: float = SYNC_INTERVAL,
        config: Config | None = None,
    ) -> None:
        super().__init__()
        heap.bound_malloc()  # before the reader threads start (see `heap`)
        self.config = config  # loaded once by the CLI; None: read the file when needed
        self.db_path = Path(db_path)
        self.reads = Reads(self.db_path)
        self.prices = usage_reads.Prices(config)  # the detail's price breakdown, loaded on mount
        self.watcher = background.ChangeWatcher(self, self.reads, self.db_path)
        self.sync_enabled, self.sync_interval, self.settings_override = sync, sync_interval, settings_override
        self.profile, self.clock, self.user_keymap = profile, clock, dict(keymap or {})
        self.system_clipboard, self.watch_enabled, self.cursor_blink = system_clipboard, watch, cursor_blink
        self.query_text, self.sort = "", "relevance"
        self.parsed_query: Any | None = None
        self._search_timer: Any = None
        self._sync_stop, self._sync_worker = threading.Event(), cast("Worker[None] | None", None)
        self._watch_stop = asyncio.Event()
        self._query_gen = 0
        self._rest_gen: int | None = None  # the whole snapshot is due (`_after_first_paint`)
        self._first_painted = False
        self._prices_due = False  # the price data loads once the whole snapshot is listed
        self._rest_worker: Worker[None] | None = None
        self._seek_step = 0  # `n` moved to another tab: jump there once it is shown
        self.panes = layout.PaneLayout()
        if self.user_keymap:
            self.set_keymap(self.user_keymap)

    def compose(self) -> ComposeResult:
        yield SearchBar(cursor_blink=self.cursor_blink, id="top")
        with Horizontal(id="main"):
            yield CompletionList(self.reads, id="list")
            yield ConversationList(self.reads, self.clock, id="threads")
            yield DetailTabs(id="tabs")
        yield StatusBar(self.clock, id="status")
        yield Footer()

    @property
    def completion_list(self) -> CompletionList:
        return self.query_one("#list", CompletionList)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def tabs(self) -> DetailTabs:
        return self.query_one("#tabs", DetailTabs)

    @property
    def list_in_use(self) -> Widget:
        """The list that shows: the conversation list (`c`) or the completion list; keys that
        leave the search box or the detail go back to it."""
        return self.conversations if self.conversations.display else self.completion_list

    @property
    def detail(self) -> Detail | None:
        return self.tabs.detail

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one("#top", SearchBar)

    def doc(self, key: str | None = None) -> DocView:
        return self.tabs.doc(key)

    @property
    def active_tab(self) -> str:
        return self.tabs.active_key

    async def on_mount(self) -> None:
        self._focus(self.completion_list)
        self.on_resize()
        pks, total, last = await self.reads.read(reads.initial_load)
        await self.watcher.check()  # the baseline data_version
        profile = self.profile or background.default_profile(self.config)
        self.status.set(profile=profile, connectivity=None, total=total, last_sync=last)
        self.completion_list.set_snapshot(pks)
        if len(pks) < total:  # every key comes next, once the first screenful and detail show
            self._rest_gen = self._query_gen
        self.set_timer(AFTER_FIRST_PAINT_AT_LATEST, self._after_first_paint)
        self.call_after_refresh(heap.settle)
        if self.watch_enabled:
            self.run_worker(
                self.watcher.watch(self._watch_stop), name="watch", group="watch", exit_on_error=False
            )
        self.set_interval(POLL_INTERVAL, self.watcher.check)
        for text in conflicts(self.user_keymap):
            self.notify(text, severity="warning", markup=False, timeout=10)
        self._start_sync(initial=True)
        if self.sync_interval > 0:
            self.set_interval(self.sync_interval, lambda: self._start_sync(initial=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Over another screen (usage, compare, help) the main screen's keys are off and out of
        the footer: `s` there must not star the list's row unseen."""
        if action in MAIN_SCREEN_ACTIONS and self.screen_stack and self.screen is not self.screen_stack[0]:
            return False
        return True

    async def wait_idle(self, timeout: float = 10.0) -> None:
        await idle.wait_idle(self, timeout)

    def on_resize(self, event: events.Resize | None = None) -> None:
        self.panes.apply(self.screen_stack[0], event.size.width if event else self.size.width)

    @on(events.DescendantFocus)
    def _on_focus_moved(self, event: events.DescendantFocus) -> None:
        """One pane shows at a time (narrow, or maximised): the one that has focus."""
        pane = layout.pane_of(event.widget)
        if pane is not None and pane != self.panes.pane:
            self.panes.pane = pane
            self.on_resize()

    @on(msg.Maximise)
    def action_maximise(self) -> None:
        if (note := self.panes.toggle_maximised(self.size.width)) is not None:
            self.notify(note, markup=False, timeout=3)
        self.on_resize()

    @on(msg.NextSort)
    def action_sort(self) -> None:
        """`o`: the next order; the list starts again from its top."""
        self.sort = search_bridge.next_sort(self.parsed_query, self.sort)
        self.status.set(sort=search_bridge.sort_label(self.parsed_query, self.sort), searching=True)
        self._query_gen += 1
        self.run_search(self.parsed_query, self._query_gen)

    def on_unmount(self) -> None:
        self._sync_stop.set()
        self._watch_stop.set()
        self.reads.close()
        heap.release()

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: none fails silently, none closes the app."""
        if event.state is not WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        name = worker.group if worker.group != "default" else worker.name
        text = (
            str(error)
            if isinstance(error, CCBrowserError)
            else f"{name} failed: {type(error).__name__}: {error}"
        )
        self.notify(one_line(text, 200), severity="error", markup=False)

    @on(CompletionList.Highlighted)
    def _on_highlighted(self, event: CompletionList.Highlighted) -> None:
        self.load_detail(event.pk)

    @on(CompletionList.Opened)
    def _on_opened(self) -> None:
        self._focus(self.doc())  # enter on a row: read it

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def load_detail(self, pk: int | None) -> None:
        detail = (
            None
            if pk is None
            else await self.reads.read(thread_reads.detail, pk, self.threads_unfolded, self.prices)
        )
        self.post_message(msg.DetailRead(pk, detail))

    def _after_first_paint(self) -> None:
        """Start-up's second step, once the first screenful and its detail are on screen: the
        whole snapshot (0.5 s at 1M; a query typed meanwhile has replaced it) and the price data
        (its loading holds the GIL ~0.5 s), neither in the way of the first paint, nor in each
        other's (the peak RSS at 1M is their peaks added up)."""
        if self._first_painted:
            return
        self._first_painted = True
        gen, self._rest_gen = self._rest_gen, None
        if gen is not None and gen == self._query_gen:
            self._prices_due = True  # after the snapshot: their peaks of memory add up otherwise
            self._rest_worker = self._load_rest(gen)
        else:
            self.prices.start()

    @work(group="start-up", exit_on_error=False)
    async def _load_rest(self, gen: int) -> None:
        """Every key, on the extras thread and in a group of its own: a search or a go-to the
        user starts meanwhile is neither cancelled nor interrupted by it, and replaces it (its
        generation; `DataChanged` cancels it, a fresh read follows)."""
        pks = await self.reads.read_aside(search_bridge.snapshot, None, None, self.sort)
        self.post_message(msg.Matches(gen, pks, partial=False, keep_cursor=True, rest=True))

    def _start_prices_if_due(self) -> None:
        if self._prices_due:
            self._prices_due = False
            self.prices.start()

    @on(msg.DetailRead)
    def _on_detail_read(self, message: msg.DetailRead) -> None:
        if not self._first_painted:
            self.call_after_refresh(self._after_first_paint)
        if message.pk != self.completion_list.current_pk or self.conversations.display:
            return  # the cursor moved on, or the conversation list's row is shown (a live refresh)
        if message.pk is None:
            query = None if self.parsed_query is None else self.query_text
            self.tabs.show_nothing(empty_store=not self.completion_list.pks, query=query)
        elif message.detail is not None:
            self.tabs.show(message.detail, search_bridge.matcher(self.parsed_query), self._query_gen)
            self.status.set(match_pos=None)

    @on(TabbedContent.TabActivated)
    def _on_tab(self, event: TabbedContent.TabActivated | None = None) -> None:
        self.tabs.build()
        self.status.set(match_pos=None)
        if self._seek_step:  # `n` found its match in this tab
            self.call_after_refresh(self.action_jump, self._seek_step, False)
            self._seek_step = 0

    def _focus(self, widget: Widget) -> None:
        """Move focus now: `Widget.focus` waits for the next idle, and keys read before then
        would still go to the old widget."""
        widget.screen.set_focus(widget)

    def action_focus_search(self) -> None:
        """A priority key: it runs when the app reads it, not after it has travelled through the
        list's queue (by then the keys behind it in a burst are routed to the list), and focus
        moves at once, so the next key read goes to the box. It steps aside where `/` is text."""
        if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
            raise SkipAction
        self._focus(self.search_bar.box)

    def action_back_out(self) -> None:
        if self.focused is not self.list_in_use:
            self._focus(self.list_in_use)
        elif self.query_text:
            self.search_bar.box.value = ""
            self.set_query("")

    def action_switch_pane(self) -> None:
        if self.screen is not self.screen_stack[0]:
            self.screen.focus_next()
        elif self.focused is self.list_in_use:
            self._focus(self.doc())
        else:
            self._focus(self.list_in_use)

    def action_tab_step(self, step: int) -> None:
        was_doc = isinstance(self.focused, DocView)
        key = self.tabs.step(step)
        if was_doc:
            self._focus(self.doc(key))

    def action_jump(self, step: int, seek: bool = True) -> None:
        """`n` / `N`: the next or previous match in the visible tab."""
        if self.parsed_query is None:
            self.notify("No search: type a query with / first", severity="warning", markup=False)
            return
        pos, total = self.doc().jump_match(step)
        self.status.set(match_pos=(pos, total) if total else None)
        found = None if total or not seek else self.tabs.seek_match()  # capped text, other tabs
        if found is not None:  # jump once the tab is shown and sized (after TabActivated)
            self.notify(search_bridge.seek_note(found), markup=False, timeout=3)
            self._seek_step = step
            if found == "expanded":
                self._on_tab()
        elif not total:
            self.notify("No match in this completion", severity="warning", markup=False, timeout=2)

    def action_expand(self) -> None:
        if self.detail is not None:
            expanded = self.tabs.toggle_expanded()
            self.notify(
                "Showing everything" if expanded else "Long content capped again", markup=False, timeout=2
            )

    @on(msg.ShowHelp)
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(effective_keys(self.user_keymap)))

    @on(msg.ShowUsage)
    def action_usage(self) -> None:
        """The current matches (or everything); enter on an expensive one goes to it."""
        # Imported here: its charts (textual-plotext) cost start-up time and memory the first
        # screen does not need.
        from ccbrowser.tui.screens.usage import UsageScreen

        if not isinstance(self.screen, UsageScreen):
            pks = None if self.parsed_query is None else self.completion_list.pks
            self.push_screen(UsageScreen(self.reads, pks, self.query_text), self._go_to)

    def _go_to(self, completion_id: str | None) -> None:
        if completion_id is not None:
            self.post_message(msg.GoToId(completion_id, read=True))

    @on(Input.Changed, "#search")
    def _on_search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(
            SEARCH_DEBOUNCE, partial(self.set_query, event.value, from_input=True)
        )

    @on(Input.Submitted, "#search")
    @on(SearchBox.Leave)
    def _on_search_submitted(self, event: Input.Submitted | SearchBox.Leave) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        # Back to the last good text (a bad query erased before its debounce ran): its error goes.
        if event.value != self.query_text or self.search_bar.showing_error:
            self.set_query(event.value, from_input=True)
        self._focus(self.list_in_use)

    @on(msg.SetQuery)
    def _on_set_query(self, message: msg.SetQuery) -> None:
        self.set_query(message.text)

    def set_query(self, text: str, *, from_input: bool = False) -> None:
        """Parse on the UI thread (instant feedback on errors), run on the search thread."""
        safe = visible(text)
        if safe != text:  # a pasted escape sequence must not be echoed by the search box
            text, from_input = safe, False
        if not from_input:
            self.search_bar.set_text(text)
        try:
            parsed = search_bridge.parse_query(text, now=self.clock(), views=self.saved_views())
        except UsageError as exc:  # the list keeps the last good query's results: say so
            self.search_bar.say(search_bridge.kept_note(exc, self.query_text), error=True)
            return
        self.search_bar.say("; ".join(search_bridge.hints(parsed)), error=False)
        self.query_text, self.parsed_query = text, parsed
        self._query_gen += 1
        self.status.set(searching=True, sort=search_bridge.sort_label(parsed, self.sort))
        self.run_search(parsed, self._query_gen)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self, parsed: Any, gen: int, keep_cursor: bool = False) -> None:
        await search_bridge.answer(
            self.reads, parsed, gen, self.post_message, keep_cursor=keep_cursor, sort=self.sort
        )

    @on(msg.Matches)
    def _on_matches(self, message: msg.Matches) -> None:
        """A new snapshot for the list; `keep_cursor` keeps the cursor on its completion."""
        self._start_prices_if_due()
        if message.generation != self._query_gen:
            return
        lst = self.completion_list
        lst.query_generation = message.generation
        lst.snippet_query = self.parsed_query
        lst.set_snapshot(
            message.pks,
            keep_pk=lst.current_pk if message.keep_cursor else None,
            rows_changed=not message.rest,
        )
        everything = self.parsed_query is None
        self.status.set(
            searching=message.partial,
            partial=message.partial,
            matches=None if everything else len(message.pks),
            total=len(message.pks) if everything else self.status.state.total,
            match_pos=None,
        )
        if message.hints:  # the planner's, with the database at hand (`GPT-4o` is a model)
            self.search_bar.say("; ".join(message.hints), error=False)
        if self.conversations.display:
            self.conversations_follow(message.generation, message.partial)

    @on(msg.SearchFailed)
    def _on_search_failed(self, message: msg.SearchFailed) -> None:
        self._start_prices_if_due()
        self.search_bar.say(message.text, error=True)
        self.status.set(searching=False, partial=False)

    @on(msg.GoToId)
    def _on_go_to_id(self, message: msg.GoToId) -> None:
        self.go_to_id(message.id_or_prefix, read=message.read)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def go_to_id(self, id_or_prefix: str, read: bool = False) -> None:
        """Put the cursor on one completion; drops the query when the id is not among its matches."""
        try:
            pk = await self.reads.read(search_bridge.pk_for_id, id_or_prefix)  # NotFound: the error handler
        except AmbiguousId as exc:  # list them all: the id: filter holds exactly the candidates
            self.post_message(msg.SetQuery(f"id:{exc.prefix}"))
            self.notify(f"{exc}: listing them", markup=False, severity="warning", timeout=6)
            return
        if pk is not None:
            lst = self.completion_list
            whole = (
                self.parsed_query is not None or len(lst.pks) >= self.status.state.total
            )  # not start-up's head
            listed = whole and pk in lst.pks
            pks = None if listed else await self.reads.search(search_bridge.snapshot, None, None, self.sort)
            self.post_message(msg.Found(pk, pks, read=read))

    @on(msg.Found)
    def _on_found(self, message: msg.Found) -> None:
        lst = self.completion_list
        if message.pks is None:
            lst.set_snapshot(lst.pks, keep_pk=message.pk, rows_changed=False)
        else:
            self.search_bar.set_text("")
            self.query_text, self.parsed_query = "", None
            self._query_gen += 1
            lst.set_snapshot(message.pks, keep_pk=message.pk)
            self.status.set(matches=None, total=len(message.pks))
        self._focus(self.doc() if message.read else lst)

    @on(msg.DataChanged)
    async def _on_data_changed(self) -> None:
        """Another connection committed: the same query again, the cursor stays put."""
        if self._rest_worker is not None:
            self._rest_worker.cancel()  # start-up's snapshot, read before the commit
        total, last = await self.reads.read(reads.counts)
        try:
            self.status.set(total=total, last_sync=last)
        except NoMatches:  # the app closed while the counts were read
            return
        self.run_search(self.parsed_query, self._query_gen, keep_cursor=True)

    def profile_names(self) -> list[str]:  # the palette's
        return background.profile_names(self.config)

    def last_sync_error(self) -> str | None:  # the palette's
        return self.status.state.sync_error

    @on(msg.ShowSyncError)
    def _on_show_sync_error(self) -> None:
        if (text := self.status.state.sync_error) is not None:
            self.push_screen(MessageScreen("Last sync error", text))

    @on(msg.EditQuery)
    def _on_edit_query(self, message: msg.EditQuery) -> None:
        self.search_bar.set_text(message.text)
        self.search_bar.box.cursor_position = len(message.text)
        self._focus(self.search_bar.box)

    @on(msg.SwitchProfile)
    def _on_switch_profile(self, message: msg.SwitchProfile) -> None:
        self.profile = message.name
        self.status.set(profile=message.name, sync_error=None)
        self._start_sync(initial=False)

    @on(msg.SyncNow)
    def action_sync_now(self) -> None:
        self._start_sync(initial=False)

    def _start_sync(self, *, initial: bool) -> None:
        """Start the sync thread, or say why not (off, already running, no key, bad config);
        the periodic and first syncs (`initial`) say it in the status bar only."""
        if not self.sync_enabled:
            self.status.set(connectivity="sync off")
            return self._tell(initial, "Sync is off (--no-sync)", severity="warning")
        if self._sync_worker is not None and not self._sync_worker.is_finished:
            return self._tell(initial, "A sync is already running", timeout=2)
        profile = self.profile or self.status.state.profile
        try:
            settings = self.settings_override or background.resolve_settings(profile, self.config)
        except CCBrowserError as exc:
            return self.status.set(sync_error=str(exc))
        if (missing := background.missing_key(settings)) is not None:
            self.status.set(connectivity="no key")
            return self._tell(
                initial, f"No API key: set {missing} to sync. Browsing the local copy.", severity="warning"
            )
        self.status.set(sync_error=None, sync_text="starting…")
        self._sync_stop = stop = threading.Event()
        run = partial(background.run_sync, self, self.db_path, settings, stop, self.config)
        self._sync_worker = self.run_worker(run, name="sync", group="sync", thread=True, exit_on_error=False)

    def _tell(self, quiet: bool, text: str, **options: Any) -> None:
        if not quiet:
            self.notify(text, markup=False, **options)

    @on(msg.SyncProgressed)
    def _on_sync_progress(self, event: msg.SyncProgressed) -> None:
        self.status.set(sync_text=event.text)

    @on(msg.SyncFinished)
    async def _on_sync_finished(self, event: msg.SyncFinished) -> None:
        error = event.error
        if isinstance(error, NetworkError):  # not an error to show: we are offline
            self.status.set(sync_text=None, connectivity="offline", sync_error=None)
        else:  # a failed sync keeps the connectivity it had; a good one clears "offline"
            gone = (
                {"sync_error": str(error)}
                if error is not None
                else {"connectivity": None, "sync_error": None}
            )
            self.status.set(sync_text=None, **gone)
        await self.watcher.check()
