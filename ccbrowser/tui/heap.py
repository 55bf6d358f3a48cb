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

import ctypes
import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 2

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


def bound_malloc() -> None:
    """glibc only: big blocks always in their own mapping, and two malloc arenas, not one per thread.

    A snapshot of a million keys is one 8 MB block. glibc raises its mmap threshold to the size
    of every mapped block freed, so once the first snapshot was replaced the next ones came from
    the reader threads' heap arenas, where freed space stays resident and fragments: RSS climbed
    ~25 MB over bench/bench_tui.py's queries at 1M. A fixed threshold turns that rise off (a
    freed snapshot goes back to the OS); two arenas keep the four reader threads from each
    holding its own high-water mark. Elsewhere (macOS, musl) nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
    except (OSError, AttributeError):
        return
