"""The canonical form of a chat message: what two messages must share to be "the same message".

A completion's output comes back to us as ``choices[i].message`` and, when the caller sends it
again in the next request, as one of that request's stored input messages (``/messages`` item
form: an ``id``, ``content_parts`` for array content, ``refusal``/``name`` as nulls). The two must
canonicalise to the same bytes, so the form keeps only what a caller sends back:

- ``role``, ``name``, ``tool_call_id``, ``content``, ``tool_calls`` and the legacy ``function_call``;
  everything else is output-only or store-only (``id``, ``refusal``, ``annotations``, ``audio``,
  ``content_parts`` once merged) and is left out;
- ``content`` is always a list of parts: a string is one text part, ``content_parts`` (the store's
  copy of array content) wins over the joined ``content`` text, an empty string or list is absent;
- tool-call arguments that are valid JSON are parsed and re-serialised with sorted keys (callers
  and SDKs re-encode them with other spacing), invalid ones are kept verbatim;
- nulls are dropped at every depth and keys are sorted: key order never matters.

System and developer messages go through `normalise_system` first (see `SystemMode`).
The JSON encoding is the store's own canonical one (`ccbrowser.store.extract.dumps`), so a value
that SQLite can hold encodes the same way here as in the store.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import lru_cache
from typing import Any

from ccbrowser.store.extract import dumps

SYSTEM_ROLES = frozenset(("system", "developer"))
TOOL_ROLES = frozenset(("tool", "function"))


class SystemMode(StrEnum):
    """How system and developer messages take part in matching.

    ``mask`` (default): compared after masking what templated prompts change from call to call:
    dates, times and every other run of digits, month and weekday names, file paths and long hex
    ids ("Today is Tuesday 2 December 2026, cwd /home/ann/x" equals "Today is Monday 1 December
    2026, cwd /srv/y"). ``ignore``: left out of matching entirely (for prompts that change in
    free text). ``exact``: compared as sent.
    """

    MASK = "mask"
    IGNORE = "ignore"
    EXACT = "exact"


_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NAMES = sorted(
    {w for w in (_MONTHS + " " + _DAYS).split()}
    | {w[:3] for w in (_MONTHS + " " + _DAYS).split()}
    | {"sept"},
    key=len,
    reverse=True,
)
_MASKS = (
    # UUIDs and hex ids (request ids, commit hashes) before the digits inside them are touched
    (re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b"), "<id>"),
    # Windows and POSIX paths (two segments at least, or rooted at ~ / . / ..)
    (re.compile(r"\b[A-Za-z]:\\[^\s\"'<>|]*"), "<path>"),
    (
        re.compile(
            r"(?:~|\.{1,2})?(?:/[^\s/\"'<>|:;,()\[\]{}]+){2,}/?|(?:~|\.{1,2})/[^\s/\"'<>|:;,()\[\]{}]+/?"
        ),
        "<path>",
    ),
    (re.compile(r"\b(?:" + "|".join(_NAMES) + r")\b\.?", re.IGNORECASE), "<date>"),
    (re.compile(r"\d+"), "0"),
)


@lru_cache(maxsize=4096)
def mask(text: str) -> str:
    """`text` with its per-call parts masked (cached: a few prompts repeat across every call)."""
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    return text


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value


def _part(part: Any) -> Any:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    return _drop_nulls(part)


def _content(msg: dict[str, Any]) -> list[Any] | None:
    parts = msg.get("content_parts")
    content = parts if isinstance(parts, list) and parts else msg.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else None
    if isinstance(content, list):
        return [_part(p) for p in content if p is not None] or None
    if content is None:
        return None
    return [_drop_nulls(content)]  # a malformed value still takes part, verbatim


def arguments(value: Any) -> Any:
    """Tool-call arguments in one form: valid JSON re-serialised with sorted keys, else verbatim."""
    if isinstance(value, str):
        try:
            return dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return None if value is None else dumps(_drop_nulls(value), sort_keys=True)


def _call(call: Any) -> Any:
    if not isinstance(call, dict):
        return call
    out = _drop_nulls(call)
    for key, field in (("function", "arguments"), ("custom", "input")):
        inner = out.get(key)
        if isinstance(inner, dict) and field in inner:
            out[key] = {**inner, field: arguments(inner[field])}
    return out


def form(msg: Any, system: SystemMode = SystemMode.MASK) -> Any:
    """The canonical value of one message (a dict for a message); None when it takes no part."""
    if not isinstance(msg, dict):
        return _drop_nulls(msg)
    role = msg.get("role")
    out: dict[str, Any] = {"role": role if isinstance(role, str) else "user"}
    if out["role"] in SYSTEM_ROLES:
        if system is SystemMode.IGNORE:
            return None
        if system is SystemMode.MASK:
            msg = normalise_system(msg)
    content = _content(msg)
    if content is not None:
        out["content"] = content
    for key in ("name", "tool_call_id"):
        value = msg.get(key)
        if value is not None and value != "":
            out[key] = value
    calls = msg.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [_call(c) for c in calls]
    legacy = msg.get("function_call")
    if isinstance(legacy, dict) and legacy:
        out["function_call"] = {**_drop_nulls(legacy), "arguments": arguments(legacy.get("arguments"))}
    return out


def canonical(msg: Any, system: SystemMode = SystemMode.MASK) -> str | None:
    """The canonical JSON of one message; None when it takes no part in matching."""
    value = form(msg, system)
    return None if value is None and isinstance(msg, dict) else dumps(value, sort_keys=True)


def encoding(msg: Any, system: SystemMode = SystemMode.MASK) -> bytes | None:
    """Bytes that are equal exactly when the canonical JSON is; None when it takes no part.

    Most messages are text with a role (and perhaps a name or a tool call id): those encode as a
    length-prefixed form of those fields instead of their JSON, which is several times cheaper
    and, being decided on the canonical value, gives the same equality. The rest are their JSON.
    A tag byte keeps the two forms apart.
    """
    if type(msg) is dict:
        role = msg.get("role")
        content = msg.get("content")
        if (
            type(role) is str
            and type(content) is str
            and content
            and not msg.get("content_parts")
            and not msg.get("tool_calls")
            and not msg.get("function_call")
        ):
            name = msg.get("name")
            call_id = msg.get("tool_call_id")
            if (name is None or type(name) is str) and (call_id is None or type(call_id) is str):
                if role in SYSTEM_ROLES:
                    if system is SystemMode.IGNORE:
                        return None
                    if system is SystemMode.MASK:
                        content = mask(content)
                return text_encoding(role, name or "", call_id or "", content)
    value = form(msg, system)
    if value is None and isinstance(msg, dict):
        return None
    text = _text_form(value)
    if text is not None:
        return text_encoding(*text)
    return b"J" + dumps(value, sort_keys=True).encode("utf-8", "surrogatepass")


def digest(msg: Any, system: SystemMode = SystemMode.MASK) -> bytes | None:
    """16 bytes (BLAKE2b) of the message's `encoding`."""
    enc = encoding(msg, system)
    return None if enc is None else hashlib.blake2b(enc, digest_size=16).digest()


