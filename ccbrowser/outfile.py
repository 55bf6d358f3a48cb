"""A file written whole or not at all: the text goes to a hidden temporary file beside the target,
which is renamed over it only once everything is written and synced.

An export that fails midway (a query error, a full disk, Ctrl-C) thus never leaves a truncated
file that looks complete, and never destroys the good file it was to replace. The temporary file
is created 0600 (it holds prompts and replies) in the target's own directory, so the rename is
atomic. A target that is not a regular file (`/dev/null`, a FIFO, a terminal) is written in place:
renaming over a device would replace the device.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ccbrowser.errors import CCBrowserError


def _special(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode)


@contextlib.contextmanager
def atomic_output(name: str, force: bool = False) -> Iterator[TextIO]:
    """A text file for writing `name`; it appears (or replaces `name`, with `force`) on a clean exit only."""
    target = Path(os.path.realpath(name))  # a symlink's file is replaced, not the link
    if target.is_dir():
        raise CCBrowserError(f"cannot write {name}: it is a directory")
    if _special(target):
        try:
            fd = os.open(target, os.O_WRONLY)
        except OSError as exc:
            raise CCBrowserError(f"cannot write {name}: {exc.strerror}") from None
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        return
    if not force and os.path.lexists(target):
        raise CCBrowserError(f"{name} already exists: use --force to replace it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise CCBrowserError(f"cannot write {name}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, target, name, force)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            kept = f"; {name} is unchanged" if os.path.lexists(target) else ""
            if exc.errno == errno.ENOSPC:
                raise CCBrowserError(f"disk full: cannot write {name}{kept}") from None
            raise CCBrowserError(f"cannot write {name}: {exc.strerror or exc}{kept}") from None
        raise


def _publish(tmp: str, target: Path, name: str, force: bool) -> None:
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # no-clobber: a file that appeared meanwhile is kept
    except FileExistsError:
        raise CCBrowserError(f"{name} already exists: use --force to replace it") from None
    except OSError:
        if os.path.lexists(target):
            raise CCBrowserError(f"{name} already exists: use --force to replace it") from None
        os.replace(tmp, target)  # a file system without hard links
        return
    os.unlink(tmp)
