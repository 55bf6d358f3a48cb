"""Waiting until the app has nothing left to read or show (tests, screenshots, benchmark)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual.app import App
from textual.worker import WorkerCancelled, WorkerState

BACKGROUND = ("watch", "sync", "clipboard")  # never "done": not waited for


async def wait_idle(app: App[Any], timeout: float = 10.0) -> None:
    """Until no page, detail or search read is in flight and three quiet turns have passed (the
    messages the last worker posted are handled by then)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        busy = [
            w
            for w in app.workers
            if w.group not in BACKGROUND and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        if busy:
            quiet = 0
            try:
                await app.workers.wait_for_complete(busy)
            except WorkerCancelled:  # replaced by a newer one (an exclusive group): wait for that
                continue
        else:
            quiet += 1
            await asyncio.sleep(0.01)
