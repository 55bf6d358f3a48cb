"""Stacked bars per day drawn with block characters: the usage screen's cost and token charts.

plotext draws a stacked bar by filling every series over the whole canvas in Python: about 30 ms
of CPU per series at 160x48, so six series cost ~200 ms each time the figure is drawn. Here one
pass over the cells builds the figure (a few ms at 160x48), in eighths of a cell (▁…█), with a
legend, a y axis of the values drawn and dates under the bars; it is built once per size.

Names and labels are plain text in `Text`, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"  # index = eighths filled from the bottom of a cell
PALETTE = ("#4c9be8", "#e8784c", "#59c26b", "#c776d9", "#e3c14d", "#4dc9c9", "#e05c6f", "#8f9fd9")
OTHER_COLOR = "#8a8a8a"


@dataclass(frozen=True, slots=True)
class Bars:
    """What one chart shows: one value per day and series (oldest day first)."""

    title: str
    days: Sequence[str]
    names: Sequence[str]
    series: Sequence[Sequence[float]]
    fmt: Callable[[float], str]
    other: str | None = None  # the series drawn grey (the sum of the rest)


def color_of(bars: Bars, i: int) -> str:
    return OTHER_COLOR if bars.names[i] == bars.other else PALETTE[i % len(PALETTE)]


def _legend(bars: Bars, width: int) -> list[Text]:
    lines: list[Text] = []
    line = Text()
    for i, name in enumerate(bars.names):
        item = Text.assemble(("■ ", Style(color=color_of(bars, i))), name)
        if line.cell_len and line.cell_len + 2 + item.cell_len > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append("  ")
        line.append_text(item)
    if line.cell_len:
        lines.append(line)
    return lines


def _cell(cum: Sequence[int], row: int) -> tuple[int, int | None, int | None]:
    """The cell `row` (from the bottom) of a bar whose series end at `cum` eighths (cumulative):
    (eighths to draw, foreground series, background series)."""
    low, high = row * 8, row * 8 + 8
    total = cum[-1] if cum else 0
    if total <= low:
        return 0, None, None
    fill = min(8, total - low)
    at = [i for i, top in enumerate(cum) if top > low and (i == 0 or cum[i - 1] < high)]
    at = [i for i in at if cum[i] > (cum[i - 1] if i else 0)]  # series with a height here
    if not at:
        return 0, None, None
    bottom, top = at[0], at[-1]
    if fill == 8 and bottom != top:  # full cell with a boundary: the lower part in front
        edge = min(8, cum[bottom] - low)
        return edge, bottom, top
    return fill, top, None


def _nice(step: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) >= step."""
    power = 10.0 ** math.floor(math.log10(step))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * power >= step * (1 - 1e-9):
            return m * power
    return 10 * power


def _runs(cells: Sequence[tuple[str, Style | None]]) -> Text:
    """One span per run of cells in the same style (a span per cell costs the compositor)."""
    line = Text()
    run, style = "", None
    for ch, st in cells:
        if st is not style and run:
            line.append(run, style)
            run = ""
        run += ch
        style = st
    if run:
        line.append(run, style)
    return line


def draw(bars: Bars, size: Size) -> list[Text]:
    """The figure at `size` (width x height cells), a line of text per row."""
    width, height = size.width, size.height
    out: list[Text] = [Text(bars.title[:width].center(width).rstrip(), style="bold")]
    if width < 12 or height < 4:
        return out
    totals = [sum(col) for col in zip(*bars.series, strict=True)] if bars.series else []
    top = max(totals, default=0.0)
    if not bars.days or top <= 0:
        out.append(Text("(nothing in these days)".center(width).rstrip(), style="dim"))
        return out
    out += _legend(bars, width)
    rows = height - len(out) - 2  # the x axis and the dates below the bars
    if rows < 2:
        rows, out = height - 3, out[:1]
    unit = _nice(top / rows)  # the value of one row: the labels are round numbers
    every = max(1, rows // 4)
    marked = {r for r in range(rows) if (rows - r) % every == 0}  # from the top
    labels = {r: bars.fmt(unit * (rows - r)) for r in marked}
    left = max(len(bars.fmt(0.0)), *(len(v) for v in labels.values()))
    plot = width - left - 1
    days = list(bars.days)[-plot:]
    first = len(bars.days) - len(days)
    slot = plot / len(days)
    bar_w = 1 if slot < 2 else max(1, round(slot * 0.7))
    starts = [math.floor(i * slot) for i in range(len(days))]
    scale = 8 / unit
    cums = []
    for d in range(first, len(bars.days)):
        acc, cum = 0.0, []
        for s in bars.series:
            acc += s[d]
            cum.append(round(acc * scale))
        cums.append(cum)
    colors = [Style(color=color_of(bars, i)) for i in range(len(bars.names))]
    both = {
        (f, b): Style(color=color_of(bars, f), bgcolor=color_of(bars, b))
        for f in range(len(bars.names))
        for b in range(len(bars.names))
    }
    for r in range(rows):  # from the top
        row = rows - 1 - r
        line = Text()
        line.append(labels[r].rjust(left) if r in marked else " " * left, style="dim")
        line.append("┤" if r in marked else "│", style="dim")
        cells: list[tuple[str, Style | None]] = [(" ", None)] * plot
        for j, cum in enumerate(cums):
            eighths, fg, bg = _cell(cum, row)
            if not eighths or fg is None:
                continue
            style = colors[fg] if bg is None else both[(fg, bg)]
            for x in range(starts[j], min(plot, starts[j] + bar_w)):
                cells[x] = (BLOCKS[eighths], style)
        line.append_text(_runs(cells))
        out.append(line)
    axis = Text(bars.fmt(0.0).rjust(left) + "└", style="dim")
    every = max(1, math.ceil(6 / slot))
    ticked = range(len(days) - 1, -1, -every)  # the newest day always has its date
    ticks = [" "] * plot
    dates = [" "] * plot
    for j in ticked:
        x = starts[j] + (bar_w - 1) // 2
        if x < plot:
            ticks[x] = "┬"
        label = days[j]
        at = max(0, min(plot - len(label), x - len(label) // 2))
        if all(c == " " for c in dates[max(0, at - 1) : at + len(label) + 1]):
            dates[at : at + len(label)] = list(label)
    axis.append("".join("─" if c == " " else c for c in ticks), style="dim")
    out.append(axis)
    out.append(Text(" " * (left + 1) + "".join(dates), style="dim"))
    return out


class BarChart(Widget):
    """A `Bars` figure; nothing is drawn before `show` is called, and each size is drawn once
    (the Line API: the strips are built here, not by the compositor from one big `Text`)."""

    DEFAULT_CSS = "BarChart { height: 1fr; width: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.bars: Bars | None = None
        self._drawn: tuple[Size, list[Strip]] | None = None

    def show(self, bars: Bars) -> None:
        self.bars = bars
        self._drawn = None
        self.refresh()

    def _strips(self) -> list[Strip]:
        size = self.size
        if self.bars is None:
            return []
        if self._drawn is None or self._drawn[0] != size:
            console = self.app.console
            strips = [
                Strip(list(line.render(console)), line.cell_len).adjust_cell_length(size.width)
                for line in draw(self.bars, size)[: size.height]
            ]
            self._drawn = (size, strips)
        return self._drawn[1]

    def render_line(self, y: int) -> Strip:
        strips = self._strips()
        base = self.rich_style
        if y < len(strips):
            return strips[y].apply_style(base)
        return Strip.blank(self.size.width, base)
