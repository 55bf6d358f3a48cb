"""Keeping Python's garbage collector off a big document while it is built and while it is shown.

A full collection stops every thread, the UI's too, and walks every tracked object: a 2 MB reply
rendered as Markdown is some 400k objects (lines, spans), and the collections its growth triggers
stalled the UI for up to a second on a loaded machine (bench/bench_markdown.py). So a heavy build
runs with automatic collection off, and what is alive when it ends is moved to the permanent
generation (`gc.freeze`): later collections skip it while it is on screen. `release()` puts it
back (`gc.unfreeze`) once the document is replaced, so cyclic garbage frozen with it is still
collected in the end: nothing leaks.

The same holds for what start-up leaves alive (modules, styles, the widget tree: some 130k
objects): `settle()` freezes it once the first page is on screen. Without that, the full
collections that browsing triggers every few cursor moves walked it each time (~40 ms here, up to
150 ms on a loaded machine, the slowest moves of bench/bench_tui.py).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_builds = 0
_was_enabled = True
_frozen = False


@contextmanager
def quiet_build() -> Iterator[None]:
    """No automatic collection during the block; then freeze what is alive (see the module)."""
    global _builds, _was_enabled
    with _lock:
        if _builds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _builds += 1
    try:
        yield
    finally:
        with _lock:
            _builds -= 1
            if _builds == 0:
                _freeze()
                if _was_enabled:
                    gc.enable()


def _freeze() -> None:
    global _frozen
    gc.freeze()
    _frozen = True


def settle() -> None:
    """Start-up is over: keep the collector off what is alive now, until `release`."""
    with _lock:
        if _builds == 0:
            _freeze()


def release() -> None:
    """The big document is gone: let the collector see everything again."""
    global _frozen
    with _lock:
        if _frozen and _builds == 0:
            gc.unfreeze()
            _frozen = False
