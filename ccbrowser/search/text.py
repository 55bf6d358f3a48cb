"""Text helpers shared by the planner and the highlighters: tokens, folding, match spans, snippets.

`tokens()` approximates the FTS5 `unicode61 remove_diacritics 2` tokenizer (letters, digits,
private-use and combining marks are token characters; everything else separates) so that the
planner knows when a term has nothing searchable in it (FTS5 matches nothing for an empty phrase)
and when it holds CJK text (one FTS token per run, so a substring needs another route).

Snippets mark matches with `MARK_START` / `MARK_END` (STX / ETX control characters): never markup,
so a renderer can split on them and style the parts without parsing anything from the data. Every
other control character in a snippet is already made visible (`ccbrowser.safe.visible`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ccbrowser.safe import visible

MARK_START = "\x02"
MARK_END = "\x03"

_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x31FF),  # bopomofo, hangul compatibility jamo, katakana ext
    (0x3400, 0x4DBF),  # CJK ext A
    (0x4E00, 0x9FFF),  # CJK unified
    (0xA960, 0xA97F),
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),  # ext B and beyond
)
# Ranges of FTS vocabulary (folded terms) scanned for CJK substrings: by first character.
CJK_VOCAB_RANGES: tuple[tuple[str, str], ...] = tuple((chr(lo), chr(hi + 1)) for lo, hi in _CJK_RANGES)


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text) if not text.isascii() else False


def _is_token_char(ch: str) -> bool:
    if ch.isascii():
        return ch.isalnum()
    cat = unicodedata.category(ch)
    return cat[0] in "LNM" or cat == "Co"


def tokens(text: str) -> list[str]:
    """The tokens unicode61 would see, folded (lower case, no diacritics)."""
    out: list[str] = []
    buf: list[str] = []
    for ch in text:
        if _is_token_char(ch):
            buf.append(ch)
        elif buf:
            out.append(fold("".join(buf)))
            buf = []
    if buf:
        out.append(fold("".join(buf)))
    return [t for t in out if t]


def fold(text: str) -> str:
    """Case- and accent-insensitive form (what remove_diacritics 2 does, roughly).

    CJK characters are kept as they are: unicode61 does not strip the dakuten of `で`.
    """
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


@functools.lru_cache(maxsize=65_536)
def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    if is_cjk(ch):
        return ch
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True, slots=True)
class Needle:
    """One thing to highlight: a sequence of folded tokens (the last may be a prefix), or a
    substring (CJK text, matched anywhere)."""

    tokens: tuple[str, ...]
    prefix: bool = False
    substring: bool = False


def needles(terms: Iterable[str]) -> list[Needle]:
    """Needles from highlight terms as `highlight_terms` returns them (`word`, `a phrase`, `pre*`)."""
    out: list[Needle] = []
    for term in terms:
        prefix = term.endswith("*")
        toks = tokens(term.rstrip("*"))
        if not toks:
            continue
        if any(has_cjk(t) for t in toks):
            out.extend(Needle((t,), substring=True) for t in toks)
        else:
            out.append(Needle(tuple(toks), prefix=prefix))
    return out


def _fold_map(text: str) -> tuple[str, Sequence[int]]:
    """The folded text and, for each folded character, the index of the original it came from.

    ASCII runs are handled in bulk: most text is mostly ASCII.
    """
    if text.isascii():
        return text.lower(), range(len(text))
    folded = text.translate(_FOLD)
    # One character for one (CJK, most accents): no map to build. Equal lengths alone do not tell
    # (`ß` -> `ss` beside a mark that folds to nothing), so every distinct character is checked.
    if len(folded) == len(text) and all(len(_FOLD[ord(c)]) == 1 for c in set(text)):
        return folded, range(len(text))
    out: list[str] = []
    index: list[int] = []
    for m in _RUNS.finditer(text):
        seg = m.group()
        base = m.start()
        if seg.isascii():
            out.append(seg.lower())
            index.extend(range(base, base + len(seg)))
            continue
        for j, ch in enumerate(seg):
            f = _fold_char(ch)
            out.append(f)
            index.extend([base + j] * len(f))
    return "".join(out), index


class _FoldTable(dict[int, str]):
    """`str.translate` table of `_fold_char`, filled as characters are met (bounded)."""

    def __missing__(self, key: int) -> str:
        if len(self) > 65_536:
            self.clear()
        folded = self[key] = _fold_char(chr(key))
        return folded


_FOLD = _FoldTable()
_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
# `ccbrowser.safe.without_sequences`'s sequences, raw or as `safe.visible` shows them (ESC as ␛,
# BEL as ␇): the detail pane highlights lines that are already made visible.
_SEQUENCES = re.compile(
    "(?:[\x1b\u241b]\\[|\x9b)[0-?]*[ -/]*[@-~]"
    "|(?:[\x1b\u241b][\\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\u2407\x1b\u241b\x9c]*"
    "(?:[\x07\u2407]|[\x1b\u241b]\\\\|\x9c)"
    "|[\x1b\u241b][ -/]*[0-~]"
)


def _without_sequences_map(text: str) -> tuple[str, list[int]]:
    """`text` without escape sequences and, for each character kept, its index in `text`."""
    pieces: list[str] = []
    where: list[int] = []
    pos = 0
    for m in _SEQUENCES.finditer(text):
        pieces.append(text[pos : m.start()])
        where.extend(range(pos, m.start()))
        pos = m.end()
    pieces.append(text[pos:])
    where.extend(range(pos, len(text)))
    return "".join(pieces), where


_TOK = r"[^\W_]"


class Matcher:
    """Compiled needles of a query: `spans(text)` finds them accent- and case-insensitively.

    Words match whole tokens (a prefix the start of one), phrases consecutive tokens with any
    separators between them, CJK text anywhere.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        parts: list[str] = []
        for needle in needles(terms):
            if needle.substring:
                parts.append(re.escape(needle.tokens[0]))
                continue
            # The token boundary before the first token is checked after it (a lookbehind over
            # it and the character before): a pattern that starts with a literal is searched
            # for that literal first, ~8x faster over a long message than one that starts with
            # a lookbehind tried at every position. The same matches, at the same places.
            head, *rest = needle.tokens
            body = re.escape(head) + f"(?<!{_TOK}[\\s\\S]{{{len(head)}}})"
            body += "".join(r"[\W_]+" + re.escape(t) for t in rest)
            tail = f"{_TOK}*" if needle.prefix else f"(?!{_TOK})"
            parts.append(f"{body}{tail}")
        self.pattern = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def spans(self, text: str, *, limit: int = 10_000) -> list[tuple[int, int]]:
        if self.pattern is None or not text:
            return []
        if "\x1b" in text or "\u241b" in text or "\x9b" in text:
            # Words glued to escape sequences (`\x1b[31mcapybara`, or `␛[31mcapybara` once made
            # visible) match as the index saw them: the sequences taken out, spans mapped back.
            kept, where = _without_sequences_map(text)
            return [(where[s], where[e - 1] + 1) for s, e in self._spans(kept, limit) if e > s]
        return self._spans(text, limit)

    def _spans(self, text: str, limit: int) -> list[tuple[int, int]]:
        assert self.pattern is not None
        folded, index = _fold_map(text)
        found: list[tuple[int, int]] = []
        pos = 0
        while len(found) < limit:
            m = self.pattern.search(folded, pos)
            if m is None:
                break
            if m.end() == m.start():
                pos = m.end() + 1
                continue
            found.append((m.start(), m.end()))
            pos = m.end()
        out: list[tuple[int, int]] = []
        n = len(text)
        for s, e in found:
            os_ = index[s] if s < len(index) else n
            oe = index[e - 1] + 1 if 0 < e <= len(index) else n
            if out and os_ <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], oe))
            else:
                out.append((os_, oe))
        return out


