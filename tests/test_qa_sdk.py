"""The official `openai` SDK's everyday calls against the emulator: streaming, structured outputs, n > 1.

Each response is checked against the OpenAPI description (stream chunks too), and what the SDK
created is then synced and compared with what the store holds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import openai
import pytest
from emulator_fixtures import Capture, openai_client, relaxed_spec, schema_for, validate_body
from pydantic import BaseModel
from test_sync import KEY, NOW, local, settings_for, sync, upstream

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import RunningEmulator, run_in_thread

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}
QUESTION: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "東京の天気は？ 🌦"}]


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with run_in_thread(EmulatorOptions(count=20, seed=3, now=NOW, api_key=KEY)) as running:
        yield running


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every JSON body the test's clients saw, validated against the spec at the end (streams: sse_chunks)."""
    cap = Capture()
    yield cap
    for method, path, status, body in cap.seen:
        name = schema_for(method, path, status)
        if name is not None and not _is_sse(body):
            validate_body(name, body)


def _is_sse(body: Any) -> bool:
    return isinstance(body, str) and body.startswith("data: ")


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema (the stream chunk schema is written with it)."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        elif "$ref" in node:
            node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
    return node


@cache
def _chunk_validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    spec = _nullable_to_json_schema(copy.deepcopy(relaxed_spec()))
    registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
    ref = {"$ref": "urn:spec#/components/schemas/CreateChatCompletionStreamResponse"}
    return Draft202012Validator(ref, registry=registry)


def sse_chunks(capture: Capture) -> list[list[dict[str, Any]]]:
    """Every captured event stream as its chunks, each validated against the spec; ends with [DONE]."""
    streams = []
    for _, _, status, body in capture.seen:
        if not _is_sse(body):
            continue
        assert status == 200
        events = [line[len("data: ") :] for line in body.split("\n\n") if line]
        assert events[-1] == "[DONE]" and "[DONE]" not in events[:-1]
        chunks = [json.loads(e) for e in events[:-1]]
        for c in chunks:
            errors = list(_chunk_validator().iter_errors(c))
            assert not errors, (errors[0].message, list(errors[0].absolute_path), c)
        streams.append(chunks)
    return streams


def test_stream_with_usage_reassembles_to_the_stored_completion(
    emu: RunningEmulator, capture: Capture
) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        store=True,
        stream=True,
        stream_options={"include_usage": True},
        metadata={"env": "stream"},
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert all(c.usage is None for c in body) and len(body) > 3
    assert body[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in body][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in body[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in body)

    stored = client.chat.completions.retrieve(chunks[0].id)
    assert stored.choices[0].message.content == text and "東京の天気は？ 🌦" in text
    assert stored.usage == last.usage and stored.metadata == {"env": "stream"}
    [raw] = sse_chunks(capture)
    assert "usage" in raw[0] and raw[0]["usage"] is None  # the key is sent, null, as the API does


def test_stream_without_usage_sends_no_usage_key(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=QUESTION, stream=True))
    assert chunks and all(c.choices for c in chunks)
    [raw] = sse_chunks(capture)
    assert all("usage" not in c for c in raw)
    with pytest.raises(openai.NotFoundError):  # not stored without store=true
        client.chat.completions.retrieve(chunks[0].id)


def test_stream_helper_rebuilds_tool_calls_and_n_choices(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    with client.chat.completions.stream(
        model="gpt-4.1", messages=QUESTION, tools=[WEATHER], store=True, n=2
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in events
    stored = client.chat.completions.retrieve(final.id)
    assert len(final.choices) == len(stored.choices) == 2
    for got, want in zip(final.choices, stored.choices, strict=True):
        assert got.finish_reason == want.finish_reason == "tool_calls"
        [call] = got.message.tool_calls or []
        [stored_call] = want.message.tool_calls or []
        assert (call.id, call.type) == (stored_call.id, stored_call.type)
        assert call.function.model_dump(include={"name", "arguments"}) == stored_call.function.model_dump()  # type: ignore[union-attr]
        assert set(json.loads(stored_call.function.arguments)) == {"city", "days"}  # type: ignore[union-attr]
    [raw] = sse_chunks(capture)
    assert {c["choices"][0]["index"] for c in raw} == {0, 1}


def test_stream_options_without_stream_is_refused(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, stream_options={"include_usage": True}
        )
    assert err.value.param == "stream_options"


class City(BaseModel):
    name: str
    population: int | None


class Trip(BaseModel):
    title: str
    days: int
    cities: list[City]
    kind: str = "leisure"


def test_structured_outputs_follow_the_schema(emu: RunningEmulator, capture: Capture) -> None:
    from jsonschema import Draft202012Validator

    client = openai_client(emu.base_url, capture, api_key=KEY)
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tier": {"type": "string", "enum": ["gold", "silver"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age", "tier", "tags"],
        "additionalProperties": False,
    }
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": schema}}
    reply = client.chat.completions.create(model="gpt-4o", messages=QUESTION, response_format=fmt, store=True)
    content = json.loads(reply.choices[0].message.content or "")
    Draft202012Validator(schema).validate(content)
    assert set(content) == {"name", "age", "tier", "tags"}

    parsed = client.chat.completions.parse(model="gpt-4o", messages=QUESTION, response_format=Trip)
    trip = parsed.choices[0].message.parsed
    assert isinstance(trip, Trip) and trip.cities and isinstance(trip.cities[0], City)  # $defs resolved

    obj = client.chat.completions.create(
        model="gpt-4o", messages=QUESTION, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(obj.choices[0].message.content or ""), dict)


