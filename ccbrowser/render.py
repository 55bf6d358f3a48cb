"""Plain-text rendering of completions and messages for the CLI (`show`, `messages`).

Every string from the data goes through `safe.visible`: an escape sequence in a stored message
must not reach the user's terminal.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from ccbrowser.safe import visible

_C1 = re.compile("[\x7f-\x9f]")
REMOVED_MARK = "✗"  # removed upstream: the same mark in the TUI list and the CLI's lines


def shown(value: Any, missing: str = "?") -> str:
    """A field for a human: `missing` for an absent or null one, never `None`."""
    return missing if value is None else str(value)


def json_for_terminal(raw: str) -> str:
    """Stored JSON text, with DEL/C1 controls escaped: still the same JSON value."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def local_time(ts: int | float | None) -> str:
    if ts is None:
        return "?"
    try:
        return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def usd(value: float | None, unknown: str = "unknown", *, short: bool = False) -> str:
    """A cost estimate in US dollars, with the precision small figures need: $12.34, $0.0042.
    ``short``: at most 7 characters (a list column)."""
    if value is None:
        return unknown
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.0f}" if short and abs(value) >= 1000 else f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.3f}"
    if abs(value) < 0.0001:
        if short:
            return "<$.0001"
        # two significant digits in plain decimals ("$0.000088"), never "8.8e-05"
        digits = min(12, 1 - math.floor(math.log10(abs(value))))
        return f"${value:.{digits}f}" if abs(value) >= 1e-11 else "<$0.00000000001"
    return f"${value:.4f}"


def usd_total(value: float | None, unknown: int) -> str:
    """A sum of costs of which `unknown` were not known: "$0.012 (2 unknown)", never $0 for them."""
    if value is None:
        return "cost unknown"
    return usd(value) + (f" ({unknown:,} unknown)" if unknown else "")


def content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif isinstance(part.get("refusal"), str):
                    out.append("[refusal] " + part["refusal"])
                elif part.get("type") == "image_url":
                    url = (
                        (part.get("image_url") or {}).get("url", "")
                        if isinstance(part.get("image_url"), dict)
                        else ""
                    )
                    out.append(f"[image] {url[:80]}")
                else:
                    out.append(f"[{part.get('type', 'part')}]")
            else:
                out.append(str(part))
        return "\n".join(out)
    return json.dumps(content, ensure_ascii=False)


def _pretty_args(args: str) -> str:
    try:
        return json.dumps(json.loads(args), indent=2, ensure_ascii=False)
    except ValueError:
        return args + "\n(invalid JSON, shown verbatim)"


def message_block(msg: Any, label: str | None = None) -> str:
    if not isinstance(msg, dict):
        return visible(f"[?] {msg!r}")
    role = msg.get("role") or "?"
    head = f"── {label or role}"
    if msg.get("name"):
        head += f" ({msg['name']})"
    if msg.get("tool_call_id"):
        head += f" ← {msg['tool_call_id']}"
    lines = [head]
    text = content_text(msg.get("content"))
    if not text and msg.get("content_parts"):
        text = content_text(msg.get("content_parts"))
    if text:
        lines.append(text)
    if msg.get("refusal"):
        lines.append(f"[refusal] {msg['refusal']}")
    for call in _as_list(msg.get("tool_calls")):
        if not isinstance(call, dict):
            continue
        custom = call.get("type") == "custom" or "custom" in call and "function" not in call
        fn = call.get("function") or call.get("custom") or {}
        if not isinstance(fn, dict):
            fn = {}
        args = fn.get("arguments", fn.get("input"))
        args = "" if args is None else args if isinstance(args, str) else json.dumps(args)
        call_id = f" ({call['id']})" if call.get("id") else ""
        lines.append(f"→ {'custom ' if custom else ''}tool call {shown(fn.get('name'))}{call_id}")
        lines.append(args if custom else _pretty_args(args))  # a custom tool's input is free text
    audio = msg.get("audio")
    if isinstance(audio, dict) and audio.get("transcript"):
        lines.append(f"[audio transcript] {audio['transcript']}")
    for ann in _as_list(msg.get("annotations")):
        cit = ann.get("url_citation") if isinstance(ann, dict) else None
        if isinstance(cit, dict):
            lines.append(f"[cite] {shown(cit.get('title'), '')} <{shown(cit.get('url'), '')}>")
    return visible("\n".join(lines))


def output_label(choice: dict[str, Any]) -> str:
    """`output #0 (stop)`: a choice's heading (no finish reason: none shown, never `None`)."""
    finish = choice.get("finish_reason")
    return f"output #{shown(choice.get('index'), '0')}" + (f" ({finish})" if finish is not None else "")


def completion_text(obj: dict[str, Any], inputs: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    usage: dict[str, Any] = obj["usage"] if isinstance(obj.get("usage"), dict) else {}
    head = [
        f"id:       {shown(obj.get('id'))}",
        f"created:  {local_time(obj.get('created'))}",
        f"model:    {shown(obj.get('model'))}",
        f"tokens:   {shown(usage.get('prompt_tokens'))} in + {shown(usage.get('completion_tokens'))} out = {shown(usage.get('total_tokens'))}",
    ]
    if obj.get("service_tier"):
        head.append(f"tier:     {obj['service_tier']}")
    if isinstance(obj.get("metadata"), dict) and obj["metadata"]:
        head.append("metadata: " + ", ".join(f"{k}={shown(v, '')}" for k, v in obj["metadata"].items()))
    for key, value in extra.items():
        if value:
            head.append(f"{key + ':':<9} {value}")
    parts = [visible("\n".join(head)), ""]
    if inputs:
        parts.extend(message_block(m) + "\n" for m in inputs)
    for choice in _as_list(obj.get("choices")):
        if not isinstance(choice, dict):
            continue
        parts.append(message_block(choice.get("message") or {}, output_label(choice)) + "\n")
    return "\n".join(parts).rstrip() + "\n"
