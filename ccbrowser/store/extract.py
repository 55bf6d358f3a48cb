"""Turning API objects (plain dicts, possibly malformed) into rows.

Plain functions on dicts rather than pydantic models: this runs for every object of a sync or an
import and must never raise on a field of the wrong shape (the verbatim JSON is kept anyway).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccbrowser.safe import without_sequences

_SURROGATES = re.compile("[\ud800-\udfff]")


def _utf8_ok(text: str) -> bool:
    """False when `text` holds lone surrogates, which UTF-8 (and so SQLite TEXT) cannot carry."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def clean(text: str) -> str:
    """Text that SQLite can store as UTF-8: lone surrogates become U+FFFD.

    The raw JSON keeps them (as `\\ud800` escapes), so this loses nothing.
    """
    return text if _utf8_ok(text) else _SURROGATES.sub("\ufffd", text)


def _encoder(sort_keys: bool) -> Callable[[Any], str]:
    """A compact UTF-8 encoder, built once.

    `json.dumps` with options builds a new encoder on every call, and even a kept `JSONEncoder`
    builds its C encoder again per `encode` (and checks for cycles, which decoded JSON cannot
    have): calling the C encoder directly is about twice as fast on a message-sized dict, which
    matters at two encodings per stored message. Same output as `JSONEncoder(...).encode`.
    """
    py = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - a Python without the C accelerator
        return py.encode
    chunks = make(None, py.default, json.encoder.encode_basestring, None, ":", ",", sort_keys, False, True)
    join = "".join

    def encode(obj: Any) -> str:
        return join(chunks(obj, 0))

    return encode


_ENCODE = _encoder(False)
_ENCODE_SORTED = _encoder(True)


