"""What the detail tabs show, built as lists of `Content` lines (never markup).

Every string from the data passes through `safe.visible` before it becomes `Content`, so neither
Rich markup nor escape sequences in a message can do anything but appear as text. Long texts are
capped (`CAP` characters per block) unless the user asks for everything: wrapping megabytes on a
cursor move would make the list feel stuck.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from textual.content import Content, Span
from textual.highlight import highlight
from textual.style import Style

from ccbrowser.render import content_text, local_time
from ccbrowser.safe import one_line, visible
from ccbrowser.store.reader import Detail, ToolCallInfo
from ccbrowser.tui import markdown

CAP = 20_000
"""Characters shown per message / JSON block before "press e to show all"."""
RAW_CAP = 100_000

Matcher = Callable[[str], Iterable[tuple[int, int]]]
"""Plain text -> (start, end) spans of search matches."""

SYSTEM_FOLD = 400
"""A system / developer prompt longer than this (characters) is folded to its first lines."""
SYSTEM_LINES = 2


@dataclass(frozen=True, slots=True)
class View:
    """How the user asked to see the detail; it stays as the cursor moves (`m`, `S`, `f`)."""

    markdown: bool = False  # user and assistant content rendered as Markdown
    system_open: bool = False  # long system prompts in full
    json_depth: int | None = None  # JSON tab: fold objects and arrays nested this deep
    json_toggled: frozenset[str] = frozenset()  # JSON nodes clicked open / shut (JSON pointers)


@dataclass(frozen=True, slots=True)
class Source:
    """A part of a tab that `p` / `E` can open: it starts at `line`."""

    line: int
    title: str
    text: str
    suffix: str = ".txt"
    primary: bool = False  # what opens while the view is not scrolled (the reply)


class Lines(list[Content]):
    """A tab's lines, and what the keys act on: the openable parts (`p` / `E`) and the lines
    that open a foldable JSON node (a click folds it)."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[Source] = []
        self.folds: dict[int, str] = {}
        self.anchor: int | None = None  # the line a new completion's view opens at (else the top)


MATCH = Style.parse("bold #000000 on #ffd75f")
"""The style of a search match; DocView finds match lines by this very object."""

ROLE_STYLES = {
    "system": "bold $text-warning",
    "developer": "bold $text-warning",
    "user": "bold $text-success",
    "assistant": "bold $text-primary",
    "tool": "bold $text-secondary",
    "function": "bold $text-secondary",
}
DIM = "$text-muted"
BADGE_BAD = "bold $text-error"
LABEL = "bold"

_SAFE_URL = re.compile(r"https?://[\x21-\x7e]{1,2000}")


def text(s: str, style: str | Style = "") -> Content:
    """Data text as Content: controls made visible, no markup parsed."""
    c = Content(visible(s), strip_control_codes=False)
    return c.stylize(style) if style else c


def label(s: str, style: str = LABEL) -> Content:
    """Our own fixed text (still never parsed as markup)."""
    return Content.styled(s, style)


def join(*parts: Content | str) -> Content:
    return Content.assemble(*parts)


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def highlight_json(code: str) -> list[Content]:
    """Pygments JSON highlighting (no tree-sitter), split into lines."""
    safe = visible(code.replace("\r\n", "\n"))
    return list(highlight(safe, language="json").split("\n", allow_blank=True))


def pretty_args(arguments: str | None) -> tuple[str, bool]:
    """(display text, valid JSON?). Invalid JSON is shown verbatim."""
    if arguments is None or arguments == "":
        return "", True
    try:
        return json_text(json.loads(arguments)), True
    except ValueError:
        return arguments, False


