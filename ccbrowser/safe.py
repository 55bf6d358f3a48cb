"""Making untrusted text safe to show in a terminal.

Text from the API may hold escape sequences (OSC 52 clipboard writes, title changes, screen
clears). They must never reach the terminal: C0 controls (except tab and newline), DEL and C1
controls become visible symbols. Copy the raw value, display the safe one.
"""

from __future__ import annotations

import re

# C0 (but tab and newline), DEL, C1, lone surrogates, and the bidi embedding/override/isolate
# controls, which reorder what is displayed ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ␁ ... ␛ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code >= 0x2000:
        return f"<U+{code:04X}>"
    return f"\\x{code:02x}"


def visible(text: str) -> str:
    """`text` with every control character (and lone surrogate) replaced by a visible stand-in."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str, width: int | None = None) -> str:
    """A single display line: newlines and tabs become spaces, controls visible."""
    out = visible(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    return out if width is None or len(out) <= width else out[: max(0, width - 1)] + "…"


# Terminal control sequences (ECMA-48): CSI (`ESC [ ... final`, or the C1 byte), string commands
# that end with BEL or ST (OSC, DCS, SOS, PM, APC), and two-character escapes (`ESC c`, `ESC ( B`).
# A string command with no terminator is left alone: removing it would hide the rest of the text.
_SEQUENCE = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)"
    "|\x1b[ -/]*[0-~]"
)
_INTRODUCERS = ("\x1b", "\x9b", "\x90", "\x98", "\x9d", "\x9e", "\x9f")


def without_sequences(text: str) -> str:
    """`text` as a terminal would print it, without its escape sequences: what the search index
    holds, so that `\\x1b[31mcapybara\\x1b[0m` is found by `capybara`. Display still uses `visible`."""
    if "\x1b" not in text and (text.isascii() or not any(c in text for c in _INTRODUCERS)):
        return text
    return _SEQUENCE.sub("", text)
