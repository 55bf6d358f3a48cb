"""The usage screen (`u`): what the current query's completions (or all of them) cost, as pictures.

Cost and tokens per day split by model (stacked bars), the cache-hit rate per day, the top models,
tools and metadata values by cost, and the most expensive completions (enter opens one). Every
figure is an estimate (or a cost the server reported) and says so.

The stacked bars (cost and tokens per day) are `widgets.bars`: block characters with a legend and
axes that stay readable at 80x24 and use the space at 160x48, drawn in a few ms (plotext's stacked
bars cost ~30 ms of CPU per series at 160x48, which made the screen slow to open; Textual's
Sparkline has no axes or legend). The cache-hit rate is a textual-plotext line (braille), drawn
when its tab is shown. The figures come from `store.usage` on the read thread; this screen only
draws them, and builds a tab's widgets the first time it is shown (the screen opens with the
Cost chart only). Names from the data (models, tools, metadata) go through `safe.one_line` and are
never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ccbrowser.render import local_time, usd
from ccbrowser.safe import one_line
from ccbrowser.store.usage import OTHER, Ranked, Usage
from ccbrowser.tui.keymap import bindings
from ccbrowser.tui.reads import Cancelled, Reads
from ccbrowser.tui.usage_reads import tops_of, usage_of
from ccbrowser.tui.widgets.bars import BarChart, Bars
from ccbrowser.words import plural

LABEL_CHARS = 18  # model names in legends and tables


class UsageRead(Message):
    """The figures arrived from the read thread."""

    def __init__(self, usage: Usage) -> None:
        super().__init__()
        self.usage = usage


class TopsRead(Message):
    """The top tools and metadata values arrived (after the charts)."""

    def __init__(self, tools: list[Ranked], meta: list[Ranked]) -> None:
        super().__init__()
        self.tools = tools
        self.meta = meta


class UsageScreen(Screen[str | None]):
    """Dismissed with the id of the completion to open, or None."""

    BINDINGS = bindings("usage")
    DEFAULT_CSS = """
    UsageScreen { layout: vertical; }
    UsageScreen #usage-head { height: 3; padding: 0 1; background: $panel; }
    UsageScreen #usage-tabs { height: 1fr; }
    UsageScreen TabPane { padding: 0; }
    UsageScreen PlotextPlot { height: 1fr; display: none; }
    UsageScreen PlotextPlot.-drawn { display: block; }
    UsageScreen #usage-top { height: auto; padding: 0 1; }
    """
    TABS = (
        ("cost", "Cost"),
        ("tokens", "Tokens"),
        ("cache", "Cache hits"),
        ("top", "Top"),
        ("expensive", "Most expensive"),
    )

    def __init__(self, reads: Reads, pks: Sequence[int] | None, query: str) -> None:
        super().__init__()
        self.reads = reads
        self.pks = None if pks is None else list(pks)
        self.query_text = query
        self.usage: Usage | None = None
        self.tops: tuple[list[Ranked], list[Ranked]] | None = None
        self._built = {"cost"}

    def compose(self) -> ComposeResult:
        yield Static(self._title("reading…"), id="usage-head")
        with TabbedContent(id="usage-tabs"):
            with TabPane("Cost", id="cost"):
                yield BarChart(id="usage-cost")
            for key, title in self.TABS[1:]:
                yield TabPane(title, id=key)  # filled when first shown (`_build`)
        yield Footer()

    def _build(self, key: str) -> None:
        """The widgets of the tab `key`, the first time it is shown: only the Cost tab is built
        when the screen opens, so the others cost its first paint nothing."""
        if key in self._built:
            return
        self._built.add(key)
        pane = self.query_one(f"#{key}", TabPane)
        if key == "tokens":
            pane.mount(BarChart(id="usage-tokens"))
        elif key == "cache":
            pane.mount(PlotextPlot(id="usage-cache"))
        elif key == "top":
            pane.mount(VerticalScroll(Static("", id="usage-top")))
        elif key == "expensive":
            pane.mount(DataTable(id="usage-expensive", cursor_type="row", zebra_stripes=True))
        self.call_after_refresh(self._fill, key)

    def _title(self, summary: str) -> Text:
        scope = f"query: {one_line(self.query_text, 60)}" if self.query_text else "all completions"
        head = Text.assemble(("Usage and costs", "bold"), f" · {scope} · ", ("estimates", "italic"))
        return Text.assemble(head, "\n", summary)

    def on_mount(self) -> None:
        self.load()

    def action_tab_step(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        keys = [key for key, _ in self.TABS]
        tabs.active = keys[(keys.index(tabs.active) + step) % len(keys)]

    @work(exclusive=True, group="usage", exit_on_error=False)
    async def load(self) -> None:
        try:
            self.post_message(UsageRead(await self.reads.usage(usage_of, self.pks)))
        except Cancelled:  # the screen closed
            pass

    @work(exclusive=True, group="usage-tops", exit_on_error=False)
    async def load_tops(self) -> None:
        """Started once the charts are on screen: the read competes with drawing them for the CPU."""
        try:
            self.post_message(TopsRead(*await self.reads.usage(tops_of, self.pks)))
        except Cancelled:
            pass

    def on_unmount(self) -> None:
        self.reads.stop_usage()

    @on(TopsRead)
    def _on_tops(self, message: TopsRead) -> None:
        self.tops = (message.tools, message.meta)
        if "top" in self._built:
            self._fill("top")

    @on(UsageRead)
    def _on_usage(self, message: UsageRead) -> None:
        self.usage = message.usage
        self.query_one("#usage-head", Static).update(self._title(summary_line(self.usage)))
        for key in self._built:
            self._fill(key)
        self.call_after_refresh(self.load_tops)

    def _fill(self, key: str) -> None:
        """Draw the figures in the tab `key` (when they are here and its widgets are mounted)."""
        u = self.usage
        if u is None:
            return
        days = [d[5:] for d in u.days]  # MM-DD
        labels = [one_line(m, LABEL_CHARS) for m in u.models]
        other = one_line(OTHER, LABEL_CHARS)
        if key == "cost":
            series = [u.day_cost[m] for m in u.models]
            chart = Bars("cost per day (USD, estimate)", days, labels, series, _dollars, other)
            self.query_one("#usage-cost", BarChart).show(chart)
        elif key == "tokens":
            tokens = [[float(t) for t in u.day_tokens[m]] for m in u.models]
            self.query_one("#usage-tokens", BarChart).show(
                Bars("tokens per day", days, labels, tokens, _count, other)
            )
        elif key == "cache":
            _cache(self.query_one("#usage-cache", PlotextPlot), days, u.day_cache_rate)
        elif key == "top":
            self.query_one("#usage-top", Static).update(top_text(u, self.tops))
        elif key == "expensive":
            _expensive(self.query_one("#usage-expensive", DataTable), u)

    @on(TabbedContent.TabActivated)
    def _on_tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            self._build(event.pane.id)
        if event.pane.id == "expensive":  # enter opens the highlighted one
            self.call_after_refresh(self._focus_expensive)

    def _focus_expensive(self) -> None:
        self.set_focus(self.query_one("#usage-expensive", DataTable))

    @on(DataTable.RowSelected, "#usage-expensive")
    def _on_open(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)

    def action_close(self) -> None:
        self.dismiss(None)


def summary_line(u: Usage) -> str:
    if not u.completions:
        return "no completions"
    rate = u.cache_rate
    parts = [
        plural(u.completions, "completion"),
        f"{usd(u.cost_usd, '?')} estimated",
        f"{u.tokens:,} tokens",
        f"cache hits {rate:.1%} of prompt tokens" if rate is not None else "no prompt tokens",
    ]
    if u.reported:
        parts.append(f"{u.reported:,} reported by the server")
    if u.unknown:
        parts.append(f"{u.unknown:,} with an unknown price (not counted)")
    return " · ".join(parts)


def _table(title: str, rows: list[Ranked]) -> list[str]:
    out = [title]
    if not rows:
        out.append("  (none)")
    for r in rows:
        unknown = f" +{r.unknown:,}?" if r.unknown else ""
        out.append(f"  {usd(r.cost_usd, '?'):>9}  {one_line(r.name, 28):<28} {r.completions:>7,}{unknown}")
    return out


def top_text(u: Usage, tops: tuple[list[Ranked], list[Ranked]] | None) -> Text:
    lines = _table("top models by cost", u.top_models)
    if tops is None:
        lines += ["", "top tools and metadata values: reading…"]
    else:
        lines += ["", *_table("top tools by cost (completions that called them)", tops[0])]
        lines += ["", *_table("top metadata values by cost", tops[1])]
    return Text("\n".join(lines))


def _expensive(table: DataTable[Any], u: Usage) -> None:
    table.clear(columns=True)
    table.add_columns("most expensive", "created", "model", "tokens", "id")
    for e in u.expensive:
        cost = usd(e.cost_usd) + (" (reported)" if e.source == "reported" else "")
        table.add_row(
            Text(cost),
            Text(local_time(e.created)[:16]),
            Text(one_line(e.model or "?", LABEL_CHARS)),
            Text(f"{e.total_tokens:,}" if e.total_tokens is not None else "—"),
            Text(one_line(e.id, 40)),
            key=e.id,
        )


def _ticks(plt: Any, days: list[str]) -> None:
    if not days:
        return
    step = max(1, len(days) // 6)
    positions = list(range(0, len(days), step))
    plt.xticks(positions, [days[i] for i in positions])


def _dollars(v: float) -> str:
    return usd(v) if v else "$0"


def _count(v: float) -> str:
    return f"{v / 1e6:.1f}M" if v >= 1e6 else f"{v / 1e3:.0f}k" if v >= 1e3 else f"{v:.0f}"


def _start(plot: PlotextPlot, title: str) -> Any:
    """A cleared figure; the widget shows from now on (an empty plotext figure costs as much to
    draw as a full one, so none is drawn before the figures are here)."""
    plt: Any = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    plot.add_class("-drawn")
    return plt


def _cache(plot: PlotextPlot, days: list[str], rates: list[float | None]) -> None:
    plt = _start(plot, "cache-hit rate per day (% of prompt tokens)")
    points = [(i, r * 100) for i, r in enumerate(rates) if r is not None]
    if points:
        plt.plot([p[0] for p in points], [p[1] for p in points], marker="braille")
        plt.ylim(0, 100)
        _ticks(plt, days)
    plot.refresh()