class Doc:
    """Accumulates lines; applies the match highlighter to data text as it goes."""

    def __init__(
        self, matcher: Matcher | None = None, cap: int | None = CAP, view: View | None = None
    ) -> None:
        self.lines = Lines()
        self.matcher = matcher
        self.cap = cap
        self.view = view or View()

    def source(self, title: str, body: str, suffix: str = ".txt", *, primary: bool = False) -> None:
        """What `p` / `E` open when the view's top is at or below the next line."""
        if body:
            self.lines.sources.append(Source(len(self.lines), title, body, suffix, primary))

    def add(self, line: Content | str = "") -> None:
        self.lines.append(line if isinstance(line, Content) else Content(line))

    def mark(self, line: Content) -> Content:
        if self.matcher is None:
            return line
        spans = [Span(a, b, MATCH) for a, b in self.matcher(line.plain) if b > a]
        return line.add_spans(spans) if spans else line

    def body(self, s: str, style: str = "", indent: str = "") -> None:
        """Data text, one Content per line, capped."""
        shown, rest = (s, 0) if self.cap is None or len(s) <= self.cap else (s[: self.cap], len(s) - self.cap)
        for raw_line in shown.replace("\r\n", "\n").split("\n"):
            self.lines.append(self.mark(Content(indent) + text(raw_line.expandtabs(4), style)))
        if rest:
            self.lines.append(
                label(f"{indent}… {rest:,} more characters: press e to show all", "italic $text-warning")
            )

    def prose(self, s: str) -> None:
        """User and assistant content: plain text, or Markdown when the view asks for it."""
        if not self.view.markdown:
            return self.body(s)
        shown, rest = (s, 0) if self.cap is None or len(s) <= self.cap else (s[: self.cap], len(s) - self.cap)
        self.lines.extend(self.mark(line) for line in markdown.render(shown))
        if rest:
            self.lines.append(
                label(f"… {rest:,} more characters: press e to show all", "italic $text-warning")
            )

    def folded_system(self, s: str) -> None:
        """A long system prompt, folded to its first lines (it is the same on most completions)."""
        head = s.replace("\r\n", "\n").split("\n")[:SYSTEM_LINES]
        for line in head:
            self.lines.append(self.mark(text(one_line(line, 200), DIM)))
        hidden = len(s) - sum(len(line) for line in head)
        found = sum(1 for _ in self.matcher(s)) if self.matcher is not None else 0
        note = f", {found} match{'es' if found != 1 else ''} inside" if found else ""
        self.lines.append(
            label(
                f"… system prompt folded ({hidden:,} more characters{note}): press S to show it",
                "italic $text-warning",
            )
        )

    def json_block(self, code: str, indent: str = "  ") -> None:
        shown, rest = (
            (code, 0)
            if self.cap is None or len(code) <= self.cap
            else (code[: self.cap], len(code) - self.cap)
        )
        for line in highlight_json(shown):
            self.lines.append(self.mark(Content(indent) + line))
        if rest:
            self.lines.append(
                label(f"{indent}… {rest:,} more characters: press e to show all", "italic $text-warning")
            )

    def rule(self, title: Content) -> None:
        self.lines.append(Content.assemble(label("── ", DIM), title, " "))


def _role_badge(role: str) -> Content:
    style = ROLE_STYLES.get(role, "bold")
    return Content.styled(f" {one_line(role, 20).upper() or '?'} ", style + " reverse")


def _tool_call_lines(doc: Doc, calls: Sequence[Any], indent: str = "  ") -> None:
    for call in calls:
        if not isinstance(call, dict):
            doc.body(repr(call), indent=indent)
            continue
        fn = call.get("function") if isinstance(call.get("function"), dict) else None
        custom = call.get("custom") if isinstance(call.get("custom"), dict) else None
        name = (fn or custom or {}).get("name") or "?"
        args = (fn or {}).get("arguments") if fn else (custom or {}).get("input")
        if args is not None and not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False)
        head = [label(f"{indent}▸ tool call ", "bold $text-accent"), doc.mark(text(str(name), "bold"))]
        if call.get("id"):
            head.append(text(f"  {call['id']}", DIM))
        pretty, valid = pretty_args(args) if fn else (args or "", True)
        if not valid:
            head.append(label("  invalid JSON, shown verbatim ", BADGE_BAD + " reverse"))
        doc.add(Content.assemble(*head))
        if fn and valid and pretty:
            doc.json_block(pretty, indent + "  ")
        elif pretty:
            doc.body(pretty, indent=indent + "  ")