def index_text(text: str) -> str:
    """What the FTS index holds of a text column: escape sequences taken out (see `body_of`)."""
    return without_sequences(text)


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON; falls back to ASCII escapes when the value holds lone surrogates."""
    text = (_ENCODE_SORTED if sort_keys else _ENCODE)(obj)
    if _utf8_ok(text):
        return text
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), sort_keys=sort_keys)


# `messages.msg_id` for an input message whose API id is `<completion id>-<position>`, as the
# API numbers them: an empty BLOB (no bytes in the record; an id from the API is always TEXT, and
# the column's TEXT affinity would turn a number into text) stands for the id, rebuilt on read
# (`reader.message_id`), instead of ~37 bytes a message (5% of a database).
DERIVED_ID = b""


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    """A string for a TEXT column: lone surrogates (not UTF-8) made storable."""
    return clean(value) if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(content: Any) -> tuple[str, bool]:
    """The searchable text of a message `content` (a string or a list of parts), and whether it has images."""
    if isinstance(content, str):
        return content, False
    parts: list[str] = []
    images = False
    for part in _list(content):
        if isinstance(part, str):
            parts.append(part)
            continue
        part = _dict(part)
        ptype = part.get("type")
        if ptype in ("image_url", "input_image", "image"):
            images = True
        for key in ("text", "refusal"):
            if isinstance(part.get(key), str):
                parts.append(part[key])
        audio = _dict(part.get("input_audio"))
        if isinstance(audio.get("transcript"), str):
            parts.append(audio["transcript"])
        file = _dict(part.get("file"))
        if isinstance(file.get("filename"), str):
            parts.append(file["filename"])
    return "\n".join(parts), images


@dataclass(slots=True)
class ToolCallRow:
    position: int
    call_id: str | None
    type: str | None
    name: str | None
    arguments: str | None
    valid_json: bool


def tool_calls_of(message: dict[str, Any]) -> list[ToolCallRow]:
    rows: list[ToolCallRow] = []
    for pos, call in enumerate(_list(message.get("tool_calls"))):
        call = _dict(call)
        ctype = _text(call.get("type"))
        fn = _dict(call.get("function")) or _dict(call.get("custom"))
        name = _str(fn.get("name"))
        args = fn.get("arguments", fn.get("input"))
        if args is not None and not isinstance(args, str):
            args = dumps(args)  # some servers send an object instead of a JSON string
        rows.append(ToolCallRow(pos, _text(call.get("id")), ctype, name, args, _valid_json(args)))
    legacy = _dict(message.get("function_call"))
    if legacy:
        args = legacy.get("arguments")
        if args is not None and not isinstance(args, str):
            args = dumps(args)
        rows.append(
            ToolCallRow(len(rows), None, "function_call", _str(legacy.get("name")), args, _valid_json(args))
        )
    return rows


def _valid_json(text: str | None) -> bool:
    if text is None:
        return False
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


@dataclass(slots=True)
class Body:
    """A distinct message body: what the FTS index covers."""

    hash: bytes
    role: str | None
    content: str
    tool: str
    refusal: str
    transcript: str
    raw: str
    has_images: bool
    split: bool  # `content` lives in the content column, not in `raw`


def _tool_text(msg: dict[str, Any]) -> str:
    """Tool names and arguments of a message, for the index (no JSON validation needed here)."""
    parts: list[str] = []
    for call in _list(msg.get("tool_calls")):
        call = _dict(call)
        fn = _dict(call.get("function")) or _dict(call.get("custom"))
        args = fn.get("arguments", fn.get("input"))
        if args is not None and not isinstance(args, str):
            args = dumps(args)
        parts.append(f"{_str(fn.get('name')) or ''} {args or ''}".strip())
    legacy = _dict(msg.get("function_call"))
    if legacy:
        args = legacy.get("arguments")
        parts.append(
            f"{_str(legacy.get('name')) or ''} {args if isinstance(args, str) else dumps(args) if args is not None else ''}".strip()
        )
    return "\n".join(parts)


_SKELETONS: dict[tuple[tuple[str, str | None], ...], tuple[str, str]] = {}


def _skeleton(msg: dict[str, Any]) -> tuple[str, str]:
    """(sorted JSON of the message without `content`, its JSON with `content` null).

    Most messages are the same few fields around their text (`{"role": "user", "name": null,
    ...}`): when every other value is a string or null, both are remembered by those fields,
    which spares two encodings per stored message. Anything else is encoded each time.
    """
    shape: list[tuple[str, str | None]] = []
    for k, v in msg.items():
        if type(k) is not str or not (v is None or type(v) is str or k == "content"):
            break
        shape.append((k, None if k == "content" else v))
    else:
        key = tuple(shape)
        known = _SKELETONS.get(key)
        if known is None:
            if len(_SKELETONS) >= 4096:
                _SKELETONS.clear()
            known = _SKELETONS[key] = _encode_skeleton(msg)
        return known
    return _encode_skeleton(msg)


def _encode_skeleton(msg: dict[str, Any]) -> tuple[str, str]:
    rest = {k: v for k, v in msg.items() if k != "content"}
    return dumps(rest, sort_keys=True), dumps({k: None if k == "content" else v for k, v in msg.items()})


def body_of(message: Any, *, drop_id: bool) -> Body:
    """`drop_id`: input messages carry `<completion id>-<n>` ids, which would defeat sharing.

    A string `content` is stored once, in the `content` column (which the FTS index reads), and
    left out of `raw`; `reader` puts it back. That halves the size of the bodies table. Content
    that SQLite cannot hold exactly (lone surrogates) stays in `raw`, and so does content with
    terminal escape sequences: the text columns hold what the index should see (`index_text`:
    `\x1b[31mcapybara` is found by `capybara`), `raw` what the API sent. The hash is the same
    either way, so a message stored before this rule is still recognised.
    """
    if not isinstance(message, dict):
        raw = dumps(message, sort_keys=True)
        digest = hashlib.blake2b(raw.encode("utf-8"), digest_size=16).digest()
        return Body(digest, None, "", "", "", "", raw, False, False)
    msg = message
    content_value = msg.get("content")
    split = False
    key = b""
    if drop_id and "id" in msg:
        msg = {k: v for k, v in msg.items() if k != "id"}
    if type(content_value) is str:
        rest_sorted, skeleton = _skeleton(msg)
        try:
            key = f"{rest_sorted}\x00{content_value}".encode()
            split = index_text(content_value) == content_value
        except UnicodeEncodeError:  # lone surrogates: keep the content inside raw
            key = b""
        if split:
            # `content` keeps its place as a null: `reader.body_json` puts the text back there
            raw = skeleton
    if not split:
        raw = dumps(msg)
        if not key:
            key = dumps(msg, sort_keys=True).encode("utf-8")
    # The hash is of the sorted form (the same body in another key order is the same body);
    # `raw` keeps the order the API sent (`messages --json` shows it so).
    digest = hashlib.blake2b(key, digest_size=16).digest()
    images = False
    content: str
    if split and isinstance(content_value, str):
        content = content_value
    else:
        content, images = text_of(content_value)
        content = index_text(clean(content))
    parts = msg.get("content_parts")
    if parts is not None:
        part_text, part_images = text_of(parts)
        images = images or part_images
        if not content:
            content = index_text(clean(part_text))
    tool = index_text(clean(_tool_text(msg))) if ("tool_calls" in msg or "function_call" in msg) else ""
    refusal = msg.get("refusal")
    refusal = index_text(clean(refusal)) if type(refusal) is str else ""
    audio = msg.get("audio")
    transcript = audio.get("transcript") if type(audio) is dict else None
    transcript = index_text(clean(transcript)) if type(transcript) is str else ""
    role = msg.get("role")
    return Body(
        digest,
        clean(role) if type(role) is str else None,
        content,
        tool,
        refusal,
        transcript,
        raw,
        images,
        split,
    )


@dataclass(slots=True)
class CompletionRow:
    id: str
    columns: dict[str, Any]
    outputs: list[Body]  # one per choice, in choice order
    output_positions: list[int]
    tool_calls: list[tuple[int, ToolCallRow]]  # (choice index, call)
    metadata: dict[str, str | None]
    embedded_inputs: list[Any] | None


def completion_row(obj: dict[str, Any]) -> CompletionRow:
    """Typed columns for the filters, plus the output bodies, tool calls and metadata."""
    cid = obj.get("id")
    if not isinstance(cid, str) or not cid:
        raise ValueError("completion has no string `id`")
    choices = [_dict(c) for c in _list(obj.get("choices"))]
    usage = _dict(obj.get("usage"))
    outputs: list[Body] = []
    positions: list[int] = []
    calls: list[tuple[int, ToolCallRow]] = []
    flags = dict.fromkeys(("tools", "refusal", "audio", "annotations", "logprobs"), False)
    for n, choice in enumerate(choices):
        index = _int(choice.get("index"))
        index = n if index is None or index in positions else index
        message = _dict(choice.get("message"))
        outputs.append(body_of(message, drop_id=False))
        positions.append(index)
        for call in tool_calls_of(message):
            calls.append((index, call))
        flags["refusal"] |= bool(message.get("refusal"))
        flags["audio"] |= bool(message.get("audio"))
        flags["annotations"] |= bool(message.get("annotations"))
        logprobs = _dict(choice.get("logprobs"))
        flags["logprobs"] |= bool(logprobs.get("content") or logprobs.get("refusal"))
    flags["tools"] = bool(calls)
    metadata_raw = _dict(obj.get("metadata"))
    metadata = {
        clean(str(k)): (clean(v) if isinstance(v, str) else None if v is None else clean(dumps(v)))
        for k, v in metadata_raw.items()
    }
    first = choices[0] if choices else {}
    columns: dict[str, Any] = {
        "created": _int(obj.get("created")),
        "model": clean(m) if (m := _str(obj.get("model"))) else None,
        "finish_reason": _text(first.get("finish_reason")),
        "service_tier": _text(obj.get("service_tier")),
        "prompt_tokens": _int(usage.get("prompt_tokens")),
        "completion_tokens": _int(usage.get("completion_tokens")),
        "total_tokens": _int(usage.get("total_tokens")),
        "reasoning_tokens": _int(_dict(usage.get("completion_tokens_details")).get("reasoning_tokens")),
        "cached_tokens": _int(_dict(usage.get("prompt_tokens_details")).get("cached_tokens")),
        "n_choices": len(choices),
        "tool_call_count": len(calls),
        "has_tools": int(flags["tools"]),
        "has_refusal": int(flags["refusal"]),
        "has_audio": int(flags["audio"]),
        "has_annotations": int(flags["annotations"]),
        "has_logprobs": int(flags["logprobs"]),
        "metadata": dumps(metadata_raw) if metadata_raw else None,
    }
    embedded = obj.get("input_messages")
    return CompletionRow(
        clean(cid),
        columns,
        outputs,
        positions,
        calls,
        metadata,
        embedded if isinstance(embedded, list) else None,
    )


def preview_of(inputs: list[Body]) -> str | None:
    """First line of the last user message: what the list shows."""
    for body in reversed(inputs):
        if body.role == "user" and body.content.strip():
            for line in body.content.splitlines():
                if line.strip():
                    return line.strip()[:200]
    return None
