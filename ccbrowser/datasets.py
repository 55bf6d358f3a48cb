"""The export formats other tools read: OpenAI chat fine-tuning JSONL and Evals JSONL file content.

`finetune`: one training example per completion, as the fine-tuning API's supervised chat format
documents it: `{"messages": [...], "tools": [...], "parallel_tool_calls": bool}`, where
`messages` are the request's input messages followed by the assistant's output of the chosen
choice (tool calls included), and `tools` / `parallel_tool_calls` come from the stored object
when the request had them. Messages keep only the fields the format knows (`role`, `content`,
`name`, `tool_calls`, `tool_call_id`); the content itself is never rewritten, so a file round-trips
its text exactly. `developer` messages become `system` ones (the format's roles are system, user,
assistant and tool). A completion that would make a file the API rejects, or teach what nobody
wants taught, is skipped with a reason: refusals and truncated outputs (`finish_reason` length)
unless asked for, content filtered outputs, no stored input messages, audio or file input parts,
tool calls that are not function calls with string arguments, text that is not valid Unicode.

`evals`: one `{"item": {...}, "sample": {...}}` per completion, the shape of the Evals API's
`jsonl` data source (`file_content` items): `item` holds the `input` messages, the `metadata`, the
`model` and the completion `id`; `sample` the output as graders read it (`output_text`,
`output_tools`, `choices`, `finish_reason`, `model`, `usage`). Only completions without stored
input messages or without the chosen choice are skipped: an eval wants the failures too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
_PART_TYPES = {"text", "image_url"}  # fine-tuning takes text and images only


class Skip(Exception):
    """Why one completion is left out of a training or eval file (the reason is counted)."""


@dataclass
class Options:
    choice: int = 0
    include_refusals: bool = False
    include_truncated: bool = False


@dataclass
class Skipped:
    """What was left out and why: printed as one line on stderr after the export."""

    reasons: Counter[str] = field(default_factory=Counter)

    def line(self, written: int) -> str | None:
        total = sum(self.reasons.values())
        if not total:
            return None
        why = ", ".join(f"{n:,} {reason}" for reason, n in self.reasons.most_common())
        return f"wrote {written:,}, skipped {total:,}: {why}"


def _valid_text(value: Any) -> None:
    """Raise Skip for a string that UTF-8 cannot carry (a lone surrogate kept from a server)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Skip("text that is not valid Unicode") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _valid_text(k)
            _valid_text(v)
    elif isinstance(value, list):
        for v in value:
            _valid_text(v)


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise Skip("malformed tool calls")
    out: list[dict[str, Any]] = []
    for call in calls:
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            raise Skip("tool calls that are not function calls")
        fn = call.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise Skip("malformed tool calls")
        if not isinstance(fn.get("arguments"), str):
            raise Skip("tool call arguments that are not a string")
        if not isinstance(call.get("id"), str):
            raise Skip("tool calls without an id")
        out.append(
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": fn["name"], "arguments": fn["arguments"]},
            }
        )
    return out


def _content(content: Any, role: str) -> Any:
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise Skip("malformed message content")
    for part in content:
        if not isinstance(part, dict):
            raise Skip("malformed message content")
        kind = part.get("type")
        if kind not in _PART_TYPES and not (role == "assistant" and kind == "refusal"):
            raise Skip("audio or file input (fine-tuning takes text and images)")
    return content


def request_form(msg: dict[str, Any]) -> dict[str, Any]:
    """A stored input message (`/messages` item form) as it was sent in the request.

    The API lists a message sent as content parts with the parts in `content_parts` and their text
    joined in `content`: the parts are what was sent. Its own `id`, and fields it lists as null,
    were never part of the request.
    """
    out = {k: v for k, v in msg.items() if k not in ("id", "content_parts") and v is not None}
    if isinstance(msg.get("content_parts"), list) and msg["content_parts"]:
        out["content"] = msg["content_parts"]
    return out