def _message(doc: Doc, msg: Any, number: int | None) -> None:
    if not isinstance(msg, dict):
        doc.rule(label("?"))
        doc.body(repr(msg))
        doc.add()
        return
    role = str(msg.get("role") or "?")
    title = [_role_badge(role)]
    if number is not None:
        title.insert(0, label(f"#{number} ", DIM))
    if msg.get("name"):
        title.append(text(f" {msg['name']}", "bold"))
    if msg.get("tool_call_id"):
        title.append(text(f"  ← {msg['tool_call_id']}", DIM))
    body = content_text(msg.get("content"))
    if not body and msg.get("content_parts"):
        body = content_text(msg.get("content_parts"))
    name = f"{'#' + str(number) if number else 'output'} {role}"
    doc.source(name, _source_text(body, msg), ".md", primary=number is None)
    doc.rule(Content.assemble(*title))
    if body and role in ("system", "developer") and len(body) > SYSTEM_FOLD and not doc.view.system_open:
        doc.folded_system(body)
    elif body and role in ("user", "assistant"):
        doc.prose(body)
    elif body:
        doc.body(body)
    if msg.get("refusal"):
        doc.add(label("  ⚠ REFUSAL ", BADGE_BAD + " reverse"))
        doc.body(str(msg["refusal"]), "$text-error", indent="  ")
    if isinstance(msg.get("tool_calls"), list):
        _tool_call_lines(doc, msg["tool_calls"])
    if isinstance(msg.get("function_call"), dict):
        _tool_call_lines(doc, [{"type": "function", "function": msg["function_call"]}])
    audio = msg.get("audio")
    if isinstance(audio, dict) and audio.get("transcript"):
        doc.add(label("  🔊 audio transcript", "bold $text-accent"))
        doc.body(str(audio["transcript"]), "italic", indent="  ")
    annotations = msg.get("annotations")
    if isinstance(annotations, list) and annotations:
        doc.add(label("  Sources", "bold"))
        for i, ann in enumerate(annotations, 1):
            cite = ann.get("url_citation") if isinstance(ann, dict) else None
            if not isinstance(cite, dict):
                doc.body(f"[{i}] {json.dumps(ann, ensure_ascii=False)}", indent="    ")
                continue
            url = str(cite.get("url") or "")
            cite_title = str(cite.get("title") or url)
            link = Style(link=url, underline=True) if _SAFE_URL.fullmatch(url) else Style()
            doc.add(
                Content.assemble(
                    f"    [{i}] ",
                    doc.mark(text(one_line(cite_title, 120))),
                    "  ",
                    text(one_line(url, 200)).stylize(link),
                )
            )
    doc.add()


def _source_text(body: str, msg: dict[str, Any]) -> str:
    """What `p` opens for one message: its text, else its tool calls' arguments, else its JSON."""
    if body:
        return body
    calls_raw = msg.get("tool_calls")
    calls: list[Any] = calls_raw if isinstance(calls_raw, list) else []
    args = [
        pretty_args(str(call["function"].get("arguments") or ""))[0]
        for call in calls
        if isinstance(call, dict) and isinstance(call.get("function"), dict)
    ]
    return "\n\n".join(a for a in args if a) or json_text(msg)