def test_a_tool_result_reply_answers_the_question(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    first = client.chat.completions.create(model="gpt-4.1", messages=QUESTION, tools=[WEATHER])
    [call] = first.choices[0].message.tool_calls or []
    messages: Any = [
        *QUESTION,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "rain, 12 C"},
    ]
    reply = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=[WEATHER])
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop"
    assert "rain, 12 C" in text and "東京の天気は？ 🌦" in text


def test_sync_mirrors_what_the_sdk_created_updated_and_deleted(
    emu: RunningEmulator, capture: Capture, db_path: Path
) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    made = [
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, store=True).id,
        client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, store=True, n=2, metadata={"env": "qa", "run": "7"}
        ).id,
        client.chat.completions.create(model="gpt-4.1", messages=QUESTION, tools=[WEATHER], store=True).id,
    ]
    with client.chat.completions.stream(
        model="gpt-4o", messages=QUESTION, store=True, stream_options={"include_usage": True}
    ) as stream:
        made.append(stream.get_final_completion().id)
    assert len(set(made)) == 4
    listed = [c.id for c in client.chat.completions.list(metadata={"env": "qa"})]
    assert listed == [made[1]]
    sync(db_path, settings_for(emu))
    stored = local(db_path)
    assert set(made) <= set(stored)

    client.chat.completions.update(made[0], metadata={"reviewed": "yes"})
    assert client.chat.completions.delete(made[2]).deleted
    sync(db_path, settings_for(emu), full=True)
    stored, up = local(db_path), upstream(emu.state)
    assert set(stored) - set(up) == {made[2]} and stored[made[2]][3] is True  # kept, marked removed
    for cid, (raw, messages) in up.items():
        assert stored[cid][0] == raw and stored[cid][1] == messages and stored[cid][3] is False
    assert stored[made[0]][0]["metadata"] == {"reviewed": "yes"}
    assert (
        stored[made[3]][1]
        == client.chat.completions.messages.list(made[3]).model_dump(exclude_unset=True)["data"]
    )


def test_created_ids_differ_between_runs_while_replies_stay_the_same(capture: Capture) -> None:
    made = []
    for _ in range(2):
        with run_in_thread(EmulatorOptions(count=5, seed=3, now=NOW, api_key=KEY)) as running:
            client = openai_client(running.base_url, capture, api_key=KEY)
            made.append(client.chat.completions.create(model="gpt-4o", messages=QUESTION, store=True))
    assert made[0].id != made[1].id  # a restarted emulator never reuses an id a database may hold
    assert made[0].id.startswith("chatcmpl-") and len(made[0].id) == len(made[1].id) == 38
    assert made[0].choices[0].message.content == made[1].choices[0].message.content


def test_logprobs_are_returned_and_stored_when_asked(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    reply = client.chat.completions.create(
        model="gpt-4o", messages=QUESTION, store=True, logprobs=True, top_logprobs=3
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.content
    assert "".join(t.token for t in logprobs.content) == reply.choices[0].message.content
    assert all(len(t.top_logprobs) == 3 and t.top_logprobs[0].token == t.token for t in logprobs.content)
    assert all(t.logprob <= 0 and bytes(t.bytes or []) == t.token.encode() for t in logprobs.content)
    assert client.chat.completions.retrieve(reply.id).choices[0].logprobs == logprobs
    plain = client.chat.completions.create(model="gpt-4o", messages=QUESTION)
    assert plain.choices[0].logprobs is None


@pytest.mark.parametrize(
    "metadata,param",
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata"),
        ({"k" * 65: "v"}, "metadata"),
        ({"note": "x" * 513}, "metadata.note"),
    ],
)
def test_metadata_beyond_the_api_limits_is_refused_at_create(
    emu: RunningEmulator, capture: Capture, metadata: dict[str, str], param: str
) -> None:
    client = openai_client(emu.base_url, capture, api_key=KEY)
    before = emu.state.total()
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o", messages=QUESTION, store=True, metadata=metadata)
    assert err.value.param == param and emu.state.total() == before
    ok = {f"k{i}": "v" * 512 for i in range(16)}
    made = client.chat.completions.create(model="gpt-4o", messages=QUESTION, store=True, metadata=ok)
    assert client.chat.completions.retrieve(made.id).metadata == ok
