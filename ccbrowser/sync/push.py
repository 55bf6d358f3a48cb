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
from collections.abc import Mapping, Sequence
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


@dataclass
class PushResult:
    pushed: dict[str, Any] = field(default_factory=dict)  # id -> the completion the server returned
    failed: dict[str, str] = field(default_factory=dict)  # id -> why
    unchanged: int = 0  # the server already had those tags


async def _push(settings: Settings, tags: Mapping[str, Sequence[str]], limits: Limits) -> PushResult:
    out = PushResult()
    gate = asyncio.Semaphore(4)
    async with Client(settings, concurrency=4, limits=limits) as client:

        async def one(cid: str, wanted_tags: Sequence[str]) -> None:
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

        await asyncio.gather(*(one(cid, t) for cid, t in tags.items()))
    return out


def push_tags(
    db: Path,
    settings: Settings,
    tags: Mapping[str, Sequence[str]],
    *,
    limits: Limits | None = None,
) -> PushResult:
    """Write each completion's tags to its metadata on the server, then store what it returned."""
    from ccbrowser.store import open_db
    from ccbrowser.store.writer import Writer

    result = asyncio.run(_push(settings, tags, limits or Limits()))
    returned = [obj for obj in result.pushed.values() if isinstance(obj, dict) and obj.get("id")]
    if returned:
        conn = open_db(db)
        try:
            Writer(conn, profile=settings.profile, source="push").write(returned)
        finally:
            conn.close()
    return result
