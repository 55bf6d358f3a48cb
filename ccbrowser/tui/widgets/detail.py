"""The detail pane: one tab per view of a completion (`document.TABS`), built lazily.

Only the visible tab is built; the others wait until shown, and a built tab is not built again
until the completion, the expand state or the query changes.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import TabbedContent, TabPane

from ccbrowser.safe import one_line
from ccbrowser.store.reader import Detail
from ccbrowser.tui import document
from ccbrowser.tui.document import TABS, Matcher
from ccbrowser.tui.widgets.docview import DocView

KEYS = [key for key, _title, _build in TABS]
EMPTY_HINT = (
    "Nothing selected. No completions yet?  Press R to sync (needs OPENAI_API_KEY), "
    "run `ccbrowser import FILE`, or try `ccbrowser demo`."
)


class DetailTabs(TabbedContent):
    """Tabs of `DocView`s; `show` a completion, `build` the visible tab."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        for key, title, _build in TABS:
            self.compose_add_child(TabPane(title, DocView(id=f"doc-{key}"), id=f"tab-{key}"))
        self.detail: Detail | None = None
        self.expanded = False
        self._matcher: Matcher | None = None
        self._generation = 0  # of the query whose matches are highlighted
        self._built: dict[str, tuple[int, bool, int]] = {}

    def on_mount(self) -> None:
        self.border_title = "Detail"

    @property
    def active_key(self) -> str:
        return (self.active or "tab-conversation").removeprefix("tab-")

    def doc(self, key: str | None = None) -> DocView:
        return self.query_one(f"#doc-{key or self.active_key}", DocView)

    def show(self, detail: Detail, matcher: Matcher | None, generation: int) -> None:
        """The same completion again (a live refresh) keeps its scroll position; another one
        starts at the top, capped."""
        keep_scroll = self.detail is not None and self.detail.row.pk == detail.row.pk
        if not keep_scroll:
            self.expanded = False
        self.detail, self._matcher, self._generation = detail, matcher, generation
        self._built.clear()
        self.border_title = Content(one_line(detail.row.id, 60))
        self.build(keep_scroll=keep_scroll)

    def show_nothing(self, *, empty_store: bool) -> None:
        """No completion under the cursor; in an empty store, say how to get some."""
        self.detail = None
        self._built.clear()
        lines = [Content.styled(EMPTY_HINT, "$text-muted italic")] if empty_store else []
        for key in KEYS:
            self.doc(key).set_lines(lines)
        self.border_title = "Detail"

    def build(self, key: str | None = None, *, keep_scroll: bool = False) -> None:
        key = key or self.active_key
        if self.detail is None:
            return
        stamp = (self.detail.row.pk, self.expanded, self._generation)
        if self._built.get(key) == stamp and not keep_scroll:
            return
        builder = next(b for k, _t, b in TABS if k == key)
        cap = None if self.expanded else document.CAP
        try:
            lines = builder(self.detail, self._matcher, cap)
        except Exception as exc:  # a renderer bug on odd data must not take the app down
            lines = [Content.styled(f"Cannot render this tab: {type(exc).__name__}", "$text-error")]
        self.doc(key).set_lines(lines, keep_scroll=keep_scroll)
        self._built[key] = stamp

    def step(self, step: int) -> str:
        """Show the next (`step` 1) or previous (-1) tab, built; its key."""
        key = KEYS[(KEYS.index(self.active_key) + step) % len(KEYS)]
        self.active = f"tab-{key}"
        self.build(key)
        return key

    def toggle_expanded(self) -> bool:
        self.expanded = not self.expanded
        self._built.clear()
        self.build(keep_scroll=True)
        return self.expanded
