"""`?`: every key in effect (after the user's `[keys]` remapping), grouped by where it works."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

from ccbrowser.tui.keymap import KEYS, SCOPES

QUERY_HELP = (
    ("word word", "all words, anywhere"),
    ('"exact phrase"  word*  -word  a OR b', "phrase, prefix, exclude, either"),
    ("model:gpt-4o  model:gpt-4*", "model equals / starts with"),
    ("meta:key=value  meta:key", "metadata"),
    ("tool:name  in:args  in:output", "tool calls; where words match"),
    ("finish:length  tier:flex  has:tools", "finish reason, tier, flags"),
    ("since:7d  after:2026-01-31  before:…", "time range"),
    ("tokens:>1000  id:chatcmpl-ab  is:removed", "tokens, id prefix, removed upstream"),
    ("cost:>0.05  cost:0.01..0.1  cost:unknown", "estimated cost in USD"),
    ("thread:chatcmpl-ab  is:root  turns:>5", "a conversation, its first turns, long ones"),
    ("is:starred  tag:good  -tag:bad  has:note", "your local labels"),
)


def _keys(keys: str) -> str:
    return ", ".join(format_key(k.strip()) for k in keys.split(",") if k.strip())


def help_content(effective: dict[str, str], width: int | None = None) -> Content:
    """Three columns (keys, what they do, the id to remap), each as wide as its longest entry;
    narrower than `width` needs, the id goes on a line of its own under the description."""
    keys_of = {spec.id: _keys(effective.get(spec.id, spec.keys)) for spec in KEYS}
    key_w = max(len(k) for k in keys_of.values()) + 2
    desc_w = max(len(spec.description) for spec in KEYS) + 2
    id_w = max(len(spec.id) for spec in KEYS)
    stacked = width is not None and 2 + key_w + desc_w + id_w > width
    lines: list[Content] = []
    for scope, title in SCOPES.items():
        lines.append(Content.styled(title, "bold $text-primary"))
        for spec in KEYS:
            if spec.id.split(".", 1)[0] != scope:
                continue
            keys = Content.styled(f"  {keys_of[spec.id]:<{key_w}}", "bold $text-accent")
            bid = Content.styled(spec.id, "$text-muted")
            if stacked:
                lines += [Content.assemble(keys, spec.description), Content.assemble(" " * (2 + key_w), bid)]
            else:
                lines.append(Content.assemble(keys, f"{spec.description:<{desc_w}}", bid))
        lines.append(Content(""))
    lines.append(Content.styled("Search (the query language)", "bold $text-primary"))
    for syntax, meaning in QUERY_HELP:
        lines.append(Content.assemble(Content.styled(f"  {syntax:<42}", "$text-accent"), meaning))
    lines.append(Content(""))
    lines.append(
        Content.styled(
            'Remap keys in the config file: [keys] "list.down" = "j,down,ctrl+n"', "$text-muted italic"
        )
    )
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("j,down", "scroll('scroll_down')", "Down", show=False, id="help.down"),
        Binding("k,up", "scroll('scroll_up')", "Up", show=False, id="help.up"),
        Binding(
            "pagedown,space,ctrl+d", "scroll('scroll_page_down')", "Page down", show=False, id="help.pgdn"
        ),
        Binding("pageup,ctrl+u", "scroll('scroll_page_up')", "Page up", show=False, id="help.pgup"),
        Binding("end,G", "scroll('scroll_end')", "End", show=False, id="help.end"),
        Binding("home,g", "scroll('scroll_home')", "Top", show=False, id="help.home"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 96; max-width: 100%; height: 90%; border: round $accent; background: $surface;
        border-title-color: $text-accent;
    }
    HelpScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(self, effective: dict[str, str]) -> None:
        super().__init__()
        self._effective = effective

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = "Keys  (esc close · j/k PgDn/PgUp Home/End scroll)"
        with box:
            with VerticalScroll(id="help-scroll"):
                yield Static(help_content(self._effective), id="help-text")

    def on_resize(self) -> None:
        width = self.query_one("#help-scroll", VerticalScroll).scrollable_content_region.width
        self.query_one("#help-text", Static).update(help_content(self._effective, width or None))

    def action_scroll(self, how: str) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        getattr(scroll, how)(animate=False)
