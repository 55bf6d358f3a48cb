"""`P`: what a push of the tags will change on the server, asked before anything is sent.

One line per completion: the metadata keys added (`+`), changed (`~`, old -> new) and removed
(`-`), and the completions the server would refuse (16 keys, 512 characters a value), which are
not sent. Every value comes from the data: `Content`, controls made visible, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ccbrowser.safe import one_line
from ccbrowser.tui.keymap import bindings
from ccbrowser.words import plural

SHOWN = 200  # completions listed; the rest is counted


def _value(v: str) -> str:
    return repr(one_line(v, 60))


def plan_lines(plan: object) -> list[Content]:
    """The lines of the confirmation for a `sync.push.PushPlan`."""
    changes = list(getattr(plan, "changes", []))
    lines: list[Content] = []
    for change in changes[:SHOWN]:
        cid = Content.styled(one_line(change.id, 40), "bold")
        if change.refused is not None:
            lines.append(
                Content.assemble(
                    Content.styled("✗ ", "bold $text-error"),
                    cid,
                    Content.styled(f"  refused: {one_line(change.refused, 100)}", "$text-error"),
                )
            )
            continue
        parts = [Content.styled("✓ ", "bold $text-success"), cid]
        for key, value in change.added.items():
            parts.append(Content(f"  + {one_line(key, 40)} = {_value(value)}"))
        for key, (old, new) in change.changed.items():
            parts.append(Content(f"  ~ {one_line(key, 40)}: {_value(old)} -> {_value(new)}"))
        for key in change.removed:
            parts.append(Content(f"  - {one_line(key, 40)}"))
        lines.append(Content.assemble(*parts))
    if len(changes) > SHOWN:
        lines.append(Content.styled(f"… and {len(changes) - SHOWN:,} more", "$text-muted"))
    return lines


def summary(plan: object) -> str:
    sendable = len(getattr(plan, "sendable", []))
    refused = len(getattr(plan, "refused", []))
    unchanged = int(getattr(plan, "unchanged", 0))
    parts = [f"{plural(sendable, 'completion')} to update"]
    if refused:
        parts.append(f"{refused:,} refused (not sent)")
    if unchanged:
        parts.append(f"{unchanged:,} already match")
    return " · ".join(parts)


class ConfirmPush(ModalScreen[bool]):
    """Dismisses with True (push what is shown) or False (nothing is sent)."""

    BINDINGS = bindings("push")
    DEFAULT_CSS = """
    ConfirmPush { align: center middle; }
    ConfirmPush > Vertical {
        width: 110; max-width: 100%; height: auto; max-height: 90%;
        border: round $warning; background: $surface; border-title-color: $text-warning;
    }
    ConfirmPush VerticalScroll { height: auto; max-height: 100%; padding: 0 1; }
    ConfirmPush #push-summary { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, plan: object, base_url: str) -> None:
        super().__init__()
        self.plan = plan
        self.base_url = base_url

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = Content(f"Push tags to {one_line(self.base_url, 60)}? (metadata key `tags`)")
        with box:
            with VerticalScroll():
                yield Static(Content("\n").join(plan_lines(self.plan)), id="push-lines")
            yield Static(Content(summary(self.plan)), id="push-summary")
        yield Footer()

    def action_confirm(self) -> None:
        self.dismiss(bool(getattr(self.plan, "sendable", [])))

    def action_cancel(self) -> None:
        self.dismiss(False)
