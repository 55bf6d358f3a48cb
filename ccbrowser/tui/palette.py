"""Command palette (ctrl+p): go to an id, sync now, switch profile, filter by model / metadata,
sort, maximise, read the last sync error.

A hit posts a message (`messages.py`) that the app handles: the palette never calls into the app.
"Go to id" is offered for `go to ID` (or `id ID`) and for a word that looks like an id, never for
every word typed; a filter narrows the current query (a model filter replaces a `model:` term).

Model names and metadata come from the data, and Textual's `Matcher.highlight` parses markup,
so every prompt here is built as `Content` with our own fuzzy highlighting; `help` texts hold
only our own words and numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.message import Message

from ccbrowser.safe import one_line, visible
from ccbrowser.store import reader
from ccbrowser.tui.messages import (
    EditQuery,
    GoToId,
    Maximise,
    NextSort,
    RunAction,
    SetQuery,
    ShowHelp,
    ShowSyncError,
    ShowUsage,
    SwitchProfile,
    SyncNow,
)
from ccbrowser.tui.reads import Reads
from ccbrowser.words import plural


class PaletteSource(Protocol):
    """What the palette reads from the app it runs in."""

    reads: Reads
    query_text: str

    def profile_names(self) -> list[str]: ...

    def saved_views(self) -> dict[str, str]: ...

    def last_sync_error(self) -> str | None: ...


_GO_TO = re.compile(r"(?:go ?to|goto|id)(?:\s+|:)(\S+)\s*$", re.IGNORECASE)
_LOOKS_LIKE_ID = re.compile(r"(?=.*\d)(?=.*[a-zA-Z])[\w-]{12,}|chatcmpl-[\w-]*")


def id_to_go_to(query: str) -> str | None:
    """The id (or prefix) a palette query names: `go to ID`, `id ID`, or a bare id-like word."""
    q = query.strip()
    if m := _GO_TO.fullmatch(q):
        return m.group(1)
    return q if _LOOKS_LIKE_ID.fullmatch(q) else None


def narrowed(current: str, term: str) -> str:
    """`current` and `term` (a filter from the palette); a new `model:` replaces the old one."""
    words = current.split()
    if term in words:
        return current
    if term.startswith("model:"):
        words = [w for w in words if not w.startswith("model:")]
    return " ".join([*words, term])


# The curation commands: (candidate, action, help). They act on the marked completions, or on the
# one under the cursor when none is marked.
CURATION: tuple[tuple[str, str, str], ...] = (
    ("Star / unstar the marked", "star", "Star them, or unstar them when all are starred (s)"),
    ("Tag the marked…", "tag", "Add a tag, or -tag to remove it (t)"),
    ("Note on the marked…", "note", "Write, change or remove their note (a)"),
    ("Push the tags of the marked to the server…", "push_labels", "Shows what changes, asks first (P)"),
    ("Export the marked as finetune…", "export('finetune')", "OpenAI chat fine-tuning JSONL"),
    ("Export the marked as evals…", "export('evals')", "Evals API item / sample JSONL"),
    ("Copy the ids of the marked", "copy_ids", "One id per line"),
    ("Clear the marks", "clear_marks", "Unmark everything (space marks, v marks a range)"),
    ("Facets panel", "toggle_facets", "Counts by model, finish, tool, metadata, tag (F)"),
    ("Save the query as a view…", "save_view", "Name it, then @NAME in any search (ctrl+s)"),
)


def _quote(value: str) -> str | None:
    """A query value for a facet. Values a query cannot spell (control characters, `"`) become
    a prefix up to the first such character (None when nothing is left): never raw escapes in
    the search box."""
    for i, ch in enumerate(value):
        if ch == '"' or visible(ch) != ch:
            head = _quote(value[:i]) if value[:i] else None
            return head + "*" if head else None
    return f'"{value}"' if any(c.isspace() for c in value) else value


query_value = _quote  # the facets panel spells its filters the same way


def _display(matcher: Matcher | None, label: str, candidate: str) -> Content:
    """`label` + the candidate as plain text, fuzzy matches styled, no markup parsed."""
    shown = one_line(candidate, 120)
    content = Content(shown)
    if matcher is not None and matcher.query:
        _score, offsets = matcher.fuzzy_search.match(matcher.query, label + shown)
        for offset in offsets:
            offset -= len(label)
            if 0 <= offset < len(shown) and not shown[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return Content.assemble(Content.styled(label, "$text-muted"), content)


Entry = tuple[str, str, Callable[[], None], str]  # label, candidate, callback, help


class CCBrowserCommands(Provider):
    """Everything the palette offers beyond Textual's system commands."""

    def _post(self, make: Callable[[], Message]) -> Callable[[], None]:
        """A hit's callback: post a fresh message to the app (a message is posted only once)."""

        def callback() -> None:
            self.app.post_message(make())

        return callback

    def _narrow(self, term: str) -> Callable[[], None]:
        """A filter's callback: the query as it is when chosen, narrowed by `term`."""

        def callback() -> None:
            self.app.post_message(SetQuery(narrowed(cast(PaletteSource, self.app).query_text, term)))

        return callback

    async def startup(self) -> None:
        app = cast(PaletteSource, self.app)
        self._models: list[tuple[str, int]] = []
        self._meta: list[tuple[str, str | None, int]] = []
        self._profiles: list[str] = []
        self._views: dict[str, str] = app.saved_views()
        try:
            self._models = await app.reads.read(reader.model_counts)
            self._meta = await app.reads.read(reader.metadata_counts, 200)
        except Exception:  # a palette without counts is still a palette
            pass
        self._profiles = app.profile_names()
        self._sync_error = app.last_sync_error()

    def _entries(self) -> list[Entry]:
        """Every static command."""
        post, narrow = self._post, self._narrow
        out: list[Entry] = [
            ("", "Go to id…", post(partial(EditQuery, "id:")), "Type: go to ID (or a unique prefix)"),
            ("", "Sync now", post(SyncNow), "Fetch new completions from the API"),
            ("", "Clear search", post(partial(SetQuery, "")), "Show every completion"),
            ("", "Sort: next order", post(NextSort), "relevance, newest, oldest, tokens (o)"),
            ("", "Maximise the pane in use", post(Maximise), "Again: both panes (+)"),
            ("", "Keys and help", post(ShowHelp), "Every key in effect"),
            ("", "Usage and costs", post(ShowUsage), "Charts of cost and tokens for the current query (u)"),
        ]
        for name, query in self._views.items():
            shown = f"@{name}  {query}"  # the query is the user's text: shown as Content, never in `help`
            out.append(("View: ", shown, post(partial(SetQuery, f"@{name}")), "Search this saved view"))
        for candidate, action, help_text in CURATION:
            out.append(("", candidate, post(partial(RunAction, action)), help_text))
        if self._sync_error:
            out.append(("", "Show the last sync error", post(ShowSyncError), one_line(self._sync_error, 60)))
        for name in self._profiles:
            out.append(("Switch profile: ", name, post(partial(SwitchProfile, name)), "Sync this profile"))
        for model, n in self._models:
            if (q := _quote(model)) is None:
                continue
            query = f"model:{q}"
            out.append(("Filter model: ", model, narrow(query), plural(n, "completion")))
        for key, value, n in self._meta:
            qk, qv = _quote(key), (None if value is None else _quote(value))
            if qk is None or qk.endswith("*") or (value is not None and qv is None):
                continue
            term = f"meta:{qk}" if value is None else f"meta:{qk}={qv}"
            shown = key if value is None else f"{key}={value}"
            out.append(("Filter metadata: ", shown, narrow(term), plural(n, "completion")))
        return out

    async def discover(self) -> Hits:
        for label, candidate, callback, help_text in self._entries()[:40]:
            yield DiscoveryHit(
                _display(None, label, candidate), callback, text=label + candidate, help=help_text
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        if (target := id_to_go_to(query)) is not None:
            yield Hit(
                1.0,
                _display(None, "Go to id: ", target),
                self._post(partial(GoToId, target)),
                text=f"Go to id: {target}",
                help="Jump to the completion with this id (or unique prefix)",
            )
        for label, candidate, callback, help_text in self._entries():
            score = matcher.match(label + candidate)
            if score > 0:
                yield Hit(
                    score,
                    _display(matcher, label, candidate),
                    callback,
                    text=label + candidate,
                    help=help_text,
                )
