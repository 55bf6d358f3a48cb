"""Opening a text in the user's `$PAGER` or `$EDITOR` (`p` / `E`), as posting does.

The text goes into a temporary file created 0600 (`mkstemp`), made read-only, and removed when
the program exits: a message may hold secrets, and this is a browser, not an editor. What reaches
the pager is made visible first (`safe.visible`): a pager such as `cat` or `less -r` would send an
escape sequence in a message straight to the terminal. The editor gets the exact text (editors
show control characters as such), so that it can be inspected byte for byte.

The program runs with the app suspended (`App.suspend`); anything it raises is caught inside the
`with` block (an exception escaping it can leave the terminal stuck, PITFALLS) and becomes one line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

from ccbrowser.safe import one_line, visible

DEFAULTS = {"pager": (("PAGER",), "less"), "editor": (("VISUAL", "EDITOR"), "vi")}


def command(kind: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(the variable it came from, the argv) for `kind` "pager" or "editor"."""
    env = dict(os.environ) if env is None else env
    names, fallback = DEFAULTS[kind]
    for name in names:
        if env.get(name, "").strip():
            return f"${name}", shlex.split(env[name])
    return "default", [fallback]


def write_temp(text: str, suffix: str) -> Path:
    """A new 0600 file holding `text` (UTF-8), then made read-only (0400)."""
    fd, name = tempfile.mkstemp(prefix="ccbrowser-", suffix=suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as out:
            out.write(text)
        os.chmod(name, stat.S_IRUSR)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def open_in(
    kind: str,
    text: str,
    suffix: str,
    suspend: Callable[[], AbstractContextManager[object]],
    env: dict[str, str] | None = None,
) -> str | None:
    """Show `text` in the pager / editor; None when it went well, else a one-line message."""
    origin, argv = command(kind, env)
    try:
        if not argv or shutil.which(argv[0]) is None:
            shown = one_line(argv[0] if argv else "", 60)
            return f"{kind} not found: {shown!r} ({origin}); set ${'PAGER' if kind == 'pager' else 'EDITOR'}"
    except ValueError as exc:  # shlex: an unclosed quote
        return f"cannot read {origin}: {exc}"
    path = write_temp(visible(text) if kind == "pager" else text, suffix)
    failure: str | None = None
    try:
        with ExitStack() as stack:
            try:
                stack.enter_context(suspend())
            except Exception:  # no terminal to hand over (headless, Textual Web): run beside the app
                pass
            try:
                code = subprocess.run([*argv, str(path)], check=False).returncode
                if code != 0:
                    failure = f"{kind} {one_line(argv[0], 60)!r} exited with status {code}"
            except OSError as exc:
                failure = f"cannot run {kind} {one_line(argv[0], 60)!r}: {one_line(str(exc), 120)}"
    finally:
        path.unlink(missing_ok=True)
    return failure
