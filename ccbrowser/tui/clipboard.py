"""Copying: OSC 52 through the terminal, plus the system clipboard when a tool for it exists.

OSC 52 gets no answer and is dropped by some terminals (macOS Terminal, tmux without
`set-clipboard on`, size caps), so a local clipboard tool is used as well when one is installed.
Neither may ever fail the app: the worst case is a notification that says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

_SURROGATES = str.maketrans({c: "\ufffd" for c in range(0xD800, 0xE000)})


def encodable(text: str) -> str:
    """Lone surrogates cannot be encoded as UTF-8: anything else is copied unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text


def system_command() -> list[str] | None:
    """The first clipboard tool that works here, or None."""
    if sys.platform == "darwin" and shutil.which("pbcopy"):
        return ["pbcopy"]
    if os.environ.get("WAYLAND_DISPLAY") and shutil.which("wl-copy"):
        return ["wl-copy"]
    if os.environ.get("DISPLAY"):
        if shutil.which("xclip"):
            return ["xclip", "-selection", "clipboard"]
        if shutil.which("xsel"):
            return ["xsel", "--clipboard", "--input"]
    if sys.platform == "win32" and shutil.which("clip"):
        return ["clip"]
    return None


def copy_system(text: str, command: list[str] | None = None) -> bool:
    """Copy with the system tool; False when there is none or it failed (never raises)."""
    command = command or system_command()
    if not command:
        return False
    try:
        subprocess.run(
            command,
            input=text.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=3,
            check=True,
        )
    except (OSError, subprocess.SubprocessError, UnicodeEncodeError):
        return False
    return True


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes" if n != 1 else "1 byte"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
