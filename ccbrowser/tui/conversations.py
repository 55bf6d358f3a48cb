"""The app's conversation keys and handlers, mixed into `CCBrowserApp` (its shell stays thin).

`c` swaps the completion list for the conversation list (with a search active: the conversations
that hold its matches, kept in step with the query; `c` again goes back to the matches, the query
unchanged); `{` / `}` and `b` / `B` move the list
cursor to the completion they name (`ThreadView.turn_target`, `branch_target`), so the Thread tab
follows the cursor; `z` folds or unfolds tool loops, for every thread until pressed again.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.message import Message

from ccbrowser.store.reader import Detail
from ccbrowser.tui import messages as msg
from ccbrowser.tui import search_bridge, thread_reads
from ccbrowser.tui.thread_reads import ThreadView
from ccbrowser.tui.widgets.conversation_list import ConversationList

if TYPE_CHECKING:
    from ccbrowser.tui.app import CCBrowserApp

THREAD_TAB = "tab-thread"


class ConversationActions:
    threads_unfolded = False
    picked_root: str | None = None  # the conversation list's row, while it is shown
    _grouped_from: tuple[int, bool] = (-1, False)  # the (query generation, partial) it lists
    _nav_to: str | None = None
    _nav_via: frozenset[str] = frozenset()

    @property
    def _app(self) -> CCBrowserApp:
        return cast("CCBrowserApp", self)

    @property
    def conversations(self) -> ConversationList:
        return self._app.query_one("#threads", ConversationList)

    def _shown(self) -> ThreadView | None:
        """The thread of the completion the detail pane shows."""
        d = self._app.detail
        return d.thread if d is not None and isinstance(d.thread, ThreadView) else None

    def _view(self) -> ThreadView | None:
        """The thread as the turn and branch keys see it: at the completion the last of them
        went to, even while its detail is still being read, so `} b` typed fast acts as typed
        slowly (`_nav_to`; `_nav_via` are the completions the detail may show meanwhile)."""
        app = self._app
        view = app._shown()
        to = app._nav_to
        if view is not None and to is not None:
            if view.selected in app._nav_via and view.selected != to and view.has(to):
                return replace(view, selected=to)
            app._nav_to, app._nav_via = None, frozenset()  # it landed, or the cursor moved on
        return view

    def action_toggle_conversations(self) -> None:
        app = self._app
        threads, lst = app.conversations, app.completion_list
        showing = not threads.display
        threads.display, lst.display = showing, not showing
        if showing:
            app.tabs.active = THREAD_TAB
            app.reload_conversations()
            app._focus(threads)
        else:
            app.picked_root = None
            app._focus(lst)
            app.load_detail(lst.current_pk)

    def reload_conversations(self) -> None:
        """The conversation list for the current query (every conversation when there is none)."""
        app = self._app
        app.picked_root = None
        app._grouped_from = (app._query_gen, app.status.state.partial)
        app.conversations.reload(None if app.parsed_query is None else app.completion_list.pks)

    def conversations_follow(self, generation: int, partial: bool) -> None:
        """A search answered while the list is shown: group the new matches (a live refresh of
        the same query leaves the list, and its cursor, alone; the rest of a partial answer
        does not)."""
        app = self._app
        gen, was_partial = app._grouped_from
        if generation != gen or (was_partial and not partial):
            app.reload_conversations()

    def on_conversation_list_empty(self) -> None:
        app = self._app
        if app.conversations.display:
            query = None if app.parsed_query is None else app.query_text
            app.tabs.show_nothing(empty_store=not app.completion_list.pks, query=query)

    def _go(self, target: str | None, what: str) -> None:
        app = self._app
        if target is None:
            app.notify(f"No {what} here", severity="warning", markup=False, timeout=2)
            return
        shown, view = app._shown(), app._view()
        if shown is not None and view is not None:
            via = app._nav_via if app._nav_to is not None else frozenset()
            app._nav_via, app._nav_to = via | {shown.selected, view.selected}, target
        app.tabs.active = THREAD_TAB
        if app.conversations.display:  # the completion list is hidden: show it in place
            app.picked_root = target
            app.load_thread_detail(target)
        else:
            app.post_message(msg.GoToId(target))

    def action_thread_turn(self, step: int) -> None:
        app = self._app
        view = app._view()
        app._go(view.turn_target(step) if view else None, "previous turn" if step < 0 else "next turn")

    def action_thread_branch(self, step: int) -> None:
        app = self._app
        view = app._view()
        app._go(view.branch_target(step) if view else None, "branch")

    def action_thread_fold(self) -> None:
        app = self._app
        app.threads_unfolded = not app.threads_unfolded
        view, d = app._shown(), app.detail
        if view is not None and d is not None:
            view.unfolded = app.threads_unfolded
            app.tabs.show(d, search_bridge.matcher(app.parsed_query), app._query_gen)
        app.notify("Tool loops unfolded" if app.threads_unfolded else "Tool loops folded", timeout=2)

    def on_conversation_list_picked(self, message: ConversationList.Picked) -> None:
        app = self._app
        app.picked_root = message.root
        app.load_thread_detail(message.root)

    def on_conversation_list_opened(self) -> None:
        self._app._focus(self._app.doc())

    def load_thread_detail(self, completion_id: str) -> None:
        app = self._app
        # a callable, not a coroutine: a worker replaced before it starts never leaves one unawaited.
        # Its own group: the completion list's re-read after a write (its cursor's `load_detail`)
        # must not cancel this one, or a label written on the conversation is not shown.
        read = partial(app._read_thread, completion_id)
        app.run_worker(read, group="thread-detail", exclusive=True, exit_on_error=False)  # type: ignore[arg-type]

    async def _read_thread(self, completion_id: str) -> None:
        app = self._app
        d = await app.reads.read(thread_reads.detail_by_id, completion_id, app.threads_unfolded, app.prices)
        app.post_message(ThreadDetailRead(completion_id, d))

    def on_thread_detail_read(self, message: ThreadDetailRead) -> None:
        app = self._app
        if message.id == app.picked_root and message.detail is not None and app.conversations.display:
            app.tabs.show(message.detail, search_bridge.matcher(app.parsed_query), app._query_gen)


class ThreadDetailRead(Message):
    """A completion read for the conversation list (the completion list's cursor is elsewhere)."""

    def __init__(self, completion_id: str, detail: Detail | None) -> None:
        super().__init__()
        self.id = completion_id
        self.detail = detail
