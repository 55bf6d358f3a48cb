"""The facets side panel (`F`): how the current result splits by model, finish reason, tool,
metadata and tag, with counts; choosing a value narrows the query by that filter.

It shows what it is given (`show(facets)`, from the app's handler) and posts `Chosen(term)` with
the query text of the filter (`model:gpt-4o`, `meta:env=prod`, `tag:good`); the app appends it to
the search box, so the query shows the filter it added. Values come from the data: every label is
`Content` through `one_line`, and a value a query cannot spell is left out (see `query_value`).
"""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ccbrowser.safe import one_line
from ccbrowser.store.facets import Facets
from ccbrowser.tui.palette import query_value
from ccbrowser.words import plural

LABEL_WIDTH = 21


def facet_options(facets: Facets) -> list[Option]:
    """Group headers (disabled) and one option per value, its id the filter's query text."""
    out: list[Option] = []

    def group(title: str, entries: list[tuple[str, str, int]]) -> None:
        if not entries:
            return
        out.append(Option(Content.styled(title, "bold $text-primary"), disabled=True))
        for shown, term, n in entries:
            label = one_line(shown, LABEL_WIDTH).ljust(LABEL_WIDTH)
            out.append(Option(Content.assemble(label, Content.styled(f" {n:>6,}", "$text-muted")), id=term))

    def simple(field: str, rows: list[tuple[str | None, int]]) -> list[tuple[str, str, int]]:
        return [
            (v, f"{field}:{q}", n) for v, n in rows if v is not None and (q := query_value(v)) is not None
        ]

    group("Model", simple("model", facets.model))
    group("Finish reason", simple("finish", facets.finish))
    group("Tool", simple("tool", facets.tool))
    meta: list[tuple[str, str, int]] = []
    for (key, value), n in facets.metadata:
        qk, qv = query_value(key), (None if value is None else query_value(value))
        if qk is None or qk.endswith("*") or (value is not None and qv is None):
            continue
        meta.append(
            (key if value is None else f"{key}={value}", f"meta:{qk}" + ("" if qv is None else f"={qv}"), n)
        )
    group("Metadata", meta)
    group("Tag", simple("tag", [(t, n) for t, n in facets.tag]))
    return out


class FacetsPanel(OptionList):
    """Keys: those of an option list (up/down, enter chooses). Hidden until `F`."""

    DEFAULT_CSS = """
    FacetsPanel { width: 36; border: round $border-blurred; border-title-color: $text-muted; }
    FacetsPanel:focus { border: round $border; border-title-color: $text-accent; }
    """

    class Chosen(Message):
        def __init__(self, term: str) -> None:
            super().__init__()
            self.term = term

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Facets"
        self.facets: Facets | None = None

    def show(self, facets: Facets) -> None:
        self.facets = facets
        highlighted = self.highlighted_option.id if self.highlighted_option is not None else None
        self.clear_options()
        self.add_options(facet_options(facets))
        self.border_subtitle = plural(facets.total, "completion")
        if highlighted is not None:
            try:
                self.highlighted = self.get_option_index(highlighted)
            except Exception:  # that value is gone from the new counts
                self.highlighted = None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))
