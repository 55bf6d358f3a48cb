"""What differs between two completions, or between the choices of one (`n > 1`).

Pure: plain API objects in, dataclasses out; no database, no UI. The compare screen draws a
`Comparison`, `ccbrowser diff` prints `unified(...)` or the comparison as JSON. difflib does the
matching. The texts are untrusted and `SequenceMatcher` is quadratic in the worst case, so a
word-level diff is bounded: past `WORD_LIMIT` tokens a side it falls back to lines, past
`LINE_LIMIT` lines to "replaced as a whole".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ccbrowser.render import local_time, message_block
from ccbrowser.safe import visible

WORD_LIMIT = 6_000
LINE_LIMIT = 20_000
_WORD = re.compile(r"\s+|\w+|[^\w\s]")

Op = Literal["equal", "delete", "insert"]
Status = Literal["same", "changed", "removed", "added"]

_NOT_PARAMS = {"id", "object", "created", "model", "choices", "usage", "metadata", "input_messages"}
_IDENTITY = {"id", "created"}  # shown, never a difference: two completions always differ there


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: a completion (or one choice of it) as the API returned it."""

    label: str
    raw: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class Piece:
    op: Op
    text: str


@dataclass(frozen=True, slots=True)
class FieldDiff:
    group: str  # "completion", "parameters", "usage", "metadata"
    name: str
    left: str
    right: str

    @property
    def same(self) -> bool:
        return self.left == self.right


@dataclass(frozen=True, slots=True)
class MessageDiff:
    """One message position; `pieces` is the word-level diff of a changed message, the whole
    text (one `delete` or `insert` piece) of a removed or added one, empty when the same."""

    status: Status
    title: str
    left_index: int | None
    right_index: int | None
    pieces: tuple[Piece, ...] = ()


@dataclass(frozen=True, slots=True)
class Comparison:
    left: str
    right: str
    fields: tuple[FieldDiff, ...]
    inputs: tuple[MessageDiff, ...]
    outputs: tuple[MessageDiff, ...]

    @property
    def same(self) -> bool:
        """No difference except the identity fields (id, created)."""
        return (
            all(f.same or f.name in _IDENTITY for f in self.fields)
            and all(m.status == "same" for m in self.inputs)
            and all(m.status == "same" for m in self.outputs)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "same": self.same,
            "fields": [
                {"group": f.group, "name": f.name, "left": f.left, "right": f.right, "same": f.same}
                for f in self.fields
            ],
            "inputs": [_message_json(m) for m in self.inputs],
            "outputs": [_message_json(m) for m in self.outputs],
        }


def _message_json(m: MessageDiff) -> dict[str, Any]:
    return {
        "status": m.status,
        "title": m.title,
        "left_index": m.left_index,
        "right_index": m.right_index,
        "pieces": [[p.op, p.text] for p in m.pieces],
    }


# -- text diffs -------------------------------------------------------------------------------


