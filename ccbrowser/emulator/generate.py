"""The fake model behind ``POST /chat/completions``: replies derived from the request alone."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from ccbrowser.emulator.corpus import CITIES, JSON, Corpus, TextGen


def digest(obj: Any) -> int:
    raw = json.dumps(obj, sort_keys=True, ensure_ascii=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def _resolve(schema: JSON, root: JSON) -> JSON:
    """Follow a local ``$ref`` (``#``, ``#/$defs/X``, ``#/definitions/X``) and take the first non-null
    branch of ``anyOf``/``oneOf``, as pydantic's schemas (``client.chat.completions.parse``) need."""
    for _ in range(8):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target: Any = root
            for part in [p for p in ref[1:].split("/") if p]:
                target = target.get(part) if isinstance(target, dict) else None
            schema = target if isinstance(target, dict) else {}
            continue
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            typed = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
            schema = typed[0] if typed else {}
            continue
        break
    return schema


def _fake_value(g: TextGen, name: str, schema: JSON, root: JSON | None = None, depth: int = 0) -> Any:
    rng = g.rng
    if root is not None:
        schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    lname = name.lower()
    if kind == "integer":
        return rng.randint(1, 10)
    if kind == "number":
        return round(rng.uniform(1, 500), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        if depth > 6:
            return []
        return [_fake_value(g, name, schema.get("items") or {"type": "string"}, root, depth + 1)]
    if kind == "object":
        return {} if depth > 6 else _fake_args(g, schema, root, depth + 1)
    if "order" in lname:
        return g.order_id()
    if lname in ("location", "city", "place"):
        return rng.choice(CITIES)
    return g.words(2)


def _fake_args(g: TextGen, schema: JSON, root: JSON | None = None, depth: int = 0) -> JSON:
    if root is not None:
        schema = _resolve(schema, root)
    props = schema.get("properties") or {}
    return {k: _fake_value(g, k, v if isinstance(v, dict) else {}, root, depth) for k, v in props.items()}


def _json_reply(g: TextGen, response_format: Any) -> str | None:
    """The content a JSON ``response_format`` asks for: an instance of its schema, or an object."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return json.dumps({"answer": g.sentence()}, ensure_ascii=False)
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        return json.dumps({}, ensure_ascii=False)
    return json.dumps(_fake_value(g, "", schema, schema), ensure_ascii=False)


def _text_of(m: JSON) -> str:
    c = m.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _text_reply(g: TextGen, msgs: list[Any]) -> str:
    """Prose that quotes the question; after a tool result, the user's question it answers."""
    last = msgs[-1] if msgs and isinstance(msgs[-1], dict) else {}
    if last.get("role") == "tool":
        user = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
        result = " ".join(_text_of(last).split())[:80]
        asked = " ".join(_text_of(user[-1]).split())[:80] if user else ""
        prefix = f"Going by the tool result {result}, to \u201c{asked}\u201d: " if asked else ""
        return prefix + g.para(1, 3)
    asked = " ".join(_text_of(last).split())[:80]
    prefix = f"You asked: \u201c{asked}\u201d. " if asked else ""
    return prefix + g.para(1, 3)


def fake_completion(body: JSON, completion_id: str, created: int) -> JSON:
    """A deterministic reply to a create request: same request, same reply.

    With ``tools`` (and ``tool_choice`` not ``none``) and a last message that is not a tool result,
    the reply calls a tool with arguments made from its JSON schema; otherwise it is text, or, with
    a JSON ``response_format``, an instance of its schema (what ``chat.completions.parse`` needs).
    ``stream=True`` sends the same reply as chunks (``stream_chunks``).
    """
    msgs = body.get("messages") or []
    g = TextGen(random.Random(digest([body.get("model"), msgs, body.get("tools")])))
    tools = [t for t in (body.get("tools") or []) if isinstance(t, dict)]
    choice = body.get("tool_choice")
    n = int(body.get("n") or 1)
    last = msgs[-1] if msgs else {}
    choices = []
    completion_tokens = 0
    for idx in range(n):
        message: JSON = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        logprobs: JSON | None = None
        finish = "stop"
        if tools and choice != "none" and last.get("role") != "tool":
            pick = tools[0]
            if isinstance(choice, dict):
                wanted = (choice.get("function") or choice.get("custom") or {}).get("name")
                pick = next(
                    (t for t in tools if (t.get("function") or t.get("custom") or {}).get("name") == wanted),
                    pick,
                )
            call_id = g.call_id()
            if pick.get("type") == "custom":
                call: JSON = {
                    "id": call_id,
                    "type": "custom",
                    "custom": {"name": pick["custom"].get("name", "tool"), "input": g.words(6)},
                }
            else:
                fn = pick.get("function") or {}
                params: JSON = fn["parameters"] if isinstance(fn.get("parameters"), dict) else {}
                args = _fake_args(g, params, params)
                call = {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": fn.get("name", "tool"),
                        "arguments": json.dumps(args, ensure_ascii=False),
                    },
                }
            message["tool_calls"] = [call]
            finish = "tool_calls"
            completion_tokens += 20
        else:
            text = _json_reply(g, body.get("response_format")) or _text_reply(g, msgs)
            max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
            if isinstance(max_tokens, int) and max_tokens > 0 and len(text) // 4 + 1 > max_tokens:
                text = text[: max_tokens * 4]
                finish = "length"
            message["content"] = text
            completion_tokens += len(text) // 4 + 1
            if body.get("logprobs") is True:
                top_raw = body.get("top_logprobs")
                top = top_raw if isinstance(top_raw, int) else 0
                logprobs = {"content": Corpus._logprobs(g, text, max(0, min(20, top))), "refusal": None}
        choices.append({"index": idx, "message": message, "logprobs": logprobs, "finish_reason": finish})
    prompt_tokens = sum(len(_text_of(m)) // 4 + 4 for m in msgs if isinstance(m, dict))
    tier = body.get("service_tier")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": tier if tier in ("flex", "priority", "scale") else "default",
        "system_fingerprint": "fp_emulator01",
    }