def find_matches(text: str, query: object, *, limit: int = 10_000) -> list[tuple[int, int]]:
    """(start, end) spans in `text` where the query's words match, accent- and case-insensitively.

    `query` is a `Query` or a list of highlight terms (as `highlight_terms` returns). For many
    texts and one query, build a `Matcher` once instead.
    """
    from ccbrowser.search.query import Query, highlight_terms

    items = highlight_terms(query) if isinstance(query, Query) else list(query)  # type: ignore[call-overload]
    return Matcher(items).spans(text, limit=limit)


def one_line(text: str) -> str:
    return visible(" ".join(text.split()))


def make_snippet(text: str, spans: list[tuple[int, int]], width: int = 160) -> str:
    """One display line around the first match, matches wrapped in MARK_START/MARK_END.

    The text is made safe first (controls visible, whitespace collapsed) piece by piece so that the
    marks are the only control characters left.
    """
    if not text:
        return ""
    if not spans:
        return one_line(text[: width * 2])[:width]
    first = spans[0][0]
    start = max(0, first - width // 3)
    # Start at a word boundary when one is near.
    if start > 0:
        space = text.rfind(" ", max(0, start - 20), first)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + width)
    pieces: list[str] = ["…"] if start > 0 else []
    pos = start
    for s, e in spans:
        if e <= start:
            continue
        if s >= end:
            break
        s = max(s, start)
        e = min(e, end)
        pieces.append(one_piece(text[pos:s]))
        pieces.append(MARK_START + one_piece(text[s:e]) + MARK_END)
        pos = e
    pieces.append(one_piece(text[pos:end]))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip()


def one_piece(text: str) -> str:
    """Whitespace runs become one space (keeping a leading/trailing one), controls visible."""
    if not text:
        return ""
    lead = " " if text[0].isspace() else ""
    trail = " " if text[-1].isspace() and len(text) > 1 else ""
    core = " ".join(text.split())
    return visible(lead + core + trail) if core else " "


def split_marked(snippet: str) -> list[tuple[str, bool]]:
    """[(text, is_match)] from a marked snippet: what a renderer styles."""
    out: list[tuple[str, bool]] = []
    inside = False
    buf: list[str] = []
    for ch in snippet:
        if ch == MARK_START or ch == MARK_END:
            if buf:
                out.append(("".join(buf), inside))
                buf = []
            inside = ch == MARK_START
        else:
            buf.append(ch)
    if buf:
        out.append(("".join(buf), inside))
    return out


def plain(snippet: str) -> str:
    """The snippet without marks."""
    return snippet.replace(MARK_START, "").replace(MARK_END, "")
