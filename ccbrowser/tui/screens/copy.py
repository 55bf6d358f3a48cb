"""The `y` / `Y` choosers: which tool call's arguments, or what of the completion, to copy.

Each chooser dismisses with a `Clip` (what to say, the raw value) or None; the app copies it.
Names and ids come from the data, so every option is `Content`, never markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

from textual.content import Content

from ccbrowser.safe import one_line
from ccbrowser.store.reader import Detail, ToolCallInfo
from ccbrowser.tui import clipboard, document
from ccbrowser.tui.screens.chooser import Chooser

ARGS = "args"  # the copy menu's entry that opens the tool-call chooser
LETTERS = {"id": "i", "content": "o", "json": "w", "inputs": "m", ARGS: "t"}  # id, output, whole, ...


class Clip(NamedTuple):
    what: str  # for the notification: "Copied {what} (12 bytes)"
    value: str


def tool_call_clip(call: ToolCallInfo) -> Clip:
    return Clip(f"arguments of {one_line(call.name or '?', 60)}", call.arguments or "")


class ToolCallChooser(Chooser):
    """Several tool calls: pick one; dismisses with its arguments."""

    def __init__(self, calls: list[ToolCallInfo]) -> None:
        options = [
            (
                str(i),
                Content.assemble(
                    Content.styled(one_line(c.name or "?", 50), "bold"),
                    Content.styled(
                        f"  {clipboard.human_size(len((c.arguments or '').encode('utf-8', 'replace')))}"
                        + ("  invalid JSON" if c.bad_json else ""),
                        "$text-muted",
                    ),
                ),
            )
            for i, c in enumerate(calls)
        ]
        super().__init__("Copy the arguments of which tool call?", options)
        self.calls = calls

    @staticmethod
    def clip(calls: list[ToolCallInfo], key: str | None) -> Clip | None:
        return None if key is None else tool_call_clip(calls[int(key)])


class CopyMenu(Chooser):
    """`Y`: the id, the output, the whole JSON, the inputs, or (→ `ToolCallChooser`) arguments."""

    def __init__(self, detail: Detail) -> None:
        d = detail
        options = [
            ("id", Content.assemble("Id  ", Content.styled(one_line(d.row.id, 60), "$text-muted"))),
            ("content", Content("Output content")),
            ("json", Content("Whole completion JSON (verbatim)")),
            ("inputs", Content(f"Input messages ({len(d.input_messages)})")),
        ]
        if d.tool_calls:
            options.append((ARGS, Content(f"Tool-call arguments ({len(d.tool_calls)})")))
        super().__init__("Copy what?", options, LETTERS)
        self.detail = detail

    @staticmethod
    def clip(detail: Detail, key: str) -> Clip:
        """The chosen entry's value (not for ARGS: that one asks again)."""
        entries: dict[str, tuple[str, Callable[[], str]]] = {
            "id": ("id", lambda: detail.row.id),
            "content": ("the output content", lambda: document.output_text(detail)),
            "json": ("the whole JSON", lambda: detail.raw_text),
            "inputs": (
                "the input messages (JSON)",
                lambda: json.dumps(detail.input_messages, ensure_ascii=False, indent=2),
            ),
        }
        what, get = entries[key]
        return Clip(what, get())
