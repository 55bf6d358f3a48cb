"""Writing metadata to the server: `POST /chat/completions/{id}`, the one write ccbrowser makes.

Only `ccbrowser label --push` (and the TUI after asking) calls this, with the metadata each
completion should end up with (the server replaces the whole object). Limits are the server's
(16 keys of at most 64 characters, values of at most 512) and are checked before any request:
a refused batch sends nothing. What the server answers is written back to the store, so the
local mirror shows the pushed metadata at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccbrowser.api.client import Client
from ccbrowser.api.limits import Limits
from ccbrowser.config import Settings
from ccbrowser.errors import APIError, AuthError, NotFoundError, UnsupportedError

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
            return f"metadata {key!r} would be {len(value)} characters (the server allows {MAX_VALUE_CHARS})"
    return None


@dataclass
class PushResult:
    pushed: dict[str, Any] = field(default_factory=dict)  # id -> the completion the server returned
    failed: dict[str, str] = field(default_factory=dict)  # id -> why


async def _push(settings: Settings, updates: Mapping[str, Mapping[str, str]], limits: Limits) -> PushResult:
    out = PushResult()
    gate = asyncio.Semaphore(4)
    async with Client(settings, concurrency=4, limits=limits) as client:

        async def one(cid: str, metadata: Mapping[str, str]) -> None:
            async with gate:
                try:
                    out.pushed[cid] = await client.update(cid, metadata)
                except (AuthError, UnsupportedError):
                    raise  # the same for every id: stop and say it once
                except NotFoundError:
                    out.failed[cid] = "not on the server (removed, or synced through another profile)"
                except APIError as exc:
                    out.failed[cid] = str(exc)

        await asyncio.gather(*(one(cid, md) for cid, md in updates.items()))
    return out


def push_metadata(
    db: Path,
    settings: Settings,
    updates: Mapping[str, Mapping[str, str]],
    *,
    limits: Limits | None = None,
) -> PushResult:
    """Set each completion's metadata on the server, then store what the server returned."""
    from ccbrowser.store import open_db
    from ccbrowser.store.writer import Writer

    for cid, metadata in updates.items():
        if problem := metadata_problem(metadata):
            raise ValueError(f"{cid}: {problem}")
    result = asyncio.run(_push(settings, updates, limits or Limits()))
    returned = [obj for obj in result.pushed.values() if isinstance(obj, dict) and obj.get("id")]
    if returned:
        conn = open_db(db)
        try:
            Writer(conn, profile=settings.profile, source="push").write(returned)
        finally:
            conn.close()
    return result
