"""Markdown as `Content` lines, for the detail's Markdown view (`m`).

Not Textual's `Markdown` widget: it builds a widget per block and takes seconds on a large
document (docs/architecture.md, PITFALLS). Here markdown-it parses and each block becomes plain
`Content` lines that `DocView` wraps and draws like any other text, so search matches, `n`/`N`,
scrolling and the line cache work unchanged, and a big message can be rendered on a thread.

The source passes through `safe.visible` before parsing: no markup is ever interpreted and no
control sequence survives. Code blocks are highlighted with Pygments (`textual.highlight`, no
tree-sitter); tables are laid out in aligned columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from textual.content import Content
from textual.highlight import highlight
from textual.style import Style

from ccbrowser.safe import visible

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

CODE = "$text-accent"
DIM = "$text-muted"
HEADINGS = {"h1": "bold underline $text-primary", "h2": "bold $text-primary", "h3": "bold $text-secondary"}
_SAFE_URL = re.compile(r"https?://[\x21-\x7e]{1,2000}")
_LANGUAGE = re.compile(r"[\w+#.-]{1,40}")
CHUNK = 32_000


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # lazily: only the Markdown view needs it

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@dataclass
class _Level:
    """A block prefix: `first` on the next line written, `rest` on the lines after it."""

    first: str
    rest: str


@dataclass
class _Out:
    lines: list[Content] = field(default_factory=list)
    levels: list[_Level] = field(default_factory=list)

    def line(self, content: Content) -> None:
        prefix = ""
        for level in self.levels:
            prefix += level.first
            level.first = level.rest
        self.lines.append(Content.styled(prefix, DIM) + content if prefix else content)

    def blank(self) -> None:
        if self.lines and self.lines[-1].plain.strip() != "":
            self.line(Content())


def _inline(token: Token) -> list[Content]:
    """An inline token's children as lines (soft and hard breaks both start a new line)."""
    lines: list[Content] = []
    parts: list[Content] = []
    styles: list[str | Style] = []
    link_urls: list[str] = []

    def add(text: str, *extra: str | Style) -> None:
        piece = Content(text)
        for style in (*styles, *extra):
            piece = piece.stylize(style)
        parts.append(piece)

    for child in token.children or []:
        kind = child.type
        if kind == "text":
            add(child.content)
        elif kind == "code_inline":
            add(child.content, CODE)
        elif kind in ("softbreak", "hardbreak"):
            lines.append(Content.assemble(*parts))
            parts = []
        elif kind == "strong_open":
            styles.append("bold")
        elif kind == "em_open":
            styles.append("italic")
        elif kind == "s_open":
            styles.append("strike")
        elif kind == "link_open":
            url = str(child.attrs.get("href") or "")
            link_urls.append(url)
            styles.append(Style(link=url, underline=True) if _SAFE_URL.fullmatch(url) else "underline")
        elif kind == "link_close":
            styles.pop() if styles else None
            url = link_urls.pop() if link_urls else ""
            shown = "".join(p.plain for p in parts)
            if url and not shown.endswith(url):
                add(f" <{url}>", DIM)
        elif kind in ("strong_close", "em_close", "s_close"):
            styles.pop() if styles else None
        elif kind == "image":
            add(f"[image: {child.content or child.attrs.get('src') or ''}]", DIM)
        else:  # html_inline and anything newer: shown as the text it is
            add(child.content)
    lines.append(Content.assemble(*parts))
    return lines


def _code(out: _Out, code: str, info: str) -> None:
    language = info.split()[0] if info.split() else ""
    language = language if _LANGUAGE.fullmatch(language) else ""
    if language:
        out.line(Content.styled(language, DIM + " italic"))
    body = highlight(code.rstrip("\n").expandtabs(4), language=language or "text")
    for line in body.split("\n", allow_blank=True):
        out.line(Content.styled("▎ ", DIM) + line)
    out.blank()


