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


def _has_match(lines: list[Content]) -> bool:
    return any(span.style is document.MATCH for line in lines for span in line.spans)


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

    def show_nothing(self, *, empty_store: bool, query: str | None = None) -> None:
        """No completion under the cursor: a query that matched nothing says so; an empty store
        says how to get some."""
        self.detail = None
        self._built.clear()
        if query is not None:
            lines = [Content.styled(f"No matches for {one_line(query, 200)}", "$text-muted italic")]
        else:
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
        lines = self._lines(key, None if self.expanded else document.CAP)
        self.doc(key).set_lines(lines, keep_scroll=keep_scroll)
        self._built[key] = stamp

    def _lines(self, key: str, cap: int | None) -> list[Content]:
        assert self.detail is not None
        builder = next(b for k, _t, b in TABS if k == key)
        try:
            return builder(self.detail, self._matcher, cap)
        except Exception as exc:  # a renderer bug on odd data must not take the app down
            return [Content.styled(f"Cannot render this tab: {type(exc).__name__}", "$text-error")]

    def seek_match(self) -> str | None:
        """The visible tab has no match: show one elsewhere. First the text its cap hides (the
        tab is expanded), then the next tab that has one (it is shown). Returns what was done
        ("expanded", or the tab's title), None when the completion holds no match at all."""
        if self.detail is None or self._matcher is None:
            return None
        key = self.active_key
        if not self.expanded:
            full = self._lines(key, None)
            if _has_match(full):
                self.expanded = True
                self._built.clear()
                self.doc(key).set_lines(full)
                self._built[key] = (self.detail.row.pk, True, self._generation)
                return "expanded"
        start = KEYS.index(key)
        for other in KEYS[start + 1 :] + KEYS[:start]:
            if _has_match(self._lines(other, None if self.expanded else document.CAP)):
                self.active = f"tab-{other}"
                self.build(other)
                return next(title for k, title, _b in TABS if k == other)
        return None

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