def _merge(pieces: Iterator[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for p in pieces:
        if not p.text:
            continue
        if out and out[-1].op == p.op:
            out[-1] = Piece(p.op, out[-1].text + p.text)
        else:
            out.append(p)
    return tuple(out)


def _opcode_pieces(a: Sequence[str], b: Sequence[str], *, autojunk: bool) -> Iterator[Piece]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=autojunk)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            yield Piece("equal", "".join(a[i1:i2]))
        else:  # replace = delete + insert; delete / insert have one side empty
            yield Piece("delete", "".join(a[i1:i2]))
            yield Piece("insert", "".join(b[j1:j2]))


def word_diff(left: str, right: str) -> tuple[Piece, ...]:
    """Word-level pieces (whitespace and punctuation are tokens of their own), bounded."""
    if left == right:
        return _merge(iter([Piece("equal", left)]))
    a, b = _WORD.findall(left), _WORD.findall(right)
    if len(a) <= WORD_LIMIT and len(b) <= WORD_LIMIT:
        return _merge(_opcode_pieces(a, b, autojunk=False))
    la, lb = left.splitlines(keepends=True), right.splitlines(keepends=True)
    if len(la) <= LINE_LIMIT and len(lb) <= LINE_LIMIT:
        return _merge(_opcode_pieces(la, lb, autojunk=True))
    return _merge(iter([Piece("delete", left), Piece("insert", right)]))


# -- messages ---------------------------------------------------------------------------------


def _title(msg: Any) -> str:
    return str(msg.get("role") or "?") if isinstance(msg, dict) else "?"


def _message_diffs(left: Sequence[Any], right: Sequence[Any]) -> tuple[MessageDiff, ...]:
    """Align two message lists (difflib over whole messages), then diff the changed ones by word."""
    ta, tb = [message_block(m) for m in left], [message_block(m) for m in right]
    out: list[MessageDiff] = []
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(MessageDiff("same", _title(left[i]), i, j1 + k) for k, i in enumerate(range(i1, i2)))
            continue
        pairs = min(i2 - i1, j2 - j1)
        for k in range(pairs):
            i, j = i1 + k, j1 + k
            out.append(MessageDiff("changed", _title(right[j]), i, j, word_diff(ta[i], tb[j])))
        for i in range(i1 + pairs, i2):
            out.append(MessageDiff("removed", _title(left[i]), i, None, (Piece("delete", ta[i]),)))
        for j in range(j1 + pairs, j2):
            out.append(MessageDiff("added", _title(right[j]), None, j, (Piece("insert", tb[j]),)))
    return tuple(out)


def _choices(raw: dict[str, Any]) -> list[Any]:
    choices = raw.get("choices")
    return choices if isinstance(choices, list) else []


def _choice_text(choice: Any, index: int) -> str:
    if not isinstance(choice, dict):
        return message_block(choice)
    label = f"output #{choice.get('index', index)} (finish: {choice.get('finish_reason')})"
    return message_block(choice.get("message") or {}, label)


def _output_diffs(left: list[Any], right: list[Any]) -> tuple[MessageDiff, ...]:
    """Outputs pair by choice index: choice 0 with choice 0, and so on."""
    out: list[MessageDiff] = []
    for i in range(max(len(left), len(right))):
        a = _choice_text(left[i], i) if i < len(left) else None
        b = _choice_text(right[i], i) if i < len(right) else None
        title = f"choice {i}"
        if a is not None and b is not None:
            same = a == b
            out.append(
                MessageDiff("same" if same else "changed", title, i, i, () if same else word_diff(a, b))
            )
        elif a is not None:
            out.append(MessageDiff("removed", title, i, None, (Piece("delete", a),)))
        elif b is not None:
            out.append(MessageDiff("added", title, None, i, (Piece("insert", b),)))
    return tuple(out)


# -- fields -----------------------------------------------------------------------------------


def _show(value: Any, *, count: bool = False) -> str:
    """A value as one short text; `count`: an integer with thousands separators (token counts)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if count else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _flat_usage(raw: dict[str, Any]) -> dict[str, Any]:
    usage = raw.get("usage")
    out: dict[str, Any] = {}
    for key, value in (usage if isinstance(usage, dict) else {}).items():
        if isinstance(value, dict):
            for sub, v in value.items():
                out[f"{key.removesuffix('_tokens_details')}.{sub}"] = v
        else:
            out[key] = value
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fields(a: Side, b: Side) -> tuple[FieldDiff, ...]:
    out: list[FieldDiff] = []

    def add(
        group: str, left: dict[str, Any], right: dict[str, Any], names: Sequence[str] | None = None
    ) -> None:
        keys = names if names is not None else list(dict.fromkeys([*left, *right]))
        count = group == "usage"
        for k in keys:
            out.append(FieldDiff(group, k, _show(left.get(k), count=count), _show(right.get(k), count=count)))

    ca, cb = _choices(a.raw), _choices(b.raw)
    head_a = {"id": a.raw.get("id"), "created": local_time(a.raw.get("created")), "model": a.raw.get("model")}
    head_b = {"id": b.raw.get("id"), "created": local_time(b.raw.get("created")), "model": b.raw.get("model")}
    head_a["finish"] = ", ".join(str(c.get("finish_reason")) for c in ca if isinstance(c, dict)) or None
    head_b["finish"] = ", ".join(str(c.get("finish_reason")) for c in cb if isinstance(c, dict)) or None
    head_a["choices"], head_b["choices"] = len(ca), len(cb)
    add("completion", head_a, head_b, ["id", "created", "model", "finish", "choices"])
    add(
        "parameters",
        {k: v for k, v in a.raw.items() if k not in _NOT_PARAMS},
        {k: v for k, v in b.raw.items() if k not in _NOT_PARAMS},
    )
    add("usage", _flat_usage(a.raw), _flat_usage(b.raw))
    if a.cost is not None or b.cost is not None:
        out.append(FieldDiff("usage", "cost", _cost(a.cost), _cost(b.cost)))
    add("metadata", _dict(a.raw.get("metadata")), _dict(b.raw.get("metadata")))
    return tuple(out)


def _cost(value: float | None) -> str:
    return "—" if value is None else f"${value:.6f}"


# -- entry points -----------------------------------------------------------------------------


def compare(a: Side, b: Side) -> Comparison:
    """Everything that differs between `a` and `b` (and what is the same, for context)."""
    return Comparison(
        a.label,
        b.label,
        _fields(a, b),
        _message_diffs(a.inputs, b.inputs),
        _output_diffs(_choices(a.raw), _choices(b.raw)),
    )


def choice_sides(side: Side) -> list[Side]:
    """One `Side` per choice of an `n > 1` completion (same inputs, one choice each)."""
    out = []
    for i, choice in enumerate(_choices(side.raw)):
        one = dict(choice, index=0) if isinstance(choice, dict) else choice  # pairs as "choice 0"
        raw = dict(side.raw, choices=[one])
        out.append(Side(f"{side.label} choice {i}", raw, side.inputs, side.cost))
    return out


def compare_choices(side: Side) -> list[Comparison]:
    """Choice 0 against each other choice; the outputs pair as "choice 0" on both sides."""
    sides = choice_sides(side)
    return [compare(sides[0], other) for other in sides[1:]]


def canonical_text(side: Side) -> str:
    """The text `unified` compares: everything but the identity fields, one thing per line."""
    lines = [f"model: {_show(side.raw.get('model'))}"]
    params = {k: v for k, v in side.raw.items() if k not in _NOT_PARAMS}
    lines += [f"{k}: {_show(v)}" for k, v in params.items()]
    lines += [f"usage.{k}: {_show(v)}" for k, v in _flat_usage(side.raw).items()]
    if side.cost is not None:
        lines.append(f"cost: {_cost(side.cost)}")
    lines += [f"metadata.{k}: {_show(v)}" for k, v in _dict(side.raw.get("metadata")).items()]
    lines.append("")
    lines += [message_block(m) for m in side.inputs]
    lines += [_choice_text(c, i) for i, c in enumerate(_choices(side.raw))]
    return visible("\n".join(lines)) + "\n"


def unified(a: Side, b: Side, context: int = 3) -> str:
    """A unified diff of the two canonical texts ("" when they are the same)."""
    return "".join(
        difflib.unified_diff(
            canonical_text(a).splitlines(keepends=True),
            canonical_text(b).splitlines(keepends=True),
            fromfile=a.label,
            tofile=b.label,
            n=context,
        )
    )
