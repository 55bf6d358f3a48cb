"""The API models against the official spec: its examples parse, survive the store, and validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spec import response_examples

from ccbrowser.api.models import ChatCompletion, CompletionList, Deleted, MessageList
from ccbrowser.store import open_db, reader
from ccbrowser.store.writer import Record, Writer

EXAMPLES = response_examples()


def test_the_spec_has_examples_for_every_endpoint() -> None:
    kinds = {(p, m) for p, m, _ in EXAMPLES}
    assert ("/chat/completions", "get") in kinds
    assert ("/chat/completions/{completion_id}", "get") in kinds
    assert ("/chat/completions/{completion_id}/messages", "get") in kinds


@pytest.mark.parametrize(
    "path,method,obj", EXAMPLES, ids=[f"{m} {p} {i}" for i, (p, m, _) in enumerate(EXAMPLES)]
)
def test_examples_parse(path: str, method: str, obj: dict) -> None:
    # The spec's own examples carry nulls and omissions its schemas forbid (`tool_calls: null`, no
    # `refusal`): exactly why the models are lenient. They must parse without losing anything.
    if obj.get("object") == "list" and path.endswith("/messages"):
        parsed = MessageList.model_validate(obj)
        assert parsed.data == obj["data"]
    elif obj.get("object") == "list":
        env = CompletionList.model_validate(obj)
        assert env.last_id == obj["last_id"] and env.has_more == obj["has_more"]
        for item in env.data:
            c = ChatCompletion.model_validate(item)
            assert c.id == item["id"] and c.model == item["model"]
    elif obj.get("object") == "chat.completion.deleted":
        assert Deleted.model_validate(obj).deleted is True
    else:
        c = ChatCompletion.model_validate(obj)
        assert c.id == obj["id"] and c.created == obj["created"]
        assert c.choices is not None and len(c.choices) == len(obj["choices"])
        # Fields the models do not name are kept, not dropped.
        named = set(ChatCompletion.model_fields)
        assert set(c.model_extra or {}) == set(obj) - named
        usage = obj.get("usage") or {}
        if usage:
            assert c.usage is not None and c.usage.total_tokens == usage["total_tokens"]


def test_every_example_completion_round_trips_through_the_store(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "db.sqlite")
    completions = []
    for _p, _m, obj in EXAMPLES:
        if obj.get("object") == "list" and obj["data"] and "choices" in obj["data"][0]:
            completions.extend(obj["data"])
        elif obj.get("object") == "chat.completion":
            completions.append(obj)
    assert len(completions) >= 4
    Writer(conn).write([Record(c) for c in completions])
    last = {c["id"]: c for c in completions}  # examples reuse ids: the last write wins
    for c in last.values():
        assert json.loads(reader.get_raw(conn, c["id"]) or "null") == c


def test_lenient_models_survive_wrong_shapes() -> None:
    c = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": None,
            "created": "yesterday",
            "choices": [
                {"message": None, "logprobs": "unknown", "finish_reason": None},
                {"message": {"annotations": "x", "audio": 5}},
            ],
            "usage": [1],
            "metadata": None,
            "brand_new": {"a": 1},
        }
    )
    assert c.created is None and c.usage is None and c.model_extra == {"brand_new": {"a": 1}}
    assert c.choices is not None and c.choices[0].message is None and c.choices[1].message is not None
    assert c.choices[1].message.annotations is None and c.choices[1].message.audio is None


def test_tool_call_accessors_cover_function_and_custom_calls() -> None:
    from ccbrowser.api.models import ToolCall

    f = ToolCall.model_validate(
        {"id": "1", "type": "function", "function": {"name": "refund_order", "arguments": "{}"}}
    )
    c = ToolCall.model_validate({"id": "2", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}})
    assert (f.name, f.arguments, c.name, c.arguments) == ("refund_order", "{}", "sql", "SELECT 1")


def test_every_example_completion_passes_the_sync_boundary() -> None:
    from ccbrowser.api.models import ListedCompletion

    completions = [
        item
        for _p, _m, obj in EXAMPLES
        for item in (obj.get("data") or [] if obj.get("object") == "list" else [obj])
        if isinstance(item, dict) and item.get("object") == "chat.completion"
    ]
    assert len(completions) >= 4
    for c in completions:
        checked = ListedCompletion.model_validate(c)
        assert checked.id == c["id"] and checked.created == c["created"]
        assert set(checked.model_extra or {}) == set(c) - set(ListedCompletion.model_fields)


def test_the_sync_boundary_is_lenient_about_shapes_strict_about_keys_and_integers() -> None:
    from pydantic import ValidationError

    from ccbrowser.api.models import ListedCompletion

    c = ListedCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "created": 1.7e9,
            "model": 5,
            "usage": {"prompt_tokens": "12", "total_tokens": True, "prompt_tokens_details": []},
            "choices": [None, "x", {"index": 2, "finish_reason": {"odd": 1}}],
            "brand_new": [1],
        }
    )
    assert c.created == 1_700_000_000 and c.model is None and c.model_extra == {"brand_new": [1]}
    assert c.usage is not None and c.usage.prompt_tokens is None and c.usage.total_tokens == 1
    assert c.choices is not None and c.choices[2] is not None and c.choices[2].finish_reason is None
    for bad in (
        {"id": None},
        {"id": "a\x00b"},
        {"id": "a", "created": True},
        {"id": "a", "created": -(2**63) - 1},
        {"id": "a", "usage": {"completion_tokens_details": {"reasoning_tokens": 2**63}}},
    ):
        with pytest.raises(ValidationError):
            ListedCompletion.model_validate(bad)
    ListedCompletion.model_validate({"id": "a", "created": -(2**63), "usage": {"total_tokens": 2**63 - 1}})
