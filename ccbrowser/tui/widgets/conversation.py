"""The Thread tab: the conversation of the completion under the cursor, read once, turn by turn.

Each completion shows only what it added (its new input messages and the output the chat went
on from), so a ten-turn chat reads as ten turns, not as ten copies of a growing history. The
path shown runs from the root through the selected completion and on along first branches;
branch points say which branch this is (`b` / `B` switch), tool loops fold into one line (`z`
unfolds), and the selected completion's turn is marked: the tab opens scrolled to it
(`Lines.anchor`). The header gives the whole thread's tokens and cost (unknown costs are
counted as such, never as $0).
"""

from __future__ import annotations

from textual.content import Content

from ccbrowser.render import local_time, usd_total
from ccbrowser.safe import one_line
from ccbrowser.store.conversation import Summary, Turn
from ccbrowser.store.reader import Detail
from ccbrowser.tui.document import CAP, DIM, Doc, Matcher, add_message, label, text
from ccbrowser.tui.thread_reads import ThreadView

SELECTED = "bold reverse $text-accent"


def _heading(view: ThreadView, turn: Turn, selected: bool) -> Content:
    n = turn.node
    parts: list[Content] = [
        label(
            f"{'▶' if selected else '━'} turn {n.turn + 1} ", SELECTED if selected else "bold $text-primary"
        ),
        text(f" {one_line(str(n.model), 30)} · {local_time(n.created)}", DIM),
    ]
    if n.total_tokens is not None:
        parts.append(text(f" · {n.total_tokens:,} tokens", DIM))
    sibs = view.siblings(turn)
    if len(sibs) > 1:
        parts.append(label(f"  ⑂ branch {sibs.index(turn) + 1} of {len(sibs)} (b/B) ", "bold $text-warning"))
    if len(turn.outputs) > 1:
        parts.append(text(f"  choice {turn.shown} of {len(turn.outputs)}", DIM))
    return Content.assemble(*parts)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _tool_names(turn: Turn) -> list[str]:
    out = turn.outputs[turn.shown] if turn.shown < len(turn.outputs) else None
    calls = out.get("tool_calls") if isinstance(out, dict) else None
    names = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(one_line(fn["name"], 40))
    return names


def _output(doc: Doc, turn: Turn) -> None:
    if turn.shown < len(turn.outputs):
        add_message(doc, turn.outputs[turn.shown], None)


def _totals(info: Summary) -> str:
    t = info.totals
    if t is None:
        return f" · {info.total_tokens or 0:,} tokens"
    tokens = f"{t.total_tokens:,} tokens" if t.total_tokens is not None else "tokens unknown"
    if t.total_tokens is not None and t.tokens_unknown:
        tokens += f" ({t.tokens_unknown:,} unknown)"
    return f" · {tokens} · {usd_total(t.cost_usd, t.cost_unknown)}"


def _thread_labels(info: Summary) -> Content | None:
    """The labels on every completion of the thread (`s` / `t` on a conversation list row
    write them so), as the Completion tab shows one completion's."""
    lab = info.label
    if lab is None or (not lab.starred and not lab.tags):
        return None
    parts: list[Content] = []
    if lab.starred:
        parts.append(label("★ starred", "bold $text-warning"))
    if lab.tags:
        parts.append(Content.assemble(label("tags ", DIM), text(", ".join(lab.tags), "bold $text-accent")))
    return Content.assemble(label("  "), Content("  ").join(parts))


def thread(d: Detail, matcher: Matcher | None = None, cap: int | None = CAP) -> list[Content]:
    """The Thread tab's lines (a `document.TABS` builder)."""
    doc = Doc(matcher, cap)
    view = d.thread
    if not isinstance(view, ThreadView) or not view.turns:
        doc.add(
            label(
                " not part of a conversation yet (its input messages are not fetched) ", "italic $text-muted"
            )
        )
        return doc.lines
    info = view.summary
    if info is not None:
        models = one_line((info.models or "?").replace(",", ", "), 60)
        doc.add(
            Content.assemble(
                label(" Conversation ", "bold reverse $text-primary"),
                text(f"  {_n(info.turns, 'turn')} · {_n(info.completions, 'completion')} · {models}", DIM),
                text(_totals(info), DIM),
            )
        )
        marks = _thread_labels(info)
        if marks is not None:
            doc.add(marks)
    path = view.path()
    root = path[0].node if path else None
    if root is not None and root.continues:
        doc.add(
            label(
                f"  ↳ continues {one_line(root.continues, 60)} (its history was cut)", "italic $text-warning"
            )
        )
    doc.add()
    i = 0
    while i < len(path):
        turn = path[i]
        loop = [turn]
        while i + len(loop) < len(path) and path[i + len(loop)].node.tool_step:
            loop.append(path[i + len(loop)])
        folded = not view.unfolded and len(loop) > 1
        selected = any(t.node.id == view.selected for t in loop) if folded else turn.node.id == view.selected
        if selected and i > 0:  # the tab opens here; at the root, from the top (the header)
            doc.lines.anchor = len(doc.lines)
        if not folded:
            doc.add(_heading(view, turn, turn.node.id == view.selected))
            for n, m in enumerate(turn.new, 1):
                add_message(doc, m, n if turn.node.parent is None else None)
            _output(doc, turn)
            i += 1
            continue
        # a tool loop, folded: the question, one line for the steps, the final answer
        doc.add(_heading(view, turn, selected))
        for m in turn.new:
            add_message(doc, m, None)
        names = [name for t in loop[:-1] for name in _tool_names(t)]
        steps = len(loop) - 1
        doc.add(
            label(
                f"  ▸ tool loop: {steps} step{'s' if steps > 1 else ''}, "
                f"{' → '.join(names) or 'tools'} (z unfolds)",
                "bold $text-secondary",
            )
        )
        doc.add()
        _output(doc, loop[-1])
        i += len(loop)
    return doc.lines
