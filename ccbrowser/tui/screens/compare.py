"""The compare screen (`=` marks a completion, `d` compares it with the cursor's).

What differs is worked out by `ccbrowser.compare` (pure, shared with `ccbrowser diff`); this
screen draws it: model, parameters and usage side by side (differences bright, the rest dim),
then the input messages (identical runs folded to one line) and the outputs, word by word:
struck red is only on the left, green only on the right. A comparison runs on a thread: two
long replies can take a moment, and the screen stays live meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from ccbrowser import compare
from ccbrowser.compare import Comparison, FieldDiff, MessageDiff, Side
from ccbrowser.safe import one_line
from ccbrowser.tui.document import DIM, label, text
from ccbrowser.tui.widgets.docview import DocView

LEFT = "strike $text-error on $error 15%"
RIGHT = "bold $text-success on $success 15%"
SAME = DIM
CHANGED = "bold $text-warning"
STATUS = {
    "changed": ("changed", CHANGED),
    "removed": ("only left", "$text-error"),
    "added": ("only right", "$text-success"),
}


def _pieces(pieces: Sequence[compare.Piece], indent: str = "    ") -> list[Content]:
    styles = {"equal": "", "delete": LEFT, "insert": RIGHT}
    whole = Content.assemble(*[(piece.text, styles[piece.op]) for piece in pieces])
    return [Content(indent) + line for line in whole.split("\n", allow_blank=True)]


def _fields(cmp: Comparison, only_different: bool, room: int) -> list[Content]:
    """Name, left, right in columns; `room` is the width there is for all three."""
    rows = [f for f in cmp.fields if not (only_different and f.same)]
    if not rows:
        return []
    width = min(30, max(len(f.name) for f in rows) + 5, max(12, room // 3))
    side = max(8, min(60, (room - width - 2) // 2))
    out = [
        Content.assemble(
            label(f"  {'':<{width}}", DIM),
            label(f"{one_line(cmp.left, side):<{side}}  ", "bold"),
            label(one_line(cmp.right, side), "bold"),
        )
    ]
    group = ""
    for f in rows:
        if f.group != group:
            group = f.group
            out.append(label(f"  {group}", "bold $text-primary"))
        out.append(_field_row(f, width, side))
    return out


def _field_row(f: FieldDiff, width: int, side: int) -> Content:
    style = SAME if f.same or f.name in ("id", "created") else CHANGED
    return Content.assemble(
        label(f"    {one_line(f.name, width - 5):<{width - 4}}", DIM),
        text(one_line(f.left, side).ljust(side) + "  ", style),
        text(one_line(f.right, side), style),
    )


def _messages(diffs: Sequence[MessageDiff], what: str) -> list[Content]:
    out: list[Content] = []
    same_run: list[MessageDiff] = []

    def flush() -> None:
        if same_run:
            roles = ", ".join(one_line(m.title, 20) for m in same_run[:6]) + (
                " …" if len(same_run) > 6 else ""
            )
            n = len(same_run)
            out.append(label(f"  = {n} identical {what}{'s' if n != 1 else ''} ({roles})", SAME))
            same_run.clear()

    for m in diffs:
        if m.status == "same":
            same_run.append(m)
            continue
        flush()
        where = "/".join("—" if i is None else f"#{i + 1}" for i in (m.left_index, m.right_index))
        status, style = STATUS[m.status]
        out.append(
            Content.assemble(
                label(f"  ≠ {one_line(m.title, 30)} ", "bold"), label(f"{where} · {status}", style)
            )
        )
        out.extend(_pieces(m.pieces))
    flush()
    if not diffs:
        out.append(label(f"  (no {what}s on either side)", SAME))
    return out


def comparison_lines(
    comparisons: Sequence[Comparison], *, choices: bool = False, width: int = 120
) -> list[Content]:
    """The screen's document: one block per comparison (one, or one per other choice)."""
    out: list[Content] = [
        Content.assemble(
            label("Legend: ", DIM),
            label("only left", LEFT),
            label("  ", ""),
            label("only right", RIGHT),
            label("  dim: the same", DIM),
        ),
        Content(),
    ]
    for cmp in comparisons:
        verdict = label("  no differences", "$text-success") if cmp.same else label("", "")
        out.append(
            Content.assemble(
                label("══ ", DIM),
                text(one_line(cmp.left, 60), "bold"),
                label("  ⟷  ", DIM),
                text(one_line(cmp.right, 60), "bold"),
                verdict,
            )
        )
        out.append(label("Model · parameters · usage", "bold $text-primary"))
        fields = _fields(cmp, only_different=choices, room=width)
        out.extend(fields or [label("  (the same)", SAME)])
        out.append(Content())
        if not choices:
            out.append(label("Input messages", "bold $text-primary"))
            out.extend(_messages(cmp.inputs, "message"))
            out.append(Content())
        out.append(label("Output", "bold $text-primary"))
        out.extend(_messages(cmp.outputs, "choice"))
        out.append(Content())
    return out


class CompareScreen(Screen[None]):
    """Two completions (or the choices of one) compared; `escape` goes back."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="compare.back")]
    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $boost; }
    CompareScreen DocView { height: 1fr; }
    """

    @dataclasses.dataclass
    class Compared(Message):
        lines: list[Content]

    def __init__(self, left: Side, right: Side | None = None) -> None:
        """`right` None: compare the choices of `left` (an `n > 1` completion)."""
        super().__init__()
        self.left, self.right = left, right

    def compose(self) -> ComposeResult:
        title = (
            f"Compare  {self.left.label}  ⟷  {self.right.label}"
            if self.right is not None
            else f"Compare the choices of {self.left.label}"
        )
        yield Static(Content.styled(one_line(title, 200), "bold"), id="compare-title")
        yield DocView(id="compare-doc")
        yield Footer()

    def on_mount(self) -> None:
        doc = self.query_one(DocView)
        doc.set_lines([label("Comparing…", "italic $text-muted")])
        self.screen.set_focus(doc)
        left, right = self.left, self.right
        width = doc.content_width() if doc.size.width else self.app.size.width - 4  # not laid out yet

        def work() -> None:
            if right is None:
                lines = comparison_lines(compare.compare_choices(left), choices=True, width=width)
            else:
                lines = comparison_lines([compare.compare(left, right)], width=width)
            self.post_message(self.Compared(lines))

        self.run_worker(work, thread=True, exit_on_error=False, group="compare")

    @on(Compared)
    def _on_compared(self, message: Compared) -> None:
        self.query_one(DocView).set_lines(message.lines)

    @property
    def plain(self) -> str:
        return self.query_one(DocView).plain
