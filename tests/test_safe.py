"""Untrusted text made safe for a terminal."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from ccbrowser.safe import one_line, visible

DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def test_escape_sequences_become_visible_symbols() -> None:
    assert visible("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert visible("a\x00b\x7fc") == "a␀b␡c"
    assert visible("\x9b31m") == "\\x9b31m"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert visible("lone \ud800") == "lone \ufffd"
    assert visible("abc\u202edcba") == "abc<U+202E>dcba"  # no reordering of what follows


def test_one_line_flattens_and_caps() -> None:
    assert one_line("a\nb\tc\r\nd") == "a b c d"
    assert one_line("x" * 10, 5) == "xxxx…"


@given(st.text())
def test_nothing_dangerous_survives(text: str) -> None:
    out = visible(text)
    assert not DANGEROUS.search(out)
    out.encode("utf-8")  # always printable as UTF-8
