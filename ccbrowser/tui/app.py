"""The ccbrowser TUI: search bar, virtual completion list, detail tabs, status bar, footer.

Threads: the UI thread never runs SQL. `Database` owns a read thread and a search thread; the
background sync runs in a thread worker with its own event loop; the file watcher is an async
worker. Every result comes back to the UI thread as a message or an awaited future, and state
changes happen here (harlequin style).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ccbrowser.errors import CCBrowserError, UsageError
from ccbrowser.safe import one_line, visible
from ccbrowser.store import reader
from ccbrowser.store.reader import Detail
from ccbrowser.tui import clipboard, document, query
from ccbrowser.tui.commands import CCBrowserCommands
from ccbrowser.tui.data import Cancelled, Database
from ccbrowser.tui.document import TABS
from ccbrowser.tui.keymap import bindings, effective_keys
from ccbrowser.tui.screens.chooser import Chooser
from ccbrowser.tui.screens.help import HelpScreen
from ccbrowser.tui.widgets.completion_list import CompletionList
from ccbrowser.tui.widgets.docview import DocView
from ccbrowser.tui.widgets.status import StatusBar

SEARCH_DEBOUNCE = 0.15
SYNC_INTERVAL = 300.0
RELOAD_MIN_INTERVAL = 0.5
FIRST_RESULTS = 100  # a screenful and then some: a walk that stops early stops sooner
PROGRESS_MIN_INTERVAL = 0.2


class SyncProgressed(Message):
    """Posted from the sync thread (post_message is thread-safe; call_from_thread would block it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SyncFinished(Message):
    def __init__(self, summary: Any, error: CCBrowserError | None) -> None:
        super().__init__()
        self.summary = summary
        self.error = error


class CCBrowserApp(App[int]):
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
    ) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.db = Database(self.db_path)
        self.sync_enabled = sync
        self.profile = profile
        self.clock = clock
        self.user_keymap = dict(keymap or {})
        self.system_clipboard = system_clipboard
        self.watch_enabled = watch
        self.cursor_blink = cursor_blink
        self.settings_override = settings_override
        self.sync_interval = sync_interval
        self.query_text = ""
        self.parsed_query: Any | None = None
        self.detail: Detail | None = None
        self.expanded = False
        self._built: dict[str, tuple[int, bool, int]] = {}
        self._search_timer: Any = None
        self._data_version: int | None = None
        self._sync_stop = threading.Event()
        self._sync_worker: Worker[Any] | None = None
        self._watch_stop: asyncio.Event | None = None
        self._query_gen = 0
        self._reload_pending = False
        self._last_reload = 0.0
        if self.user_keymap:
            self.set_keymap(self.user_keymap)

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield Input(
                placeholder="Search   tool:refund_order A-8812 since:7d   model:gpt-4o*   has:refusal   (/ to focus)",
                id="search",
                select_on_focus=False,
            )
            yield Static("", id="query-error", markup=False)
        with Horizontal(id="main"):
            yield CompletionList(self.db, id="list")
            with TabbedContent(id="tabs"):
                for key, title, _build in TABS:
                    with TabPane(title, id=f"tab-{key}"):
                        yield DocView(id=f"doc-{key}")
        yield StatusBar(self.clock, id="status")
        yield Footer()

    @property
    def completion_list(self) -> CompletionList:
        return self.query_one("#list", CompletionList)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#tabs", TabbedContent)

    def doc(self, key: str | None = None) -> DocView:
        key = key or self.active_tab
        return self.query_one(f"#doc-{key}", DocView)

    @property
    def active_tab(self) -> str:
        return (self.tabs.active or "tab-conversation").removeprefix("tab-")

    async def on_mount(self) -> None:
        self.query_one("#search", Input).cursor_blink = self.cursor_blink
        self.query_one("#list").border_title = "Completions"
        self.tabs.border_title = "Detail"
        self.query_one("#query-error").display = False
        self._focus(self.completion_list)
        self.on_resize()
        state = self.status.state
        state.profile = self.profile or self._default_profile()
        state.connectivity = None
        pks, total, last = await self.db.read(_initial_load)
        self._data_version = await self.db.read(reader.data_version)
        state.total = total
        state.last_sync = last
        self.completion_list.set_snapshot(pks)
        self.status.update_state()
        if self.watch_enabled:
            self.run_worker(self._watch_files(), name="watch", group="watch", exit_on_error=False)
        self.set_interval(2.0, self._poll_data_version)
        self._start_sync(initial=True)
        if self.sync_interval > 0:
            self.set_interval(self.sync_interval, lambda: self._start_sync(initial=True))

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no page, detail or search read is in flight (tests, screenshots, benchmark)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 3 and time.monotonic() < deadline:
            busy = [
                w
                for w in self.workers
                if w.group not in ("watch", "sync", "clipboard")
                and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            ]
            if busy:
                quiet = 0
                await self.workers.wait_for_complete(busy)
            else:
                quiet += 1
                await asyncio.sleep(0.01)

    def on_resize(self) -> None:
        self.screen_stack[0].set_class(self.size.width >= 140, "-wide")

    def on_unmount(self) -> None:
        self._sync_stop.set()
        if self._watch_stop is not None:
            self._watch_stop.set()
        self.db.close()

    # -- list and detail ----------------------------------------------------------------------

    @on(CompletionList.Highlighted)
    def _on_highlighted(self, event: CompletionList.Highlighted) -> None:
        self.load_detail(event.pk)

    @on(CompletionList.Opened)
    def _on_opened(self) -> None:
        self._focus(self.doc())

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def load_detail(self, pk: int | None) -> None:
        """Read on the data thread, build the visible tab here. The same completion again (a live
        refresh) keeps its scroll position; another one starts at the top, capped."""
        if pk is None:
            self.detail = None
            self._show_empty_detail()
            return
        detail = await self.db.read(reader.detail_by_pk, pk)
        if detail is None:
            return
        keep_scroll = self.detail is not None and self.detail.row.pk == detail.row.pk
        if not keep_scroll:
            self.expanded = False
        self.detail = detail
        self._built.clear()
        self.status.state.match_pos = None
        self.tabs.border_title = Content(one_line(detail.row.id, 60))
        self._build_tab(self.active_tab, keep_scroll=keep_scroll)
        self.status.update_state()

    def _show_empty_detail(self) -> None:
        self._built.clear()
        for key, _title, _build in TABS:
            hint = (
                "Nothing selected. No completions yet?  Press R to sync (needs OPENAI_API_KEY), "
                "run `ccbrowser import FILE`, or try `ccbrowser demo`."
                if not self.completion_list.pks
                else ""
            )
            self.doc(key).set_lines([Content.styled(hint, "$text-muted italic")] if hint else [])
        self.tabs.border_title = "Detail"

    def _build_tab(self, key: str, *, keep_scroll: bool = False) -> None:
        """Build one tab's document (only the visible tab: the others wait until shown)."""
        if self.detail is None:
            return
        stamp = (self.detail.row.pk, self.expanded, self._query_gen)
        if self._built.get(key) == stamp and not keep_scroll:
            return
        builder = next(b for k, _t, b in TABS if k == key)
        try:
            lines = builder(
                self.detail, query.matcher(self.parsed_query), None if self.expanded else document.CAP
            )
        except Exception as exc:  # a renderer bug on odd data must not take the app down
            lines = [Content.styled(f"Cannot render this tab: {type(exc).__name__}", "$text-error")]
        self.doc(key).set_lines(lines, keep_scroll=keep_scroll)
        self._built[key] = stamp

    @on(TabbedContent.TabActivated)
    def _on_tab(self, event: TabbedContent.TabActivated) -> None:
        self.status.state.match_pos = None
        self._build_tab(self.active_tab)
        self.status.update_state()

    # -- actions ------------------------------------------------------------------------------

    def _focus(self, widget: Widget) -> None:
        """Move focus now: `Widget.focus` waits for the next idle, and keys read before then
        would still go to the old widget."""
        widget.screen.set_focus(widget)

    def action_focus_search(self) -> None:
        """Focus moves now, not on the next idle (`Widget.focus` waits): the next key read goes
        to the box. A priority key, so it steps aside where `/` is text or another screen is up."""
        if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
            raise SkipAction
        self._focus(self.query_one("#search", Input))

    def action_back_out(self) -> None:
        focused = self.focused
        search = self.query_one("#search", Input)
        if (
            focused is search
            or isinstance(focused, DocView)
            or (focused is not None and focused is not self.completion_list)
        ):
            self._focus(self.completion_list)
        elif self.query_text:
            search.value = ""
            self.set_query("")

    def action_switch_pane(self) -> None:
        if self.screen is not self.screen_stack[0]:
            self.screen.focus_next()
            return
        if self.focused is self.completion_list:
            self._focus(self.doc())
        else:
            self._focus(self.completion_list)

    def _tab_step(self, step: int) -> None:
        keys = [k for k, _t, _b in TABS]
        i = (keys.index(self.active_tab) + step) % len(keys)
        was_doc = isinstance(self.focused, DocView)
        self.tabs.active = f"tab-{keys[i]}"
        self._build_tab(keys[i])
        if was_doc:
            self._focus(self.doc(keys[i]))

    def action_next_tab(self) -> None:
        self._tab_step(1)

    def action_prev_tab(self) -> None:
        self._tab_step(-1)

    def action_next_match(self) -> None:
        self._jump(1)

    def action_prev_match(self) -> None:
        self._jump(-1)

    def _jump(self, step: int) -> None:
        if self.parsed_query is None:
            self.notify("No search: type a query with / first", severity="warning", markup=False)
            return
        pos, total = self.doc().jump_match(step)
        self.status.state.match_pos = (pos, total) if total else None
        self.status.update_state()
        if not total:
            self.notify("No match in this tab", severity="warning", markup=False, timeout=2)

    def action_expand(self) -> None:
        if self.detail is None:
            return
        self.expanded = not self.expanded
        self._built.clear()
        self._build_tab(self.active_tab, keep_scroll=True)
        self.notify(
            "Showing everything" if self.expanded else "Long content capped again", markup=False, timeout=2
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(effective_keys(self.user_keymap)))

    # -- copying ------------------------------------------------------------------------------

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

    @work(thread=True, exit_on_error=False, group="clipboard")
    def _copy_system(self, value: str) -> None:
        clipboard.copy_system(value)

    def action_copy_args(self) -> None:
        d = self.detail
        if d is None:
            return
        calls = d.tool_calls
        if not calls:
            self.notify("No tool call in this completion", severity="warning", markup=False, timeout=3)
            return

        def copy_call(index: int) -> None:
            call = calls[index]
            self.copy(f"arguments of {one_line(call.name or '?', 60)}", call.arguments or "")

        if len(calls) == 1:
            copy_call(0)
            return
        options = [
            (
                str(i),
                Content.assemble(
                    Content.styled(f"{i + 1}. ", "$text-muted"),
                    Content.styled(one_line(c.name or "?", 50), "bold"),
                    Content.styled(
                        f"  {clipboard.human_size(len((c.arguments or '').encode('utf-8', 'replace')))}"
                        + ("" if c.valid_json else "  invalid JSON"),
                        "$text-muted",
                    ),
                ),
            )
            for i, c in enumerate(calls)
        ]

        def chosen(key: str | None) -> None:
            if key is not None:
                copy_call(int(key))

        self.push_screen(Chooser("Copy the arguments of which tool call?", options), chosen)

    def action_copy_menu(self) -> None:
        d = self.detail
        if d is None:
            return
        entries: dict[str, tuple[str, Callable[[], str]]] = {
            "id": ("id", lambda: d.row.id),
            "content": ("the output content", lambda: document.output_text(d)),
            "json": ("the whole JSON", lambda: d.raw_text),
            "inputs": (
                "the input messages (JSON)",
                lambda: json.dumps(d.input_messages, ensure_ascii=False, indent=2),
            ),
        }
        if d.tool_calls:
            entries["args"] = ("tool-call arguments…", lambda: "")
        options = [
            ("id", Content.assemble("Id  ", Content.styled(one_line(d.row.id, 60), "$text-muted"))),
            ("content", Content("Output content")),
            ("json", Content("Whole completion JSON (verbatim)")),
            ("inputs", Content(f"Input messages ({len(d.input_messages)})")),
        ]
        if d.tool_calls:
            options.append(("args", Content(f"Tool-call arguments ({len(d.tool_calls)})")))

        def chosen(key: str | None) -> None:
            if key is None:
                return
            if key == "args":
                self.action_copy_args()
                return
            what, get = entries[key]
            self.copy(what, get())

        self.push_screen(Chooser("Copy what?", options), chosen)

    # -- search -------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _on_search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self.set_query(value, from_input=True))

    @on(Input.Submitted, "#search")
    def _on_search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        if event.value != self.query_text:
            self.set_query(event.value, from_input=True)
        self._focus(self.completion_list)

    def set_query(self, text: str, *, from_input: bool = False) -> None:
        """Parse on the UI thread (instant feedback on errors), run on the search thread."""
        safe = visible(text)
        if safe != text:  # a pasted escape sequence must not be echoed by the search box
            text, from_input = safe, False
        search = self.query_one("#search", Input)
        if not from_input and search.value != text:
            with search.prevent(Input.Changed):
                search.value = text
        error = self.query_one("#query-error", Static)
        try:
            parsed = query.parse_query(text, now=self.clock())
        except UsageError as exc:
            error.update(
                Content.assemble(Content.styled("✗ ", "bold $text-error"), Content(one_line(str(exc), 200)))
            )
            error.display = True
            return
        notes = query.hints(parsed)
        if notes:
            error.update(Content.styled("ℹ " + one_line("; ".join(notes), 200), "$text-warning"))
        error.display = bool(notes)
        self.query_text = text
        self.parsed_query = parsed
        self._query_gen += 1
        self.status.state.searching = True
        self.status.update_state()
        self.run_search(parsed, self._query_gen)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self, parsed: Any, gen: int, keep_pk: int | None = None) -> None:
        """Replace the list's snapshot with the matches; `keep_pk` keeps the cursor (live refresh).

        A new query answers in two steps: the first screenful of matches (shown at once), then the
        complete snapshot (the count, and everything to scroll through). Both are in the same order,
        so the rows on screen do not move when the rest arrives.
        """
        state = self.status.state
        try:
            if parsed is not None and keep_pk is None:
                first = await self.db.search(query.snapshot, parsed, FIRST_RESULTS)
                if gen != self._query_gen:
                    return
                if len(first) < FIRST_RESULTS:
                    pks = first
                else:
                    state.match_pos = None
                    state.matches, state.partial = len(first), True
                    self.completion_list.query_generation = gen
                    self.completion_list.set_snapshot(first)
                    self._built.clear()
                    self.status.update_state()
                    keep_pk = self.completion_list.current_pk
                    pks = await self.db.search(query.snapshot, parsed)
            else:
                pks = await self.db.search(query.snapshot, parsed)
        except Cancelled:
            return
        except CCBrowserError as exc:
            self._search_failed(str(exc))
            return
        except Exception as exc:
            self._search_failed(f"search failed: {type(exc).__name__}: {exc}")
            return
        if gen != self._query_gen:
            return
        state.searching = state.partial = False
        state.matches = None if parsed is None else len(pks)
        if parsed is None:
            state.total = len(pks)
        state.match_pos = None
        self.completion_list.query_generation = gen
        self.completion_list.set_snapshot(pks, keep_pk=keep_pk)
        self._built.clear()
        self.status.update_state()

    def _search_failed(self, message: str) -> None:
        error = self.query_one("#query-error", Static)
        error.update(
            Content.assemble(Content.styled("✗ ", "bold $text-error"), Content(one_line(message, 200)))
        )
        error.display = True
        self.status.state.searching = self.status.state.partial = False
        self.status.update_state()

    def go_to_id(self, id_or_prefix: str) -> None:
        self._go_to_id(id_or_prefix)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _go_to_id(self, id_or_prefix: str) -> None:
        """Put the cursor on one completion; drops the query when the id is not among its matches."""

        def find(conn: Any) -> int | None:
            return reader.pk_of(conn, reader.resolve_id(conn, id_or_prefix))

        try:
            pk = await self.db.read(find)
        except CCBrowserError as exc:
            self.notify(one_line(str(exc), 200), severity="error", markup=False)
            return
        if pk is None:
            return
        lst = self.completion_list
        if pk in lst.pks:
            lst.set_snapshot(lst.pks, keep_pk=pk, rows_changed=False)
        else:
            search = self.query_one("#search", Input)
            with search.prevent(Input.Changed):
                search.value = ""
            self.query_text, self.parsed_query = "", None
            self._query_gen += 1
            pks = await self.db.search(query.snapshot, None)
            state = self.status.state
            state.matches, state.total = None, len(pks)
            lst.set_snapshot(pks, keep_pk=pk)
            self.status.update_state()
        self._focus(lst)

    # -- live refresh -------------------------------------------------------------------------

    async def _watch_files(self) -> None:
        """watchfiles on the database's directory; a change is confirmed by `data_version`."""
        from watchfiles import awatch

        self._watch_stop = asyncio.Event()
        names = {self.db_path.name, self.db_path.name + "-wal", self.db_path.name + "-journal"}
        directory = self.db_path.resolve().parent
        async for changes in awatch(
            directory, stop_event=self._watch_stop, debounce=150, step=50, recursive=False
        ):
            if any(Path(p).name in names for _c, p in changes):
                await self.check_for_changes()

    async def _poll_data_version(self) -> None:
        """A slow fallback for file systems where watching does not work (network mounts)."""
        await self.check_for_changes()

    async def check_for_changes(self) -> bool:
        """Reload the snapshot when another connection committed; the cursor stays put.

        Reloads are at most every RELOAD_MIN_INTERVAL seconds: a sync commits many pages."""
        if self._reload_pending:
            return False
        try:
            version = await self.db.read(reader.data_version)
        except Exception:
            return False
        if version == self._data_version:
            return False
        wait = self._last_reload + RELOAD_MIN_INTERVAL - time.monotonic()
        if wait > 0:
            self._reload_pending = True
            await asyncio.sleep(wait)
            self._reload_pending = False
            version = await self.db.read(reader.data_version)
        self._data_version = version
        self._last_reload = time.monotonic()
        await self.reload()
        return True

    async def reload(self) -> None:
        keep = self.completion_list.current_pk
        total, last = await self.db.read(_counts)
        state = self.status.state
        state.total = total
        state.last_sync = last
        self.run_search(self.parsed_query, self._query_gen, keep_pk=keep)

    # -- sync ---------------------------------------------------------------------------------

    def _default_profile(self) -> str | None:
        try:
            from ccbrowser.config import default_profile_name

            return default_profile_name()
        except Exception:
            return None

    def profile_names(self) -> list[str]:
        try:
            from ccbrowser.config import profile_names

            return profile_names()
        except Exception:
            return []

    def switch_profile(self, name: str) -> None:
        self.profile = name
        self.status.state.profile = name
        self.status.state.sync_error = None
        self.status.update_state()
        self._start_sync(initial=False)

    def action_sync_now(self) -> None:
        self._start_sync(initial=False)

    def _settings(self) -> Any:
        if self.settings_override is not None:
            return self.settings_override
        from ccbrowser.config import resolve

        return resolve(self.profile or self.status.state.profile)

    def _start_sync(self, *, initial: bool) -> None:
        state = self.status.state
        if not self.sync_enabled:
            if not initial:
                self.notify("Sync is off (--no-sync)", severity="warning", markup=False)
            state.connectivity = "sync off"
            self.status.update_state()
            return
        if self._sync_worker is not None and self._sync_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            if not initial:
                self.notify("A sync is already running", markup=False, timeout=2)
            return
        try:
            settings = self._settings()
        except CCBrowserError as exc:
            state.sync_error = str(exc)
            self.status.update_state()
            return
        if not getattr(settings, "has_key", False) and getattr(settings, "flavor", "") != "llama-stack":
            state.connectivity = "no key"
            self.status.update_state()
            if not initial:
                self.notify(
                    f"No API key: set {getattr(settings, 'api_key_env', None) or 'OPENAI_API_KEY'} to sync. Browsing the local copy.",
                    severity="warning",
                    markup=False,
                )
            return
        try:
            from ccbrowser.sync.engine import sync_blocking  # noqa: F401
        except ImportError:
            state.connectivity = "sync unavailable"
            self.status.update_state()
            return
        state.sync_error = None
        state.sync_text = "starting…"
        self.status.update_state()
        self._sync_stop = threading.Event()
        self._sync_worker = self._sync_thread(settings, self._sync_stop)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_thread(self, settings: Any, stop: threading.Event) -> None:
        from ccbrowser.sync.engine import sync_blocking

        last = 0.0

        def on_event(event: Any) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < PROGRESS_MIN_INTERVAL and getattr(event, "kind", "") not in ("wait", "retry"):
                return
            last = now
            text = _progress_text(event)
            if text is not None:
                self.post_message(SyncProgressed(text))

        try:
            summary = sync_blocking(self.db_path, settings, on_event=on_event, stop=stop)
        except CCBrowserError as exc:
            self.post_message(SyncFinished(None, exc))
            return
        except Exception as exc:  # never let a sync bug close the browser
            self.post_message(SyncFinished(None, CCBrowserError(f"sync failed: {type(exc).__name__}: {exc}")))
            return
        self.post_message(SyncFinished(summary, None))

    @on(SyncProgressed)
    def _sync_progress(self, event: SyncProgressed) -> None:
        self.status.state.sync_text = event.text
        self.status.update_state()

    @on(SyncFinished)
    async def _sync_done(self, event: SyncFinished) -> None:
        error = event.error
        state = self.status.state
        state.sync_text = None
        if error is not None:
            name = type(error).__name__
            if name == "NetworkError":
                state.connectivity = "offline"
                state.sync_error = None
            else:
                state.sync_error = str(error)
        else:
            state.connectivity = None
            state.sync_error = None
        self.status.update_state()
        await self.check_for_changes()


def _initial_load(conn: Any) -> tuple[list[int], int, float | None]:
    pks = reader.all_pks(conn)
    return pks, len(pks), reader.last_sync(conn)


def _counts(conn: Any) -> tuple[int, float | None]:
    return reader.count(conn), reader.last_sync(conn)


def _progress_text(event: Any) -> str | None:
    """A short status-bar line for a sync event (None: nothing worth redrawing for)."""
    p = getattr(event, "progress", None)
    kind = getattr(event, "kind", "")
    if p is None:
        return None
    if kind == "wait":
        return f"rate limited, waiting… ({p.listed:,} listed)"
    if kind == "retry":
        return f"retrying ({p.retries}) · {p.listed:,} listed"
    parts = [f"{p.phase}", f"{p.listed:,} listed", f"{p.new:,} new"]
    if p.messages_todo:
        parts.append(f"messages {p.messages_done:,}/{p.messages_todo:,}")
    return " · ".join(parts)
