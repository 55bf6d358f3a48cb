"""One line of the completion list, fitted to the pane's width by column priority.

Columns: time, model, the preview (or, for a text query, the matched snippet), markers, finish
reason, tokens, the estimated cost. When the pane narrows they give way in a fixed order (the
finish reason first, then the year, then model width, then the cost, the model, then tokens); the date itself is never cut and
the text keeps at least `MIN_TEXT` cells, and `TEXT_SHARE` of the width before the year, the
finish reason or a wide model get room (the words are what a person reads a row for). Every value from the data goes through `one_line`;
snippets arrive with control characters already made visible and their matches marked.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from textual.content import Content

from ccbrowser.render import REMOVED_MARK, usd
from ccbrowser.safe import one_line
from ccbrowser.search import MARK_START, split_marked
from ccbrowser.store.reader import ListRow

MIN_TEXT = 12
TEXT_SHARE = 0.35
MARKS_W = 6  # " " + five one-cell markers

_FINISH = {
    "stop": "",
    "length": "length",
    "tool_calls": "tools",
    "content_filter": "filter",
    "function_call": "fn",
}
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")  # gpt-4o-2024-08-06, gpt-4-0613


class Columns(NamedTuple):
    time: int  # 16 "2026-01-31 14:05", 11 "01-31 14:05"
    model: int  # 0: no model column
    finish: bool
    tokens: bool
    cost: bool  # "?" when the price is unknown


# Tried in order; the first that leaves the text its share wins.
LAYOUTS: tuple[Columns, ...] = (
    Columns(16, 26, True, True, True),
    Columns(16, 22, True, True, True),
    Columns(11, 22, True, True, True),
    Columns(11, 18, True, True, True),
    Columns(11, 18, False, True, True),
    Columns(11, 14, False, True, True),
    Columns(11, 14, False, True, False),
    Columns(11, 10, False, True, False),
    Columns(11, 0, False, True, False),
    Columns(11, 0, False, False, False),
)


@lru_cache(maxsize=64)
def columns_for(width: int) -> Columns:
    share = max(MIN_TEXT, int(width * TEXT_SHARE))
    for cols in LAYOUTS:  # the luxuries (year, finish, a wide model) only when the text has its share
        if width - fixed_width(cols) >= (share if cols.model > 14 else MIN_TEXT):
            return cols
    return LAYOUTS[-1]


def fixed_width(cols: Columns) -> int:
    return (
        cols.time
        + 1
        + (cols.model + 1 if cols.model else 0)
        + MARKS_W
        + 7 * cols.finish
        + 6 * cols.tokens
        + 8 * cols.cost
    )


def _time(ts: int | None, width: int) -> str:
    try:
        dt = datetime.fromtimestamp(ts) if ts is not None else None
    except (OverflowError, OSError, ValueError):
        dt = None
    if dt is None:
        return "?".ljust(width)
    return dt.strftime("%Y-%m-%d %H:%M" if width >= 16 else "%m-%d %H:%M")


def tokens_text(n: int | None) -> str:
    if n is None:
        return "—"
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


def model_text(model: str | None, width: int) -> str:
    """The model in `width` cells. Too long: abbreviated from the right, so a dated snapshot keeps
    its date (`gpt-4o-mini-2024-07-18` -> `gpt-4o-…2024-07-18`): two snapshots never look alike."""
    name = one_line(model or "?", None)
    if len(name) <= width:
        return name.ljust(width)
    m = _DATED.search(name)
    tail = m.group(1) if m else ""
    if m and width >= len(tail) + 3:
        return name[: width - len(tail) - 1] + "…" + tail
    return name[: width - 1] + "…"


def markers(row: ListRow) -> Content:
    """Tool calls, refusal / audio, truncated output, several choices, logprobs (a blank each)."""
    marks = "⚙" if row.tool_call_count else " "
    marks += "⊘" if row.has_refusal else ("♪" if row.has_audio else " ")
    marks += "✂" if row.finish_reason == "length" else " "
    marks += "⧉" if row.n_choices > 1 else " "
    marks += "ℓ" if row.has_logprobs else " "
    return Content.styled(" " + marks, "$text-warning")


def _from_first_match(snippet: str, width: int) -> str:
    """The snippet cut on the left when its first match would fall past a third of `width`."""
    start = snippet.find(MARK_START)
    if start <= width // 3:
        return snippet
    cut = start - width // 4
    space = snippet.find(" ", cut, start)  # start on a word
    return "…" + snippet[space + 1 if space >= 0 else cut :]


def _text(row: ListRow, snippet: str | None, width: int) -> Content:
    removed = row.removed_at is not None
    prefix = f"{REMOVED_MARK} " if removed else ""
    if snippet:
        snippet = _from_first_match(snippet, width)
        text = Content.assemble(
            prefix,
            *[
                Content.styled(part, "bold $text-accent underline") if hit else part
                for part, hit in split_marked(snippet)
            ],
        )
    else:
        text = Content(prefix + one_line(row.preview or "", None), strip_control_codes=False)
    text = text.truncate(width, ellipsis=True, pad=True)
    return text.stylize("$text-muted strike") if removed else text


def format_row(row: ListRow, width: int, snippet: str | None = None) -> Content:
    """One line of the list in exactly `width` cells (`snippet`: the matched text of a query)."""
    cols = columns_for(width)
    parts: list[Content | str] = [Content.styled(_time(row.created, cols.time), "$text-muted"), " "]
    if cols.model:
        parts += [Content.styled(model_text(row.model, cols.model), "$text-accent"), " "]
    text_w = max(0, width - fixed_width(cols))
    parts += [_text(row, snippet, text_w), markers(row)]
    if cols.finish:
        fin = _FINISH.get(row.finish_reason or "", one_line(row.finish_reason or "?", 6))
        style = "$text-warning" if fin in ("length", "filter") else "$text-muted"
        parts.append(Content.styled(f" {fin[:6]:<6}", style))
    if cols.tokens:
        parts.append(Content.styled(f"{tokens_text(row.total_tokens):>6}", "$text-muted"))
    if cols.cost:
        parts.append(Content.styled(f" {usd(row.cost_usd, '?', short=True):>7}", "$text-muted"))
    return Content.assemble(*parts).truncate(width, pad=True)