def _align(cell: Content, width: int, how: str) -> Content:
    gap = width - cell.cell_length
    if gap <= 0:
        return cell
    if how == "right":
        return Content(" " * gap) + cell
    if how == "center":
        return Content(" " * (gap // 2)) + cell + Content(" " * (gap - gap // 2))
    return cell + Content(" " * gap)


def _table(out: _Out, rows: list[tuple[bool, list[Content], list[str]]]) -> None:
    columns = max((len(cells) for _h, cells, _a in rows), default=0)
    widths = [0] * columns
    aligns = ["left"] * columns
    for _header, cells, how in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], cell.cell_length)
            aligns[i] = how[i] if how[i] else aligns[i]
    bar = Content.styled(" │ ", DIM)
    for index, (header, cells, _how) in enumerate(rows):
        padded = [
            _align(cells[i] if i < len(cells) else Content(), widths[i], aligns[i]) for i in range(columns)
        ]
        row = bar.join(padded)
        out.line(row.stylize("bold") if header else row)
        if header and (index + 1 >= len(rows) or not rows[index + 1][0]):
            out.line(Content.styled("─┼─".join("─" * w for w in widths), DIM))
    out.blank()


def _cell_align(token: Token) -> str:
    style = str(token.attrs.get("style") or "")
    return style.removeprefix("text-align:") if style.startswith("text-align:") else ""


def chunks(source: str, size: int = CHUNK) -> Iterator[str]:
    """`source` cut at blank lines outside code fences into pieces of about `size` characters.

    Each piece is parsed on its own, so only one piece's tokens are alive at a time: a 2 MB
    document parsed whole holds about a million objects, and every full garbage collection on
    the way (which stops every thread, the UI's too) walks them all.
    """
    start = pos = 0
    fence = ""
    while pos < len(source):
        end = source.find("\n", pos)
        end = len(source) if end < 0 else end + 1
        stripped = source[pos:end].lstrip()
        if fence and stripped.startswith(fence):
            fence = ""
        elif not fence and stripped[:3] in ("```", "~~~"):
            fence = stripped[:3]
        elif not fence and not stripped.strip() and pos - start >= size:
            yield source[start:end]
            start = end
        pos = end
    if start < len(source):
        yield source[start:]


def render(source: str) -> list[Content]:
    """Markdown text -> display lines (controls made visible first, never markup)."""
    lines: list[Content] = []
    for piece in chunks(visible(source.replace("\r\n", "\n"))):
        if lines:
            lines.append(Content())
        lines.extend(_render(piece))
    return lines


def _render(source: str) -> list[Content]:
    tokens = _parser().parse(source)
    out = _Out()
    ordered: list[int] = []  # the next number of each open ordered list (-1: a bullet list)
    table: list[tuple[bool, list[Content], list[str]]] | None = None
    in_header = False
    cells: list[Content] = []
    aligns: list[str] = []
    heading = ""
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            heading = token.tag
        elif kind == "inline" and table is not None:
            cell = _inline(token)
            cells.append(Content(" ").join(cell))
            aligns.append(_cell_align(tokens[i - 1]))
        elif kind == "inline":
            style = HEADINGS.get(heading, "bold") if heading else ""
            for line in _inline(token):
                out.line(line.stylize(style) if style else line)
        elif kind == "heading_close":
            heading = ""
            out.blank()
        elif kind == "paragraph_close" and not token.hidden:
            out.blank()
        elif kind in ("fence", "code_block"):
            _code(out, token.content, token.info if kind == "fence" else "")
        elif kind == "bullet_list_open":
            ordered.append(-1)
        elif kind == "ordered_list_open":
            ordered.append(int(token.attrs.get("start") or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            ordered.pop() if ordered else None
            if not ordered:
                out.blank()
        elif kind == "list_item_open":
            number = ordered[-1] if ordered else -1
            marker = "• " if number < 0 else f"{number}. "
            if number >= 0:
                ordered[-1] = number + 1
            out.levels.append(_Level(marker, " " * len(marker)))
        elif kind == "list_item_close":
            out.levels.pop() if out.levels else None
        elif kind == "blockquote_open":
            out.levels.append(_Level("▌ ", "▌ "))
        elif kind == "blockquote_close":
            out.levels.pop() if out.levels else None
            out.blank()
        elif kind == "hr":
            out.line(Content.styled("─" * 40, DIM))
            out.blank()
        elif kind == "table_open":
            table = []
        elif kind == "thead_open":
            in_header = True
        elif kind == "thead_close":
            in_header = False
        elif kind == "tr_open":
            cells, aligns = [], []
        elif kind == "tr_close" and table is not None:
            table.append((in_header, cells, aligns))
        elif kind == "table_close" and table is not None:
            _table(out, table)
            table = None
        elif kind == "html_block":
            for raw_line in token.content.rstrip("\n").split("\n"):
                out.line(Content(raw_line))
            out.blank()
    while out.lines and not out.lines[-1].plain.strip():
        out.lines.pop()
    return out.lines
