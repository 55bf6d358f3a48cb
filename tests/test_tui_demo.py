"""`ccbrowser demo --no-tui`: emulator + real sync into a throw-away database (a CI smoke test)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ccbrowser.cli import main
from ccbrowser.emulator.corpus.chats import chats


def test_demo_no_tui_syncs_and_cleans_up(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("ccbrowser-demo-*"))
    assert main(["demo", "--no-tui", "--count", "150", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    total = 150 + len(chats(0))  # the corpus and the scripted conversations
    assert f"{total} new" in out and f"demo database: {total} completions" in out
    after = set(Path(tempfile.gettempdir()).glob("ccbrowser-demo-*"))
    assert after <= before  # the temporary directory is gone


def test_tui_subcommand_needs_no_textual_for_other_commands() -> None:
    """`ccbrowser search` must not import Textual (the TUI modules import it lazily)."""
    code = (
        "import sys; from ccbrowser.cli import build_parser; build_parser(); print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
