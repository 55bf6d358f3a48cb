"""Every key of the TUI in one table, each with a stable id that the config file can remap.

A `[keys]` table in the config TOML maps binding ids to comma-separated keys:

    [keys]
    "list.down" = "j,down,ctrl+n"
    "app.quit" = "ctrl+q"

Widgets take their `BINDINGS` from here (`bindings("list")`), and the help screen lists the same
table with the keys in effect, so the two can never disagree.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    keys: str
    action: str
    description: str
    show: bool = False  # in the footer
    priority: bool = False
    short: str = ""  # the footer's label (the help screen shows `description`)


KEYS: tuple[KeySpec, ...] = (
    # the whole app
    KeySpec("app.quit", "q", "quit", "Quit", show=True, short="Quit"),
    KeySpec("app.help", "question_mark", "help", "Help: all keys", show=True, short="Help"),
    # priority: the app handles it the moment it reads the key, so the keys behind it in the same
    # burst (fast typing, a paste) already go to the search box, never to the list.
    KeySpec("app.search", "slash", "focus_search", "Search", show=True, short="Search", priority=True),
    KeySpec("app.back", "escape", "back_out", "Back (leave search / detail, clear query)"),
    KeySpec("app.switch_pane", "tab", "switch_pane", "Switch pane (list / detail)", priority=True),
    KeySpec("app.prev_tab", "left_square_bracket", "tab_step(-1)", "Previous detail tab"),
    KeySpec("app.next_tab", "right_square_bracket", "tab_step(1)", "Next detail tab"),
    KeySpec("app.copy_args", "y", "copy_args", "Copy tool-call arguments", show=True, short="Copy args"),
    KeySpec(
        "app.copy_menu", "Y", "copy_menu", "Copy menu (id, content, JSON, inputs)", show=True, short="Copy…"
    ),
    KeySpec("app.next_match", "n", "jump(1)", "Next match in detail"),
    KeySpec("app.prev_match", "N", "jump(-1)", "Previous match in detail"),
    KeySpec("app.expand", "e", "expand", "Show long content in full"),
    KeySpec("app.maximise", "plus", "maximise", "Maximise the pane in use (again: both panes)"),
    KeySpec("app.sort", "o", "sort", "Sort: relevance, newest, oldest, tokens", short="Sort"),
    KeySpec("app.sync", "R", "sync_now", "Sync now", show=True, short="Sync"),
    KeySpec("app.markdown", "m", "toggle_markdown", "Markdown view of user / assistant content (toggle)"),
    KeySpec("app.system", "S", "toggle_system", "Show / fold long system prompts"),
    KeySpec("app.fold_json", "f", "fold_json", "JSON tab: fold nested objects one level deeper"),
    KeySpec("app.mark", "equals_sign", "mark_compare", "Mark this completion for compare"),
    KeySpec(
        "app.compare", "d", "compare", "Compare the marked completion with this one (n > 1: its choices)"
    ),
    KeySpec(
        "app.pager",
        "p",
        "open_pager",
        "Open the reply (scrolled: the message on top), arguments, JSON in $PAGER",
    ),
    KeySpec("app.editor", "E", "open_editor", "The same in $EDITOR (a read-only copy)"),
    KeySpec("app.palette", "ctrl+p", "command_palette", "Command palette", priority=True),
    KeySpec("app.usage", "u", "usage", "Usage and costs of the current query (charts)", short="Usage"),
    # conversations (`tui/conversations.py`)
    KeySpec(
        "app.conversations",
        "c",
        "toggle_conversations",
        "List conversations / completions",
        show=True,
        short="Chats",
    ),
    KeySpec("app.prev_turn", "left_curly_bracket", "thread_turn(-1)", "Previous turn of the conversation"),
    KeySpec("app.next_turn", "right_curly_bracket", "thread_turn(1)", "Next turn of the conversation"),
    KeySpec("app.next_branch", "b", "thread_branch(1)", "Next branch at the nearest branch point"),
    KeySpec("app.prev_branch", "B", "thread_branch(-1)", "Previous branch at the nearest branch point"),
    KeySpec("app.fold", "z", "thread_fold", "Fold / unfold tool loops in the Thread tab"),
    # curation: labels of the marked completions (or the one under the cursor), facets, views
    KeySpec("app.star", "s", "star", "Star / unstar the marked completions (or this one)"),
    KeySpec("app.tag", "t", "tag", "Tag the marked completions (or this one); -tag removes"),
    KeySpec("app.note", "a", "note", "Note on the marked completions (or this one); empty removes"),
    KeySpec("app.push", "P", "push_labels", "Push their tags to the server's metadata (asks first)"),
    KeySpec("app.facets", "F", "toggle_facets", "Facets panel: counts for the query, choose to narrow"),
    KeySpec("app.save_view", "ctrl+s", "save_view", "Save the query as a view (@NAME)"),
    # the completion list
    KeySpec("list.down", "j,down", "cursor_down", "Next completion"),
    KeySpec("list.up", "k,up", "cursor_up", "Previous completion"),
    KeySpec("list.top", "g,home", "cursor_top", "First completion"),
    KeySpec("list.bottom", "G,end", "cursor_bottom", "Last completion"),
    KeySpec("list.page_down", "ctrl+d,pagedown", "page_down", "Page down"),
    KeySpec("list.page_up", "ctrl+u,pageup", "page_up", "Page up"),
    KeySpec("list.open", "enter", "open", "Open in the detail pane", show=True, short="Open"),
    KeySpec("list.mark", "space", "toggle_mark", "Mark / unmark (then star, tag, export the marks)"),
    KeySpec("list.mark_range", "v", "mark_range", "Mark every row from the last mark to here"),
    # the search box
    KeySpec("search.back", "up", "history_back", "Previous query (history)"),
    KeySpec("search.forward", "down", "history_forward", "Next query; past the newest: into the list"),
    # the detail pane
    KeySpec("detail.down", "j,down", "scroll_down", "Scroll down"),
    KeySpec("detail.up", "k,up", "scroll_up", "Scroll up"),
    KeySpec("detail.top", "g,home", "scroll_home", "Top"),
    KeySpec("detail.bottom", "G,end", "scroll_end", "Bottom"),
    KeySpec("detail.page_down", "ctrl+d,pagedown,space", "page_down", "Page down"),
    KeySpec("detail.page_up", "ctrl+u,pageup", "page_up", "Page up"),
    # the note editor (`a`) and the push confirmation (`P`)
    KeySpec("note.save", "ctrl+s", "save", "Save the note (empty: remove it)", show=True, short="Save"),
    KeySpec("note.cancel", "escape", "cancel", "Close without saving", show=True, short="Cancel"),
    KeySpec("push.confirm", "enter,y", "confirm", "Push the changes shown", show=True, short="Push"),
    KeySpec("push.cancel", "escape,n", "cancel", "Do not push (nothing changes)", show=True, short="Cancel"),
    # the usage screen (enter on a row of the most expensive opens it)
    KeySpec("usage.close", "escape,q,u", "close", "Close the usage screen", show=True, short="Close"),
    KeySpec("usage.next_tab", "right_square_bracket,l", "tab_step(1)", "Next chart", show=True, short="Next"),
    KeySpec("usage.prev_tab", "left_square_bracket,h", "tab_step(-1)", "Previous chart"),
)

SCOPES = {
    "app": "Main screen; quit, help, palette, sync everywhere",
    "list": "Completion list",
    "search": "Search box",
    "detail": "Detail pane",
    "note": "Note editor",
    "push": "Push confirmation",
    "usage": "Usage screen",
}


# The app's keys that work over any screen; the rest act on the main screen's list and detail
# and would act unseen under the usage, compare or help screen.
EVERY_SCREEN = frozenset({"quit", "help", "command_palette", "sync_now"})


def main_screen_actions() -> frozenset[str]:
    """The action names of the `app` scope that only make sense on the main screen."""
    names = {s.action.split("(", 1)[0] for s in KEYS if s.id.startswith("app.")}
    return frozenset(names - EVERY_SCREEN)


def bindings(scope: str) -> list[BindingType]:
    """The `BINDINGS` of one scope (`app`, `list`, `search`, `detail`)."""
    return [
        Binding(
            s.keys,
            s.action,
            s.short or s.description,
            show=s.show,
            id=s.id,
            priority=s.priority,
            tooltip=s.description,
        )
        for s in KEYS
        if s.id.split(".", 1)[0] == scope
    ]


class KeymapError(ValueError):
    pass


def load_keymap(path: Path) -> dict[str, str]:
    """The `[keys]` table of the config file ({} when there is no file or no table).

    Unknown ids are reported rather than ignored: a typo should not silently do nothing.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"cannot read {path.name}: {exc}") from None
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise KeymapError('[keys] must be a table of binding id = "key,key"')
    known = {s.id for s in KEYS}
    out: dict[str, str] = {}
    for key, value in table.items():
        if key not in known:
            raise KeymapError(f"unknown binding id {key!r} in [keys] (see ? for the ids)")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if not isinstance(value, str) or not value.strip():
            raise KeymapError(f'[keys] {key} must be a string such as "j,down"')
        out[key] = value
    return out


def effective_keys(keymap: dict[str, str]) -> dict[str, str]:
    """Binding id -> keys in effect after the user's remapping."""
    return {s.id: keymap.get(s.id, s.keys) for s in KEYS}


def _split(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


def _clash(a: str, b: str) -> bool:
    """Two scopes share keys when they are the same, or one is the app's (it works everywhere).
    The list, the search box and the detail never have focus at once: `j` may mean both."""
    sa, sb = a.split(".", 1)[0], b.split(".", 1)[0]
    return sa == sb or "app" in (sa, sb)


def conflicts(keymap: dict[str, str]) -> list[str]:
    """One warning per remapped key that another action (in a scope that shares keys) also has:
    the other action would be shadowed, or this one never fire."""
    effective = effective_keys(keymap)
    described = {s.id: s.description for s in KEYS}
    out: list[str] = []
    for bid, keys in keymap.items():
        for key in _split(keys):
            for other, other_keys in effective.items():
                if other != bid and _clash(bid, other) and key in _split(other_keys):
                    out.append(
                        f'[keys] "{bid}" = "{keys}": {key} is also {other} ({described[other]}); '
                        "remap one of them"
                    )
    return out