def training_message(msg: Any) -> dict[str, Any]:
    """An input message as the fine-tuning format takes it (fields it does not know dropped)."""
    if not isinstance(msg, dict):
        raise Skip("malformed input messages")
    msg = request_form(msg)
    role = _ROLES.get(msg.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise Skip("input messages of other roles (function, ...)")
    out: dict[str, Any] = {"role": role}
    for key in _MESSAGE_KEYS[1:]:
        value = msg.get(key)
        if value is None:
            continue
        if key == "tool_calls":
            if role != "assistant":
                raise Skip("malformed input messages")
            value = _tool_calls(value)
        elif key == "content":
            value = _content(value, role)
        elif not isinstance(value, str):
            raise Skip("malformed input messages")
        out[key] = value
    if "content" not in out and not out.get("tool_calls"):
        raise Skip("input messages without content")
    if role == "tool" and "tool_call_id" not in out:
        raise Skip("tool messages without tool_call_id")
    return out


def _choice(raw: dict[str, Any], n: int) -> dict[str, Any]:
    choices = raw.get("choices")
    if isinstance(choices, list):
        for i, choice in enumerate(choices):
            if (
                isinstance(choice, dict)
                and choice.get("index", i) == n
                and isinstance(choice.get("message"), dict)
            ):
                return choice
    raise Skip(f"no choice {n}")


def _tools(raw: dict[str, Any]) -> list[dict[str, Any]] | None:
    tools = raw.get("tools")
    if tools is None or tools == []:
        return None
    if not isinstance(tools, list):
        raise Skip("malformed tools")
    out = []
    for tool in tools:
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(tool.get("function"), dict)
        ):
            raise Skip("tools that are not functions")
        fn = tool["function"]
        if not isinstance(fn.get("name"), str):
            raise Skip("malformed tools")
        kept = {k: fn[k] for k in ("name", "description", "parameters", "strict") if fn.get(k) is not None}
        out.append({"type": "function", "function": kept})
    return out


def finetune(raw: Any, inputs: list[Any] | None, opts: Options) -> dict[str, Any]:
    """One training example, or Skip with the reason."""
    if not isinstance(raw, dict):
        raise Skip("malformed completions")
    if inputs is None:
        raise Skip("input messages not stored")
    if not inputs:
        raise Skip("no input messages")
    choice = _choice(raw, opts.choice)
    finish = choice.get("finish_reason")
    msg = choice["message"]
    refusal = msg.get("refusal")
    if finish == "length" and not opts.include_truncated:
        raise Skip("finish_reason length (--include-truncated keeps them)")
    if finish == "content_filter":
        raise Skip("finish_reason content_filter")
    if refusal and not opts.include_refusals:
        raise Skip("refusals (--include-refusals keeps them)")
    messages = [training_message(m) for m in inputs]
    out_msg: dict[str, Any] = {"role": "assistant"}
    content = msg.get("content")
    if refusal and content is None:
        content = refusal  # a refusal kept on purpose: its text is what the model should say
    if content is not None:
        out_msg["content"] = _content(content, "assistant")
    if msg.get("tool_calls"):
        out_msg["tool_calls"] = _tool_calls(msg["tool_calls"])
    if "content" not in out_msg and "tool_calls" not in out_msg:
        raise Skip("outputs without text or tool calls (audio, ...)")
    messages.append(out_msg)
    example: dict[str, Any] = {"messages": messages}
    tools = _tools(raw)
    if tools:
        example["tools"] = tools
        if isinstance(raw.get("parallel_tool_calls"), bool):
            example["parallel_tool_calls"] = raw["parallel_tool_calls"]
    _valid_text(example)
    return example


def _output_text(msg: dict[str, Any]) -> str:
    content = msg.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def evals(raw: Any, inputs: list[Any] | None, opts: Options, completion_id: str) -> dict[str, Any]:
    """One Evals data source line, or Skip with the reason."""
    if not isinstance(raw, dict):
        raise Skip("malformed completions")
    if inputs is None:
        raise Skip("input messages not stored")
    if not all(isinstance(m, dict) for m in inputs):
        raise Skip("malformed input messages")
    choice = _choice(raw, opts.choice)
    msg = choice["message"]
    metadata = raw.get("metadata")
    calls = msg.get("tool_calls")
    item = {
        "id": completion_id,
        "model": raw.get("model") if isinstance(raw.get("model"), str) else None,
        "metadata": metadata if isinstance(metadata, dict) else {},
        "input": [request_form(m) for m in inputs if isinstance(m, dict)],
    }
    sample = {
        "model": item["model"],
        "output_text": _output_text(msg),
        "output_tools": calls if isinstance(calls, list) else [],
        "choices": [choice],
        "finish_reason": choice.get("finish_reason"),
        "usage": raw.get("usage") if isinstance(raw.get("usage"), dict) else None,
    }
    line = {"item": item, "sample": sample}
    _valid_text(line)
    return line


def line(obj: dict[str, Any]) -> str:
    """One JSON Lines line, strict JSON: a non-finite number (which a stored object can hold) is a
    skip here, since neither API reads `NaN` (the CLI's export writes it as a string instead)."""
    import json

    try:
        return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")) + "\n"
    except ValueError:
        raise Skip("non-finite numbers (NaN, Infinity)") from None
