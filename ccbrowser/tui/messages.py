"""What the background and the palette tell the app. Only the app's `@on` handlers act on them.

`post_message` is thread-safe, so the sync thread posts these directly (`call_from_thread` would
block it until the UI caught up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.message import Message

from ccbrowser.errors import CCBrowserError


class SyncProgressed(Message):
    """A line of sync progress. A newer counter line replaces one still queued (`can_replace`):
    a busy UI shows the latest, not a backlog. A wait or a retry (`replaceable=False`) stays."""

    def __init__(self, text: str, *, replaceable: bool = True) -> None:
        super().__init__()
        self.text = text
        self.replaceable = replaceable

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgressed) and message.replaceable and self.replaceable


class SyncFinished(Message):
    """The sync ended: a summary, or the error that stopped it (never both)."""

    def __init__(self, summary: Any | None, error: CCBrowserError | None) -> None:
        super().__init__()
        self.summary = summary
        self.error = error


class DataChanged(Message):
    """Another connection committed (`PRAGMA data_version` moved): read the snapshot again."""

    def __init__(self, version: int) -> None:
        super().__init__()
        self.version = version


class SetQuery(Message):
    """Search for this text (the palette's filters, "Clear search")."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class GoToId(Message):
    """Put the cursor on the completion with this id or unique prefix; `read`: and move to its
    detail, as enter on a row does (the usage screen's most expensive)."""

    def __init__(self, id_or_prefix: str, *, read: bool = False) -> None:
        super().__init__()
        self.id_or_prefix = id_or_prefix
        self.read = read


class SyncNow(Message):
    """Start a sync now (unless one is running)."""


class SwitchProfile(Message):
    """Sync this profile from now on."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ShowHelp(Message):
    """Open the keys-and-help screen."""


class EditQuery(Message):
    """Put this text in the search box and focus it, without searching yet ("Go to id…": `id:`)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ShowSyncError(Message):
    """Show the last sync error in full (the status bar has one line for it)."""


class NextSort(Message):
    """Sort the list by the next order (relevance, newest, oldest, tokens, ...)."""


class Maximise(Message):
    """Maximise the pane in use, or show both panes again."""


class Matches(Message):
    """A search's answer: the primary keys to list. `partial`: the first screenful, the rest is
    on its way; `keep_cursor`: the cursor stays on its completion (live refresh, second step);
    `rest`: the second step, whose first keys are the first step's (rows read stay valid)."""

    def __init__(
        self,
        generation: int,
        pks: Sequence[int],
        *,
        partial: bool,
        keep_cursor: bool,
        hints: tuple[str, ...] = (),
        rest: bool = False,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.pks = pks
        self.partial = partial
        self.keep_cursor = keep_cursor
        self.rest = rest
        self.hints = hints  # notes for the line under the search box (the planner's too)


class SearchFailed(Message):
    def __init__(self, generation: int, text: str) -> None:
        super().__init__()
        self.generation = generation
        self.text = text


class DetailRead(Message):
    """One completion's detail, read for the cursor at `pk` (None: nothing to show)."""

    def __init__(self, pk: int | None, detail: Any | None) -> None:
        super().__init__()
        self.pk = pk
        self.detail = detail


class Found(Message):
    """`GoToId` resolved to `pk`; `pks`: the whole list when the current one lacks it."""

    def __init__(self, pk: int, pks: Sequence[int] | None, *, read: bool = False) -> None:
        super().__init__()
        self.pk = pk
        self.pks = pks
        self.read = read


class ShowUsage(Message):
    """Open the usage screen for the current query (the palette's entry)."""


class RunAction(Message):
    """Run an app action (the palette's bulk commands: `star`, `export('finetune')`, ...)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action


class Curated(Message):
    """A label or export job finished: one line to tell (`error`: it failed)."""

    def __init__(self, text: str, *, error: bool) -> None:
        super().__init__()
        self.text = text
        self.error = error


class FacetsCounted(Message):
    """The facet counts of the current result, for the facets panel."""

    def __init__(self, facets: Any) -> None:
        super().__init__()
        self.facets = facets


class NoteRead(Message):
    """The current note of a selection (`curation_io.NoteDraft`): open the note editor on it."""

    def __init__(self, selection: Any, draft: Any) -> None:
        super().__init__()
        self.selection = selection
        self.draft = draft


class PushPlanned(Message):
    """What a push of the selection's tags would change (`sync.push.PushPlan`): ask first."""

    def __init__(self, plan: Any, settings: Any) -> None:
        super().__init__()
        self.plan = plan
        self.settings = settings


class PushProgressed(Message):
    """`done` of `total` completions pushed (a newer one replaces one still queued)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PushProgressed)


class Pushed(Message):
    """A push ended: its `sync.push.PushResult`, or the one line that stopped it (never both)."""

    def __init__(self, result: Any | None, error: str | None) -> None:
        super().__init__()
        self.result = result
        self.error = error
