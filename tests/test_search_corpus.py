"""A small purpose-built corpus for the search tests: each completion exists to prove one rule.

Imported by the other search/export/CLI tests (`from test_search_corpus import ...`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer, mark_removed

NOW = 1_780_000_000  # 2026-05-28 20:26:40 UTC; the tests run with TZ=UTC
DAY = 86_400
SHARED_PROMPT = "You are Ava, the support assistant for Acme Outfitters. Be brief and kind."
SHARED_COUNT = 30


def completion(
    cid: str,
    created: int,
    *,
    model: str = "gpt-4o",
    content: str | None = "OK.",
    finish: str = "stop",
    tool_calls: list[tuple[str, str]] | None = None,
    refusal: str | None = None,
    transcript: str | None = None,
    metadata: dict[str, str] | None = None,
    tier: str = "default",
    total_tokens: int = 100,
    logprobs: bool = False,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal, "annotations": []}
    if tool_calls:
        message["content"] = None
        message["tool_calls"] = [
            {"id": f"call_{cid}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(tool_calls)
        ]
    if transcript is not None:
        message["audio"] = {
            "id": f"audio_{cid}",
            "expires_at": created + 3600,
            "data": "UklGRg==",
            "transcript": transcript,
        }
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    if logprobs:
        choice["logprobs"] = {
            "content": [{"token": "OK", "logprob": -0.1, "bytes": [79, 75], "top_logprobs": []}],
            "refusal": None,
        }
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": total_tokens // 2,
            "completion_tokens": total_tokens - total_tokens // 2,
            "total_tokens": total_tokens,
        },
        "service_tier": tier,
        "metadata": metadata or {},
        "request_id": f"req_{cid}",
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def records() -> list[Record]:
    t = NOW - 10 * DAY
    recs = [
        Record(
            completion(
                "chatcmpl-creme",
                t + 1 * DAY,
                model="gpt-4o-mini",
                content="Voici la recette de la Crème brûlée.",
                total_tokens=40,
            ),
            [user("Pouvez-vous me donner la recette de la crème brûlée ?")],
        ),
        Record(
            completion(
                "chatcmpl-ids",
                t + 2 * DAY,
                content="Checked user_4821: order A-8812 ships on gpt-4o-mini servers.",
                total_tokens=300,
            ),
            [user("What happened to my order?")],
        ),
        Record(
            completion(
                "chatcmpl-tokyo", t + 3 * DAY, model="gpt-4.1", content="はい、そうです。", total_tokens=1200
            ),
            [user("東京の天気は晴れです")],
        ),
        Record(
            completion(
                "chatcmpl-tool",
                t + 4 * DAY,
                model="gpt-4.1",
                finish="tool_calls",
                tool_calls=[
                    ("refund_order", '{"order_id": "A-8812", "reason": "damaged parcel"}'),
                    ("notify_customer", "{not json"),
                ],
                metadata={"env": "prod", "user": "user_77"},
                total_tokens=5000,
            ),
            [user("Please refund my damaged parcel")],
        ),
        Record(
            completion(
                "chatcmpl-refusal",
                t + 5 * DAY,
                content=None,
                refusal="I can't help with lockpicking.",
                tier="flex",
                total_tokens=20,
            ),
            [user("How do I pick a lock?")],
        ),
        Record(
            completion(
                "chatcmpl-audio",
                t + 6 * DAY,
                model="gpt-4o-audio-preview",
                content=None,
                transcript="The weather in Paris is sunny today.",
            ),
            [user("Tell me the weather")],
        ),
        Record(
            completion(
                "chatcmpl-sunny",
                t + 6 * DAY + 60,
                content="Sunny skies are expected in Lyon.",
                finish="length",
                metadata={"env": "dev"},
            ),
            [user("Forecast for Lyon?")],
        ),
        Record(
            completion(
                "chatcmpl-deploy",
                t + 7 * DAY,
                content="Deployment finished; deploying the hotfix next.",
                logprobs=True,
            ),
            [user("Status of the zebra release?")],
        ),
        Record(
            completion("chatcmpl-zebra-out", t + 7 * DAY + 60, content="A zebra has stripes."),
            [user("Tell me about horses with stripes")],
        ),
        Record(
            completion("chatcmpl-ai", t + 8 * DAY, content="AI is a broad field; go read about it."),
            [user("What is AI?")],
        ),
        Record(
            completion(
                "chatcmpl-hostile",
                t + 8 * DAY + 60,
                content='Odd text: "quoted" NEAR(a b) AND OR NOT ^x * col:val c++ don\'t a.b \x1b[31m crimson \x1b[0m',
            ),
            [user("hostile?")],
        ),
        Record(
            completion("chatcmpl-removed", t + 9 * DAY, content="This one expired upstream: pineapple."),
            [user("fruit?")],
        ),
    ]
    for i in range(SHARED_COUNT):
        recs.append(
            Record(
                completion(
                    f"chatcmpl-shared{i:02d}",
                    t + i * 3600,
                    model="gpt-4o-mini",
                    content=f"Answer {i}: your invoice is on its way.",
                ),
                [{"role": "system", "content": SHARED_PROMPT}, user(f"Question {i} about invoices")],
            )
        )
    return recs


def build(path: Path) -> sqlite3.Connection:
    conn = open_db(path)
    Writer(conn).write(records())
    mark_removed(conn, ["chatcmpl-removed"])
    return conn


def test_corpus_builds(tmp_path: Path) -> None:
    conn = build(tmp_path / "c.db")
    assert conn.execute("SELECT count(*) FROM completions").fetchone()[0] == 12 + SHARED_COUNT
    # The shared system prompt is stored once.
    assert conn.execute("SELECT count(*) FROM bodies WHERE role = 'system'").fetchone()[0] == 1