def conversation(
    d: Detail, matcher: Matcher | None = None, cap: int | None = CAP, view: View | None = None
) -> list[Content]:
    doc = Doc(matcher, cap, view)
    row = d.row
    _labels(doc, d.label)
    if row.messages_state is None:
        doc.add(label(" input messages not fetched yet (the next sync gets them) ", "italic $text-warning"))
        doc.add()
    elif row.messages_state == "missing":
        doc.add(
            label(" input messages missing upstream (404): only the output is known ", "italic $text-warning")
        )
        doc.add()
    elif not d.input_messages:
        doc.add(label(" no input messages ", "italic $text-muted"))
        doc.add()
    for n, msg in enumerate(d.input_messages, 1):
        _message(doc, msg, n)
    choices = d.raw.get("choices")
    choices = choices if isinstance(choices, list) else []
    many = len(choices) > 1
    doc.add(
        Content.assemble(
            label("══ OUTPUT ", "bold $text-primary"), label(f"({len(choices)} choices)" if many else "", DIM)
        )
    )
    if not choices:
        doc.add(label("  (no choices)", DIM))
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            doc.body(repr(choice))
            continue
        finish = choice.get("finish_reason")
        head = [label(f"choice {choice.get('index', i)}", "bold")] if many else []
        head.append(label(f"  finish: {one_line(str(finish), 30)}" if finish else "  finish: ?", DIM))
        doc.add(Content.assemble(*head))
        _message(doc, choice.get("message"), None)
    if row.removed_at:
        doc.add(
            label(
                f" removed upstream {local_time(row.removed_at)}: this local copy is the only one ",
                "bold $text-warning reverse",
            )
        )
    return doc.lines


def _labels(doc: Doc, lab: Any) -> None:
    """The user's labels on top (`s`, `t`, `a`); the note is data text (controls made visible)."""
    if lab is None or lab.empty:
        return
    parts: list[Content] = []
    if lab.starred:
        parts.append(label("★ starred", "bold $text-warning"))
    if lab.tags:
        parts.append(Content.assemble(label("tags ", DIM), text(", ".join(lab.tags), "bold $text-accent")))
    if parts:
        doc.add(Content("  ").join(parts))
    if lab.note is not None:
        doc.add(label("✎ note", "bold $text-accent"))
        doc.body(lab.note, indent="  ")
    doc.add()


def _fmt_tool(doc: Doc, call: ToolCallInfo, index: int, total: int) -> None:
    pretty, valid = pretty_args(call.arguments) if call.type != "custom" else (call.arguments or "", True)
    size = len((call.arguments or "").encode("utf-8", "replace"))
    head = [
        label(f"{index}/{total} ", DIM),
        doc.mark(text(call.name or "?", "bold $text-accent")),
        text(f"  {call.call_id or ''}", DIM),
        label(f"  choice {call.choice} · {call.type or 'function'} · {size:,} bytes", DIM),
    ]
    if not (call.valid_json or call.type == "custom") or not valid:
        head.append(label("  invalid JSON, shown verbatim ", BADGE_BAD + " reverse"))
    doc.source(
        f"{call.name or '?'} arguments", pretty, ".json" if valid and call.type != "custom" else ".txt"
    )
    doc.add(Content.assemble(*head))
    if valid and pretty and call.type != "custom":
        doc.json_block(pretty)
    elif pretty:
        doc.body(pretty, indent="  ")
    doc.add()


def tool_calls(d: Detail, matcher: Matcher | None = None, cap: int | None = CAP) -> list[Content]:
    doc = Doc(matcher, cap)
    if not d.tool_calls:
        doc.add(label("No tool calls in this completion.", DIM))
        return doc.lines
    doc.add(label("y copies the arguments (several calls: a chooser)", DIM))
    doc.add()
    for i, call in enumerate(d.tool_calls, 1):
        _fmt_tool(doc, call, i, len(d.tool_calls))
    return doc.lines


def _kv(doc: Doc, key: str, value: Any, width: int = 28) -> None:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    doc.add(Content.assemble(label(f"  {key:<{width}}", DIM), doc.mark(text(one_line(shown, 400)))))


