"""A corpus of hostile completions: everything the store must keep losslessly."""

from __future__ import annotations

from typing import Any

ESCAPES = "\x1b]52;c;cHduZWQ=\x07 \x1b]0;pwned\x07 \x1b[2J \x9b31m"
MARKUP = "[/] [@click=app.quit]x[/] [bold red]loud[/]"


def completion(cid: str, created: int, content: Any, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        "metadata": {},
    }
    obj.update(extra)
    return obj


def hostile_records() -> list[tuple[dict[str, Any], list[dict[str, Any]] | None]]:
    """(completion, input messages) pairs covering every trap we know of."""
    big = "lorem ipsum dolor " * (5 * 1024 * 1024 // 18)
    bad_args = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_bad",
                "type": "function",
                "function": {"name": "refund_order", "arguments": '{"order_id": "A-88'},
            },
            {
                "id": "call_obj",
                "type": "function",
                "function": {"name": "weird", "arguments": {"not": "a string"}},
            },
            {"id": "call_custom", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}},
        ],
    }
    out: list[tuple[dict[str, Any], list[dict[str, Any]] | None]] = [
        (
            completion("chatcmpl-surrogate", 1_700_000_001, "lone \ud800 high and \udfff low"),
            [{"id": "chatcmpl-surrogate-0", "role": "user", "content": "a \udc00 b"}],
        ),
        (
            completion("chatcmpl-nul", 1_700_000_002, "before\x00after"),
            [{"id": "chatcmpl-nul-0", "role": "user", "content": "nul\x00inside"}],
        ),
        (
            completion("chatcmpl-big", 1_700_000_003, big),
            [{"id": "chatcmpl-big-0", "role": "user", "content": big}],
        ),
        (
            completion(
                "chatcmpl-badargs",
                1_700_000_004,
                None,
                choices=[{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": bad_args}],
            ),
            None,
        ),
        (
            completion(
                "chatcmpl-unknown",
                1_700_000_005,
                "fine",
                future_field={"nested": [1, 2.5, None, True, "x"]},
                request_id="req_123",
                seed=4944116822809979520,
                temperature=1.0,
            ),
            [
                {
                    "id": "chatcmpl-unknown-0",
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    ],
                    "brand_new": 1,
                }
            ],
        ),
        (
            {
                "id": "chatcmpl-nulls",
                "object": None,
                "created": None,
                "model": None,
                "choices": [
                    {"index": None, "finish_reason": None, "message": None, "logprobs": "unknown"},
                    None,
                ],
                "usage": None,
                "metadata": None,
                "service_tier": None,
            },
            [{"id": "chatcmpl-nulls-0", "role": None, "content": None}],
        ),
        (
            completion(
                "chatcmpl-markup",
                1_700_000_007,
                MARKUP + " " + ESCAPES,
                metadata={"env": "[b]prod[/b]", "x": ESCAPES},
            ),
            [
                {"id": "chatcmpl-markup-0", "role": "system", "content": ESCAPES},
                {"id": "chatcmpl-markup-1", "role": "user", "content": MARKUP},
            ],
        ),
        (
            completion(
                "chatcmpl-types", 1_700_000_008, "x", choices="not a list", usage=[1, 2], metadata=["a"]
            ),
            None,
        ),
        (completion("chatcmpl-unicode", 1_700_000_009, "Crème brûlée 東京の天気は晴れです 🎉 مرحبا"), []),
    ]
    return out
