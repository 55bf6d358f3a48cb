"""The detail pane: a header line, then one tab per view of a completion (`document.TABS`).

Only the visible tab is built; the others wait until shown, and a built tab is not built again
until the completion, the expand state, the view (`document.View`: Markdown, system prompt,
JSON folds) or the query changes. A heavy build (more than `THREAD_AT` characters to render,
as a long reply shown in full or as Markdown is) runs on a thread, wrapped there too, and the
result comes back as a message: the UI never waits for it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.geometry import Region
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from ccbrowser.render import content_text, local_time, usd
from ccbrowser.safe import one_line
from ccbrowser.store.reader import Detail
from ccbrowser.tui import document, heap
from ccbrowser.tui.document import TABS, Lines, Matcher, Source, View
from ccbrowser.tui.widgets.docview import DocView, Wrapped, wrap

KEYS = [key for key, _title, _build in TABS]
EMPTY_HINT = (
    "Nothing selected. No completions yet?  Press R to sync (needs OPENAI_API_KEY), "
    "run `ccbrowser import FILE`, or try `ccbrowser demo`."
)
THREAD_AT = 60_000
"""Characters to render above which a tab is built on a thread."""
MARKDOWN_COST = 20
"""Rendering a character as Markdown costs about this many times showing it as plain text
(measured: 100 KB of Markdown, 61 ms as plain text, 1.24 s as Markdown)."""
JSON_DEPTHS = (None, 1, 2, 3)
"""What `f` cycles through on the JSON tab: all open, then folded below depth 1, 2, 3."""


def header(detail: Detail, width: int = 1000) -> Content:
    """Model, time, tokens (and cost when the store has one): what tells two completions apart.
    Narrower than the full line: the total of tokens only, minutes only, then no time, the
    model cut to what is left."""
    row, usage = detail.row, detail.raw.get("usage")
    u: dict[str, Any] = usage if isinstance(usage, dict) else {}

    def num(key: str) -> str:
        value = u.get(key)
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"

    extra: list[Content] = []
    if row.finish_reason and row.finish_reason != "stop":
        extra.append(Content.styled(f"  finish: {one_line(row.finish_reason, 20)}", "$text-warning"))
    if row.n_choices > 1:
        extra.append(Content.styled(f"  {row.n_choices} choices", "$text-accent"))
    if row.cost_usd is not None:  # None: the price is unknown (never shown as $0)
        extra.append(Content(f"  {usd(row.cost_usd)}"))
    when = local_time(row.created)
    full = Content.assemble(
        Content.styled(one_line(row.model or "?", 60), "bold $text-primary"),
        Content.styled(f"  {when}", "$text-muted"),
        Content(f"  {num('prompt_tokens')} in → {num('completion_tokens')} out"),
        Content.styled(f" ({num('total_tokens')} tokens)", "$text-muted"),
        *extra,
    )
    if full.cell_length <= width:
        return full
    tokens = Content(f"  {num('total_tokens')} tok")
    for parts in (
        [Content.styled(f"  {when[5:16]}", "$text-muted"), tokens, *extra],
        [tokens, *extra],
        [tokens],
    ):
        rest = Content.assemble(*parts)
        room = width - rest.cell_length
        if room >= 8:
            return Content.assemble(
                Content.styled(one_line(row.model or "?", min(room, 24)), "bold $text-primary"), rest
            )
    return Content.styled(one_line(row.model or "?", max(1, width)), "bold $text-primary")


def weight(detail: Detail, cap: int | None) -> int:
    """About how many characters a build renders (each block capped at `cap`)."""
    texts = [len(content_text(m.get("content"))) for m in detail.input_messages if isinstance(m, dict)]
    texts.append(len(detail.raw_text))
    return sum(texts) if cap is None else sum(min(n, cap) for n in texts)


class DetailHeader(Static):
    """The line above the document; its form depends on the width it has."""

    DEFAULT_CSS = "DetailHeader { height: 1; padding: 0 1; background: $boost; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: Detail | None = None

    def show(self, detail: Detail | None) -> None:
        self.detail = detail
        self.refresh()

    def render(self) -> Content:
        return Content() if self.detail is None else header(self.detail, self.content_region.width)


def _has_match(lines: list[Content]) -> bool:
    return any(span.style is document.MATCH for line in lines for span in line.spans)


class DetailTabs(TabbedContent):
    """Tabs of `DocView`s; `show` a completion, `build` the visible tab."""

    @dataclasses.dataclass
    class Rendered(Message):
        """A tab built on a thread: its lines, wrapped for the width they were built for."""

        key: str
        stamp: tuple[Any, ...]
        lines: list[Content]
        wrapped: Wrapped
        keep_scroll: bool

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        for key, title, _build in TABS:
            self.compose_add_child(TabPane(title, DocView(id=f"doc-{key}"), id=f"tab-{key}"))
        self.detail: Detail | None = None
        self.expanded = False
        self.view = View()
        self._matcher: Matcher | None = None
        self._generation = 0  # of the query whose matches are highlighted
        self._built: dict[str, tuple[Any, ...]] = {}
        self._lines: dict[str, Lines] = {}
        self._heavy: set[str] = set()  # tabs showing a document built on a thread (see `heap`)

    def compose(self) -> ComposeResult:
        yield DetailHeader(id="detail-header")
        yield from super().compose()

    def on_mount(self) -> None:
        self.border_title = "Detail"

    def on_unmount(self) -> None:
        if self._heavy:
            heap.release()

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
        self._retitle(Content(one_line(detail.row.id, 60)))
        self.query_one(DetailHeader).show(detail)
        self.build(keep_scroll=keep_scroll)

    def show_nothing(self, *, empty_store: bool, query: str | None = None) -> None:
        """No completion under the cursor: a query that matched nothing says so; an empty store
        says how to get some."""
        self.detail = None
        self._built.clear()
        self._lines.clear()
        if query is not None:
            lines = [Content.styled(f"No matches for {one_line(query, 200)}", "$text-muted italic")]
        else:
            lines = [Content.styled(EMPTY_HINT, "$text-muted italic")] if empty_store else []
        for key in KEYS:
            self.doc(key).set_lines(lines)
        if self._heavy:
            self._heavy.clear()
            heap.release()
        self._retitle(Content("Detail"))
        self.query_one(DetailHeader).show(None)

    def _retitle(self, title: Content) -> None:
        """The border title names the completion. Setting `border_title` repaints the whole pane
        (every row of border and background under the document: ~2 ms of each cursor move at
        160x48); only the top border row shows the title, so only that row is repainted."""
        if not self.is_mounted or not self.outer_size:
            self.border_title = title
            return
        new = title.expand_tabs(4).split()[0]
        if new == self._border_title:
            return
        self._border_title = new
        offset = self.content_offset
        self.refresh(Region(-offset.x, -offset.y, self.outer_size.width, 1))

    def build(self, key: str | None = None, *, keep_scroll: bool = False) -> None:
        key = key or self.active_key
        if self.detail is None:
            return
        stamp = (self.detail.row.pk, self.expanded, self._generation, self.view)
        if self._built.get(key) == stamp and not keep_scroll:
            return
        self._built[key] = stamp
        cap = None if self.expanded else document.CAP
        detail, matcher, view = self.detail, self._matcher, self.view
        cost = weight(detail, cap) * (MARKDOWN_COST if view.markdown and key == "conversation" else 1)
        if cost < THREAD_AT:
            self._set(key, _build(key, detail, matcher, cap, view), None, keep_scroll)
            return
        width = self.doc(key).content_width()
        if not keep_scroll:
            self.doc(key).set_lines([Content.styled("Rendering…", "italic $text-muted")])

        def work() -> None:
            with heap.quiet_build():
                lines = _build(key, detail, matcher, cap, view)
                wrapped = wrap(lines, width)
            self.post_message(self.Rendered(key, stamp, lines, wrapped, keep_scroll))

        self.run_worker(work, thread=True, group=f"render-{key}", exclusive=True, exit_on_error=False)

    @on(Rendered)
    def _on_rendered(self, message: Rendered) -> None:
        if self._built.get(message.key) == message.stamp:  # nothing changed since it started
            self._set(message.key, message.lines, message.wrapped, message.keep_scroll)

    def _set(self, key: str, lines: list[Content], wrapped: Wrapped | None, keep_scroll: bool) -> None:
        self._lines[key] = lines if isinstance(lines, Lines) else Lines()
        doc = self.doc(key)
        doc.set_lines(lines, keep_scroll=keep_scroll, wrapped=wrapped)
        if not keep_scroll and (anchor := self._lines[key].anchor) is not None:
            doc.scroll_to_line(anchor)  # the Thread tab opens at the selected turn
        if wrapped is not None:
            self._heavy.add(key)
        elif key in self._heavy:  # a big document built on a thread is gone
            self._heavy.discard(key)
            heap.release()

    def _tab_lines(self, key: str, cap: int | None) -> list[Content]:
        assert self.detail is not None
        return _build(key, self.detail, self._matcher, cap, self.view)

    def seek_match(self) -> str | None:
        """The visible tab has no match: show one elsewhere. First the text its cap hides (the
        tab is expanded), then the next tab that has one (it is shown). Returns what was done
        ("expanded", or the tab's title), None when the completion holds no match at all."""
        if self.detail is None or self._matcher is None:
            return None
        key = self.active_key
        if not self.expanded:
            full = self._tab_lines(key, None)
            if _has_match(full):
                self.expanded = True
                self._built.clear()
                self._set(key, full, None, False)
                self._built[key] = (self.detail.row.pk, True, self._generation, self.view)
                return "expanded"
        start = KEYS.index(key)
        for other in KEYS[start + 1 :] + KEYS[:start]:
            if _has_match(self._tab_lines(other, None if self.expanded else document.CAP)):
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

    def set_view(self, **changes: Any) -> View:
        """Change how the detail is shown (it stays so for the next completions) and rebuild."""
        self.view = dataclasses.replace(self.view, **changes)
        self._built.clear()
        self.build(keep_scroll=True)
        return self.view

    def fold_json(self) -> int | None:
        """`f`: fold the JSON one level deeper (after the deepest: everything open again)."""
        depth = JSON_DEPTHS[(JSON_DEPTHS.index(self.view.json_depth) + 1) % len(JSON_DEPTHS)]
        return self.set_view(json_depth=depth, json_toggled=frozenset()).json_depth

    @on(DocView.LineClicked, "#doc-raw")
    def _on_json_click(self, event: DocView.LineClicked) -> None:
        path = self._lines.get("raw", Lines()).folds.get(event.line)
        if path is not None:
            self.set_view(json_toggled=self.view.json_toggled ^ {path})

    def source(self) -> Source | None:
        """What `p` / `E` open: on the conversation the reply, or once scrolled the message at
        the top of the view; a tool call's arguments; the whole JSON; else the tab's text."""
        key = self.active_key
        lines = self._lines.get(key)
        if self.detail is None or lines is None:
            return None
        doc = self.doc(key)
        primary = [s for s in lines.sources if s.primary]
        if primary and doc.scroll_y < 1:
            return primary[0]
        above = [s for s in lines.sources if s.line <= doc.top_line + 1]
        if above or lines.sources:
            return above[-1] if above else lines.sources[0]
        text = "\n".join(line.plain for line in lines)
        return Source(0, key, text) if text.strip() else None


def _build(key: str, detail: Detail, matcher: Matcher | None, cap: int | None, view: View) -> list[Content]:
    """One tab's lines; a renderer bug on odd data must not take the app down."""
    try:
        if key in document.VIEWED:
            return document.VIEWED[key](detail, matcher, cap, view=view)
        builder = next(b for k, _t, b in TABS if k == key)
        return builder(detail, matcher, cap)
    except Exception as exc:
        return [Content.styled(f"Cannot render this tab: {type(exc).__name__}", "$text-error")]