def _fmt_int(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else ("—" if v is None else str(v))


_PARAM_SKIP = {"id", "object", "created", "model", "choices", "usage", "metadata", "input_messages"}


_UNIT_NAMES = {
    "input_tokens": "input tokens",
    "cache_read_tokens": "cached input (cache read)",
    "cache_write_tokens": "cache writes",
    "output_tokens": "output tokens",
    "input_audio_tokens": "input audio",
    "cache_audio_read_tokens": "cached input audio",
    "output_audio_tokens": "output audio",
    "requests": "requests",
}


def _cost(doc: Doc, d: Detail) -> None:
    """The price breakdown: which rates applied to which tokens at which tier, labelled an estimate."""
    from ccbrowser.render import usd

    source = d.cost_source or "unknown"
    title = {"estimate": "Cost (estimate)", "reported": "Cost (reported by the server)"}.get(source, "Cost")
    doc.add(label(title, "bold $text-primary"))
    _kv(doc, "cost", usd(d.row.cost_usd, "unknown price"))
    if d.cost_note:
        _kv(doc, "note", d.cost_note)
    est = d.price
    if est is None:
        doc.add(label("  (the rate breakdown shows once the price data is loaded)", DIM))
        return
    if est.model_id:
        _kv(doc, "priced as", f"{est.provider_id} {est.model_id}")
    tier = est.tier if est.tier_source in ("standard", "package") else f"{est.tier} x{est.tier_factor:.4g}"
    _kv(doc, "tier (served)", f"{tier} ({est.tier_source})")
    for line in est.lines:
        name = _UNIT_NAMES.get(line.unit, line.unit.replace("_", " "))
        per = "1M" if line.per == 1_000_000 else f"{line.per:,}"
        qty = _fmt_int(line.quantity) if isinstance(line.quantity, int) else str(line.quantity)
        _kv(doc, name, f"{qty} x ${line.rate:.4g}/{per} = {usd(float(line.cost))}")
    if est.estimated is not None and est.subtotal is not None and est.tier_factor != 1:
        _kv(
            doc,
            "tier factor",
            f"{usd(float(est.subtotal))} x {est.tier_factor:.4g} = {usd(float(est.estimated))}",
        )
    if est.status == "reported" and est.estimated is not None:
        _kv(doc, "estimate", f"{usd(float(est.estimated))} (the server's figure is shown)")
    _kv(doc, "price data", est.price_data)


def usage(d: Detail, matcher: Matcher | None = None, cap: int | None = CAP) -> list[Content]:
    doc = Doc(matcher, cap)
    raw, row = d.raw, d.row
    doc.add(label("Completion", "bold $text-primary"))
    _kv(doc, "id", row.id)
    _kv(doc, "created", local_time(row.created))
    _kv(doc, "model", row.model or "—")
    _kv(doc, "finish reason", row.finish_reason or "—")
    _kv(doc, "choices", str(row.n_choices))
    if row.profile:
        _kv(doc, "profile", row.profile)
    _kv(
        doc,
        "input messages",
        {"ok": "fetched", "missing": "missing upstream (404)"}.get(
            row.messages_state or "", "not fetched yet"
        ),
    )
    if row.removed_at:
        _kv(doc, "removed upstream", local_time(row.removed_at))
    doc.add()
    doc.add(label("Usage", "bold $text-primary"))
    usage_raw = raw.get("usage")
    u: dict[str, Any] = usage_raw if isinstance(usage_raw, dict) else {}
    for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
        _kv(doc, k.replace("_", " "), _fmt_int(u.get(k)))
    for group in ("prompt_tokens_details", "completion_tokens_details"):
        details = u.get(group)
        if isinstance(details, dict):
            for k, v in details.items():
                if v:
                    _kv(doc, f"{group.split('_')[0]} {k.replace('_', ' ')}", _fmt_int(v))
    for k, v in u.items():
        if k not in {
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        }:
            _kv(doc, k, v)
    doc.add()
    _cost(doc, d)
    doc.add()
    doc.add(label("Parameters", "bold $text-primary"))
    params = {k: v for k, v in raw.items() if k not in _PARAM_SKIP}
    if not params:
        doc.add(label("  (none recorded)", DIM))
    for k, v in params.items():
        if isinstance(v, (dict, list)) and len(json.dumps(v, default=str)) > 80:
            doc.add(label(f"  {k}", DIM))
            doc.json_block(json_text(v), "    ")
        else:
            _kv(doc, k, v)
    doc.add()
    doc.add(label("Metadata", "bold $text-primary"))
    md = raw.get("metadata")
    if not isinstance(md, dict) or not md:
        doc.add(label("  (none)", DIM))
    else:
        for k, v in md.items():
            _kv(doc, str(k), v)
    return doc.lines


def _prob(lp: Any, digits: int = 2) -> str:
    if not isinstance(lp, (int, float)) or isinstance(lp, bool):
        return "?"
    try:
        return f"{math.exp(lp) * 100:.{digits}f}%"
    except OverflowError:
        return "?"


def _tok(t: Any) -> str:
    return repr(t)[1:-1] if isinstance(t, str) else "?"


def logprobs(d: Detail, matcher: Matcher | None = None, cap: int | None = CAP) -> list[Content]:
    doc = Doc(matcher, cap)
    choices = d.raw.get("choices")
    found = False
    limit = 2000 if cap is not None else None
    for i, choice in enumerate(choices if isinstance(choices, list) else []):
        lp = choice.get("logprobs") if isinstance(choice, dict) else None
        if not isinstance(lp, dict):
            continue
        for part in ("content", "refusal"):
            tokens = lp.get(part)
            if not isinstance(tokens, list) or not tokens:
                continue
            found = True
            doc.add(label(f"choice {i} · {part} · {len(tokens):,} tokens", "bold $text-primary"))
            doc.add(label(f"{'#':>4}  {'token':<16} {'logprob':>8} {'prob':>7}  top alternatives", "bold"))
            for n, t in enumerate(tokens[:limit]):
                if not isinstance(t, dict):
                    continue
                p = t.get("logprob")
                low = isinstance(p, (int, float)) and p < -1.0
                tops_raw = t.get("top_logprobs")
                tops: list[Any] = tops_raw if isinstance(tops_raw, list) else []
                alts = [
                    Content.assemble(
                        text(one_line(_tok(a.get("token")), 16), "$text-accent"),
                        label(f" {_prob(a.get('logprob'), 0).strip()}", DIM),
                    )
                    for a in tops
                    if isinstance(a, dict) and a.get("token") != t.get("token")
                ][:3]
                lp_s = f"{p:8.3f}" if isinstance(p, (int, float)) and not isinstance(p, bool) else f"{'?':>8}"
                doc.add(
                    Content.assemble(
                        label(f"{n:>4}  ", DIM),
                        doc.mark(
                            text(
                                one_line(_tok(t.get("token")), 16).ljust(16),
                                "bold $text-warning" if low else "",
                            )
                        ),
                        f" {lp_s} {_prob(p).strip():>7}  ",
                        Content("  ").join(alts),
                    )
                )
            if limit is not None and len(tokens) > limit:
                doc.add(
                    label(
                        f"  … {len(tokens) - limit:,} more tokens: press e to show all",
                        "italic $text-warning",
                    )
                )
            doc.add()
    if not found:
        doc.add(label("No logprobs: the request did not ask for them (logprobs: true).", DIM))
    return doc.lines


def raw_json(
    d: Detail, matcher: Matcher | None = None, cap: int | None = CAP, view: View | None = None
) -> list[Content]:
    view = view or View()
    doc = Doc(matcher, None if cap is None else RAW_CAP, view)
    hint = "f folds" if view.json_depth is None else f"folded from depth {view.json_depth}, f folds deeper"
    doc.add(label(f"As the API returned it (Y copies it verbatim); {hint}, a click on ▾ / ▸ one node.", DIM))
    doc.source("the JSON", json_text(d.raw), ".json")
    folds = JsonFolds(view.json_depth, view.json_toggled)
    code, paths = folds.dump(d.raw, doc.cap)
    start = len(doc.lines)
    doc.lines.extend(doc.mark(line) for line in highlight_json(code))
    doc.lines.folds = {start + i: path for i, path in enumerate(paths) if path is not None}
    if folds.full:
        doc.add(label("… more: press e to show all", "italic $text-warning"))
    return doc.lines


add_message = _message  # the Thread tab (`widgets/conversation.py`) draws messages the same way


def thread(d: Detail, matcher: Matcher | None = None, cap: int | None = CAP) -> list[Content]:
    from ccbrowser.tui.widgets.conversation import thread as build  # it draws with this module

    return build(d, matcher, cap)


class JsonFolds:
    """Pretty JSON (as `json.dumps(indent=2)` writes it) with nested objects and arrays folded:
    those at `depth` or deeper, except the `toggled` ones, and the `toggled` ones above it."""

    def __init__(self, depth: int | None, toggled: frozenset[str]) -> None:
        self.depth, self.toggled = depth, toggled
        self.lines: list[str] = []
        self.paths: list[str | None] = []
        self.size = 0
        self.cap: int | None = None
        self.full = False

    def folded(self, path: str, depth: int) -> bool:
        by_depth = self.depth is not None and depth >= self.depth
        return by_depth != (path in self.toggled)

    def dump(self, value: Any, cap: int | None) -> tuple[str, list[str | None]]:
        """(text, the JSON pointer of the node each line opens, or None); stops after `cap` characters."""
        self.cap = cap
        try:
            self._node(value, "", 0, "", "")
        except _Full:
            self.full = True
        return "\n".join(self.lines), self.paths

    def _emit(self, line: str, path: str | None) -> None:
        if self.cap is not None and self.size > self.cap:
            raise _Full
        self.lines.append(line)
        self.paths.append(path)
        self.size += len(line) + 1

    def _node(self, value: Any, path: str, depth: int, lead: str, tail: str) -> None:
        pad = "  " * depth
        if isinstance(value, dict) and value or isinstance(value, list) and value:
            is_dict = isinstance(value, dict)
            opener, closer = ("{", "}") if is_dict else ("[", "]")
            if depth > 0 and self.folded(path, depth):
                what = f"{len(value)} {'key' if is_dict else 'item'}{'s' if len(value) != 1 else ''}"
                self._emit(f"{pad}{lead}{opener}…{closer}{tail}  ▸ {what}", path)
                return
            self._emit(f"{pad}{lead}{opener}{'  ▾' if depth > 0 else ''}", path if depth > 0 else None)
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            for i, (key, item) in enumerate(items):
                name = json.dumps(key, ensure_ascii=False) + ": " if is_dict else ""
                step = str(key).replace("~", "~0").replace("/", "~1")
                self._node(item, f"{path}/{step}", depth + 1, name, "," if i < len(items) - 1 else "")
            self._emit(f"{pad}{closer}{tail}", None)
        else:
            self._emit(f"{pad}{lead}{json.dumps(value, ensure_ascii=False, default=str)}{tail}", None)


class _Full(Exception):
    """The cap is reached: stop writing."""


VIEWED: dict[str, Callable[..., list[Content]]] = {"conversation": conversation, "raw": raw_json}
"""The builders that take the `View` (keyword `view`)."""

TABS: tuple[tuple[str, str, Callable[[Detail, Matcher | None, int | None], list[Content]]], ...] = (
    ("conversation", "Conversation", conversation),
    ("thread", "Thread", thread),
    ("tools", "Tools", tool_calls),
    ("usage", "Usage", usage),
    ("logprobs", "Logprobs", logprobs),
    ("raw", "JSON", raw_json),
)


def output_text(d: Detail) -> str:
    """The assistant output of every choice, raw (for copying)."""
    out = []
    choices = d.raw.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        msg = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(msg, dict):
            body = content_text(msg.get("content"))
            if not body and msg.get("refusal"):
                body = str(msg["refusal"])
            out.append(body)
    return "\n\n".join(x for x in out if x)