_TEXT_KEYS = frozenset(("role", "content", "name", "tool_call_id"))


def _text_form(value: Any) -> tuple[str, str, str, str] | None:
    """(role, name, tool call id, text) when the canonical value is a text message, else None."""
    if type(value) is not dict or not value.keys() <= _TEXT_KEYS:
        return None
    content = value.get("content")
    if type(content) is not list or len(content) != 1:
        return None
    part = content[0]
    if type(part) is not dict or part.keys() != {"type", "text"} or part["type"] != "text":
        return None
    text, name, call_id = part["text"], value.get("name", ""), value.get("tool_call_id", "")
    if type(text) is not str or type(name) is not str or type(call_id) is not str or not text:
        return None
    return value["role"], name, call_id, text


def text_encoding(role: str, name: str, call_id: str, text: str) -> bytes:
    return f"T{len(role)}:{role}{len(name)}:{name}{len(call_id)}:{call_id}{text}".encode(
        "utf-8", "surrogatepass"
    )


def normalise_system(msg: dict[str, Any]) -> dict[str, Any]:
    """A system message with the text of its content masked (see `SystemMode.MASK`)."""
    parts = _content(msg)
    if parts is None:
        return msg
    masked = [
        {**p, "text": mask(p["text"])} if isinstance(p, dict) and isinstance(p.get("text"), str) else p
        for p in parts
    ]
    return {**msg, "content": masked, "content_parts": None}
