"""``stream: true``: a completion as chat.completion.chunk server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from ccbrowser.emulator.corpus import JSON
from ccbrowser.emulator.responses import dumps


def _pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of about ``size`` characters at word ends (what a token stream looks like)."""
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.find(" ", end)
        if 0 <= space < start + 4 * size:
            end = space + 1
        out.append(text[start:end])
        start = end
    return out


def stream_chunks(comp: JSON, include_usage: bool) -> list[JSON]:
    """The ``chat.completion.chunk`` objects that stream ``comp``, as the API sends them.

    Per choice: a first chunk with the role (and empty content), the content or each tool call
    (its id, type and name first, then its arguments in pieces), then an empty delta with the
    finish reason. With ``include_usage`` every chunk carries ``usage: null`` and one more chunk,
    with no choices, carries the usage.
    """
    head: JSON = {
        k: comp[k] for k in ("id", "created", "model", "service_tier", "system_fingerprint") if k in comp
    }
    head["object"] = "chat.completion.chunk"

    def chunk(index: int, delta: JSON, finish: str | None = None) -> JSON:
        out: JSON = {
            **head,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    chunks: list[JSON] = []
    for c in comp.get("choices") or []:
        idx, msg = c["index"], c["message"]
        calls = msg.get("tool_calls") or []
        first: JSON = {"role": "assistant", "content": None if calls else "", "refusal": None}
        chunks.append(chunk(idx, first))
        for piece in _pieces(msg.get("content") or "", 12):
            chunks.append(chunk(idx, {"content": piece}))
        for k, call in enumerate(calls):
            if call.get("type") != "function":
                chunks.append(chunk(idx, {"tool_calls": [{"index": k, **call}]}))
                continue
            fn = call["function"]
            opening = {"name": fn["name"], "arguments": ""}
            chunks.append(
                chunk(
                    idx,
                    {"tool_calls": [{"index": k, "id": call["id"], "type": "function", "function": opening}]},
                )
            )
            for piece in _pieces(fn.get("arguments") or "", 8):
                chunks.append(chunk(idx, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}))
        chunks.append(chunk(idx, {}, c.get("finish_reason")))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": comp.get("usage")})
    return chunks


def sse(chunks: list[JSON]) -> Response:
    """Server-sent events: one ``data:`` line per chunk, then ``data: [DONE]``."""

    async def events() -> AsyncIterator[bytes]:
        for c in chunks:
            yield b"data: " + dumps(c) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
