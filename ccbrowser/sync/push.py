"""Writing metadata to the server: `POST /chat/completions/{id}`, the one write ccbrowser makes.

Only `ccbrowser label --push` (and the TUI after asking) calls this, with the tags each completion
should carry. The tags go to one metadata key, `tags` (comma-separated, sorted), beside the keys
the completion already has. The server replaces the whole metadata object on update, so each
completion's metadata is read from the server first and merged there: a key set elsewhere since
the last sync is kept, never overwritten with the mirror's older copy. Limits are the server's (16
keys of at most 64 characters, values of at most 512): the caller checks the batch against the
mirror before asking, and each completion is checked again against what the server holds before
its update is sent. What the server answers is written back to the store, so the local mirror
shows the pushed metadata at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbrowser.api.client import Client
from ccbrowser.api.limits import Limits
from ccbrowser.config import Settings
from ccbrowser.errors import APIError, AuthError, NotFoundError, UnsupportedError

PUSH_KEY = "tags"
MAX_KEYS = 16
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 512


def metadata_problem(metadata: Mapping[str, str]) -> str | None:
    """Why the server would refuse this metadata object, or None."""
    if len(metadata) > MAX_KEYS:
        return f"{len(metadata)} metadata keys (the server allows {MAX_KEYS})"
    for key, value in metadata.items():
        if len(key) > MAX_KEY_CHARS:
            return (
                f"metadata key {key[:20]!r}... is {len(key)} characters (the server allows {MAX_KEY_CHARS})"
            )
        if len(value) > MAX_VALUE_CHARS:
            return f"metadata {key!r} of {len(value)} characters (the server allows {MAX_VALUE_CHARS})"
    return None


def merged(current: Mapping[str, Any], tags: Sequence[str]) -> dict[str, str]:
    """The metadata a completion holding `current` has once `tags` are pushed (no tags: no key)."""
    wanted = {str(k): v if isinstance(v, str) else str(v) for k, v in current.items() if k != PUSH_KEY}
    if tags:
        wanted[PUSH_KEY] = ",".join(sorted(set(tags)))
    return wanted


def _strings(metadata: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else str(v) for k, v in metadata.items()}


@dataclass(frozen=True)
class Change:
    """What one completion's metadata becomes: the keys added, changed (old, new) and removed,
    or why the server would refuse it (`refused`: nothing is sent for it)."""

    id: str
    tags: tuple[str, ...]
    metadata: dict[str, str]
    added: dict[str, str]
    changed: dict[str, tuple[str, str]]
    removed: tuple[str, ...]
    before: str | None  # the `tags` value it has now (None: no key)
    refused: str | None = None


@dataclass
class PushPlan:
    """The batch, as far as the mirror knows: the completions whose metadata would change (the
    refused ones too, so they can be shown) and how many already hold their tags."""

    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def sendable(self) -> list[Change]:
        return [c for c in self.changes if c.refused is None]

    @property
    def refused(self) -> list[Change]:
        return [c for c in self.changes if c.refused is not None]

    def tags(self) -> dict[str, list[str]]:
        """id -> tags, for `push_tags`: the sendable changes only."""
        return {c.id: list(c.tags) for c in self.sendable}


def plan(stored: Mapping[str, Mapping[str, Any]], tags: Mapping[str, Sequence[str]]) -> PushPlan:
    """What pushing `tags` (id -> the tags it should carry) does to the `stored` metadata."""
    out = PushPlan()
    for cid, wanted_tags in tags.items():
        current = _strings(stored.get(cid, {}))
        wanted = merged(current, wanted_tags)
        if wanted == current:
            out.unchanged += 1
            continue
        added = {k: v for k, v in wanted.items() if k not in current}
        changed = {k: (current[k], v) for k, v in wanted.items() if k in current and current[k] != v}
        removed = tuple(k for k in current if k not in wanted)
        out.changes.append(
            Change(
                cid,
                tuple(sorted(set(wanted_tags))),
                wanted,
                added,
                changed,
                removed,
                current.get(PUSH_KEY),
                metadata_problem(wanted),
            )
        )
    return out


def plan_from_store(
    conn: sqlite3.Connection, ids: Sequence[str], *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> PushPlan:
    """The plan for `ids` from the mirror: each one's local tags (with `add` / `remove` applied,
    as `label --tag/--untag --push` will leave them) against the metadata the last sync stored."""
    from ccbrowser.store.labels import labels_of, stored_metadata

    labels = labels_of(conn, ids)
    tags: dict[str, list[str]] = {}
    for cid in dict.fromkeys(ids):
        had = set(labels[cid].tags) if cid in labels else set()
        tags[cid] = sorted((had | set(add)) - set(remove))
    return plan(stored_metadata(conn, list(tags)), tags)


@dataclass
class PushResult:
    pushed: dict[str, Any] = field(default_factory=dict)  # id -> the completion the server returned
    failed: dict[str, str] = field(default_factory=dict)  # id -> why
    unchanged: int = 0  # the server already had those tags


Progress = Callable[[int, int], None]  # (done, total), called after each completion


async def _push(
    settings: Settings, tags: Mapping[str, Sequence[str]], limits: Limits, on_progress: Progress | None
) -> PushResult:
    out = PushResult()
    gate = asyncio.Semaphore(4)
    done = 0
    async with Client(settings, concurrency=4, limits=limits) as client:

        async def one(cid: str, wanted_tags: Sequence[str]) -> None:
            nonlocal done
            async with gate:
                try:
                    current = (await client.retrieve(cid)).get("metadata")
                    current = current if isinstance(current, dict) else {}
                    wanted = merged(current, wanted_tags)
                    if wanted == current:
                        out.unchanged += 1
                        return
                    if problem := metadata_problem(wanted):
                        out.failed[cid] = (
                            f"refused: the server holds other metadata now; it would have {problem}"
                        )
                        return
                    out.pushed[cid] = await client.update(cid, wanted)
                except (AuthError, UnsupportedError):
                    raise  # the same for every id: stop and say it once
                except NotFoundError:
                    out.failed[cid] = "not on the server (removed, or synced through another profile)"
                except APIError as exc:
                    out.failed[cid] = str(exc)
                finally:
                    done += 1
                    if on_progress is not None:
                        on_progress(done, len(tags))

        await asyncio.gather(*(one(cid, t) for cid, t in tags.items()))
    return out


def push_tags(
    db: Path,
    settings: Settings,
    tags: Mapping[str, Sequence[str]],
    *,
    limits: Limits | None = None,
    on_progress: Progress | None = None,
) -> PushResult:
    """Write each completion's tags to its metadata on the server, then store what it returned.
    Local labels are never touched: a failed push leaves them as they were."""
    from ccbrowser.store import open_db
    from ccbrowser.store.writer import Writer

    result = asyncio.run(_push(settings, tags, limits or Limits(), on_progress))
    returned = [obj for obj in result.pushed.values() if isinstance(obj, dict) and obj.get("id")]
    if returned:
        conn = open_db(db)
        try:
            Writer(conn, profile=settings.profile, source="push").write(returned)
        finally:
            conn.close()
    return result
