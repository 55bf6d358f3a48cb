"""The generated corpus: deterministic, random access, realistic, valid against the spec, fast."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from emulator_fixtures import NOW, validate_body

from ccbrowser.emulator.corpus import Corpus, store_messages, write_jsonl

SAMPLE = 3000


@pytest.fixture(scope="module")
def sample() -> list[tuple[dict, list[dict]]]:
    corpus = Corpus(SAMPLE, seed=1, now=NOW)
    return [corpus.pair(i) for i in range(SAMPLE)]


def test_same_seed_same_json_and_random_access() -> None:
    a, b = Corpus(500, seed=7, now=NOW), Corpus(500, seed=7, now=NOW)
    for i in (0, 1, 250, 499):
        assert json.dumps(a.pair(i)) == json.dumps(b.pair(i))
    forward = [a.completion(i) for i in range(40)]
    assert [b.completion(i) for i in reversed(range(40))] == forward[::-1]  # order of access is irrelevant
    other = Corpus(500, seed=8, now=NOW)
    assert other.id_of(0) != a.id_of(0) and other.completion(3) != a.completion(3)


def test_ids_look_real_and_decode_without_a_table() -> None:
    corpus = Corpus(1_000_000, seed=3, now=NOW)
    for i in (0, 1, 2, 999_999, 123_456):
        cid = corpus.id_of(i)
        assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", cid)
        assert corpus.index_of(cid) == i
    assert len({corpus.id_of(i) for i in range(5000)}) == 5000
    assert corpus.index_of("chatcmpl-" + "A" * 29) is None
    assert corpus.index_of("chatcmpl-short") is None
    assert corpus.index_of(Corpus(1_000_000, seed=4, now=NOW).id_of(5)) is None  # another seed's id
    assert Corpus(10, seed=3, now=NOW).index_of(corpus.id_of(999_999)) is None  # beyond count


def test_created_ascends_over_thirty_days() -> None:
    corpus = Corpus(1_000_000, seed=1, now=NOW)
    created = [corpus.created(i) for i in range(0, 1_000_000, 997)]
    assert created == sorted(created)
    assert NOW - 30 * 86400 <= corpus.created(0) < NOW - 29 * 86400
    assert NOW - 3600 <= corpus.created(999_999) < NOW
    small = Corpus(1000, seed=1, now=NOW)
    assert [small.created(i) for i in range(1000)] == sorted(small.created(i) for i in range(1000))
    # several per second happen in big corpora: ties are allowed
    big = Corpus(10_000_000, seed=1, now=NOW)
    assert len({big.created(i) for i in range(5_000_000, 5_000_200)}) < 200


def test_default_now_is_this_hour() -> None:
    corpus = Corpus(10)
    assert corpus.now % 3600 == 0 and time.time() - 3600 <= corpus.now <= time.time()


def test_variety(sample: list[tuple[dict, list[dict]]]) -> None:
    seen: Counter[str] = Counter()
    text = []
    for comp, msgs in sample:
        seen["model:" + comp["model"]] += 1
        seen["tier:" + comp["service_tier"]] += 1
        seen["n>1"] += len(comp["choices"]) > 1
        seen["hist>20"] += len(msgs) > 20
        seen["hist>100"] += len(msgs) > 100
        seen["md_env"] += bool(comp["metadata"]) and comp["metadata"].get("env") in ("prod", "staging", "dev")
        for key in (
            "request_id",
            "seed",
            "temperature",
            "top_p",
            "tools",
            "tool_choice",
            "input_user",
            "response_format",
            "system_fingerprint",
        ):
            assert key in comp
        for ch in comp["choices"]:
            seen["finish:" + ch["finish_reason"]] += 1
            msg = ch["message"]
            seen["refusal"] += bool(msg.get("refusal"))
            seen["audio"] += bool(msg.get("audio") and msg["audio"]["transcript"])
            seen["annotations"] += bool(msg.get("annotations"))
            seen["top_logprobs"] += bool(ch["logprobs"] and ch["logprobs"]["content"][0]["top_logprobs"])
            calls = msg.get("tool_calls") or []
            seen["parallel"] += len(calls) > 1
            for call in calls:
                seen["type:" + call["type"]] += 1
                if call["type"] == "function":
                    seen["fn:" + call["function"]["name"]] += 1
                    try:
                        json.loads(call["function"]["arguments"])
                    except ValueError:
                        seen["invalid_args"] += 1
        for m in msgs:
            seen["role:" + m["role"]] += 1
            seen["parts"] += bool(m["content_parts"])
            seen["long"] += len(m["content"] or "") > 20_000
            text.append(m["content"] or "")
    for model in (
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "o4-mini",
        "gpt-4o-audio-preview",
        "gpt-4o-2024-08-06",
    ):
        assert seen["model:" + model] > 0, model
    for key in (
        "tier:default",
        "tier:flex",
        "tier:priority",
        "n>1",
        "hist>20",
        "hist>100",
        "refusal",
        "audio",
        "annotations",
        "top_logprobs",
        "parallel",
        "type:custom",
        "invalid_args",
        "fn:refund_order",
        "fn:get_weather",
        "fn:search_docs",
        "fn:create_ticket",
        "finish:stop",
        "finish:length",
        "finish:tool_calls",
        "finish:content_filter",
        "role:system",
        "role:developer",
        "role:user",
        "role:assistant",
        "role:tool",
        "parts",
        "long",
    ):
        assert seen[key] > 0, key
    assert seen["md_env"] > SAMPLE * 0.8
    assert SAMPLE * 0.003 <= seen["hist>100"] <= SAMPLE * 0.03
    blob = "\n".join(text)
    for needle in ("Crème brûlée".lower(), "東京の天気は晴れです", "请", "مرحبا", "A-8812", "München"):
        assert needle in blob.lower() or needle in blob, needle
    # Zipf-like vocabulary: very common words and a long tail of rare ones
    words = Counter(w for w in re.findall(r"[a-z]+", blob.lower()))
    ranked = words.most_common()
    assert ranked[0][1] > 100 * ranked[len(ranked) // 2][1]
    assert sum(1 for _, n in ranked if n <= 3) > 50


def test_every_object_validates_against_the_spec(sample: list[tuple[dict, list[dict]]]) -> None:
    for comp, msgs in sample[:600]:
        validate_body("CreateChatCompletionResponse", comp)
        validate_body(
            "ChatCompletionMessageList",
            {
                "object": "list",
                "data": msgs,
                "first_id": msgs[0]["id"],
                "last_id": msgs[-1]["id"],
                "has_more": False,
            },
        )


def test_the_validator_is_not_vacuous() -> None:
    comp, msgs = Corpus(3, seed=1, now=NOW).pair(0)
    broken = {**comp, "choices": [{**comp["choices"][0], "finish_reason": "bored"}]}
    with pytest.raises(AssertionError):
        validate_body("CreateChatCompletionResponse", broken)
    with pytest.raises(AssertionError):
        validate_body("CreateChatCompletionResponse", {k: v for k, v in comp.items() if k != "model"})
    with pytest.raises(AssertionError):
        validate_body(
            "ChatCompletionMessageList",
            {
                "object": "list",
                "data": [{"id": "x", "role": "robot"}],
                "first_id": "x",
                "last_id": "x",
                "has_more": False,
            },
        )


def test_store_messages_shape() -> None:
    msgs = store_messages(
        "chatcmpl-x",
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "{}"},
        ],
    )
    assert msgs[0]["id"] == "chatcmpl-x-0" and msgs[0]["content"] == "what is this?"
    assert [p["type"] for p in msgs[0]["content_parts"]] == ["text", "image_url"]
    assert msgs[1]["tool_call_id"] == "call_1" and msgs[1]["content_parts"] is None


def test_write_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    assert write_jsonl(path, 50, seed=2, now=NOW) == 50
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50
    first = json.loads(lines[0])
    comp, msgs = Corpus(50, seed=2, now=NOW).pair(0)
    assert first == {"completion": comp, "input_messages": msgs}
