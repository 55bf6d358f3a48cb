"""The emulator over a real socket, driven by the official `openai` SDK; every body checked against the spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from emulator_fixtures import KEY, NOW, Capture, openai_client

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import RunningEmulator, run_in_thread

COUNT = 1000


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    """A read-only emulator shared by the tests that do not change the upstream."""
    with run_in_thread(EmulatorOptions(count=COUNT, seed=1, now=NOW, api_key=KEY)) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[RunningEmulator]:
    """An emulator of its own, for tests that update, delete or create."""
    with run_in_thread(EmulatorOptions(count=300, seed=1, now=NOW, api_key=KEY)) as running:
        yield running


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Captures the bodies a test's clients see and validates them all against the spec at the end."""
    cap = Capture()
    yield cap
    assert cap.validate_all() == sum(1 for _ in cap.seen)


def test_list_auto_pagination_yields_everything_once_in_both_orders(
    emu: RunningEmulator, capture: Capture
) -> None:
    client = openai_client(emu.base_url, capture)
    expected = emu.state.snapshot_ids()
    asc = [c.id for c in client.chat.completions.list()]  # default limit 20: 50 pages
    assert len(asc) == COUNT and len(set(asc)) == COUNT
    assert asc == expected
    desc = [c.id for c in client.chat.completions.list(order="desc", limit=100)]
    assert desc == expected[::-1]
    created = [emu.state.corpus.created(emu.state.corpus.index_of(i) or 0) for i in asc]
    assert created == sorted(created)
    assert NOW - 30 * 86400 <= created[0] and created[-1] < NOW


def test_list_pages_and_envelope(emu: RunningEmulator, capture: Capture) -> None:
    http = capture.client(base_url=emu.base_url, headers={"Authorization": f"Bearer {KEY}"})
    first = http.get("/chat/completions").json()
    assert first["object"] == "list" and len(first["data"]) == 20 and first["has_more"] is True
    assert first["first_id"] == first["data"][0]["id"] and first["last_id"] == first["data"][-1]["id"]
    last = http.get("/chat/completions", params={"limit": 100, "order": "desc"}).json()
    tail = http.get("/chat/completions", params={"after": last["data"][0]["id"], "limit": 5}).json()
    assert tail["data"] == [] and tail["has_more"] is False and tail["first_id"] is None


def test_model_and_metadata_filters(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture)
    corpus = emu.state.corpus
    headers = [corpus.header(i) for i in range(COUNT)]
    got = [c.id for c in client.chat.completions.list(model="gpt-4o", limit=100)]
    assert got == [corpus.id_of(h.index) for h in headers if h.model == "gpt-4o"]
    assert 50 < len(got) < COUNT
    md = {"env": "prod", "feature": "support-chat"}
    got_md = list(client.chat.completions.list(metadata=md, limit=100))
    want = [corpus.id_of(h.index) for h in headers if all(h.metadata.get(k) == v for k, v in md.items())]
    assert [c.id for c in got_md] == want and len(want) > 5
    assert all(c.metadata is not None and c.metadata["env"] == "prod" for c in got_md)
    none = list(client.chat.completions.list(model="no-such-model"))
    assert none == []


def test_retrieve_is_the_corpus_object(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture)
    corpus = emu.state.corpus
    for i in (0, 1, 417, COUNT - 1):
        raw = client.chat.completions.with_raw_response.retrieve(corpus.id_of(i))
        assert raw.http_response.json() == corpus.completion(i)
        assert raw.parse().id == corpus.id_of(i)


def _index_with_history(emu: RunningEmulator, lo: int, hi: int = 10_000) -> int:
    corpus = emu.state.corpus
    for i in range(corpus.count):
        if lo < len(corpus.record(i)[1]) <= hi:
            return i
    pytest.fail(f"no completion with {lo}..{hi} input messages")


@pytest.mark.parametrize("lo,hi", [(20, 60), (100, 1000)])
def test_messages_paginate(emu: RunningEmulator, capture: Capture, lo: int, hi: int) -> None:
    client = openai_client(emu.base_url, capture)
    i = _index_with_history(emu, lo, hi)
    cid = emu.state.corpus.id_of(i)
    expected = emu.state.corpus.input_messages(i)
    before = emu.state.requests("messages")
    items = list(client.chat.completions.messages.list(cid))  # default page size 20
    pages = emu.state.requests("messages") - before
    assert pages == -(-len(expected) // 20)
    assert [m.id for m in items] == [f"{cid}-{n}" for n in range(len(expected))]
    assert [m.model_dump(exclude_unset=True) for m in items] == expected
    desc = [m.id for m in client.chat.completions.messages.list(cid, order="desc", limit=7)]
    assert desc == [m["id"] for m in reversed(expected)]


def test_messages_content_parts_and_tool_calls(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture)
    corpus = emu.state.corpus
    seen_parts = seen_tool = False
    for i in range(COUNT):
        msgs = corpus.record(i)[1]
        has_parts = any(isinstance(m.get("content"), list) for m in msgs)
        has_tool = any(m["role"] == "tool" for m in msgs)
        if (has_parts and not seen_parts) or (has_tool and not seen_tool):
            items = list(client.chat.completions.messages.list(corpus.id_of(i), limit=100))
            for m in items:
                if m.content_parts:
                    seen_parts = True
                    assert {p.type for p in m.content_parts} <= {"text", "image_url"}
                if m.role == "tool":  # type: ignore[comparison-overlap]
                    seen_tool = True
                    assert getattr(m, "tool_call_id", None)
        if seen_parts and seen_tool:
            break
    assert seen_parts and seen_tool


def test_update_delete_create(fresh: RunningEmulator, capture: Capture) -> None:
    client = openai_client(fresh.base_url, capture)
    state = fresh.state
    target = state.corpus.id_of(42)
    updated = client.chat.completions.update(target, metadata={"reviewed": "yes", "env": "prod"})
    assert updated.metadata == {"reviewed": "yes", "env": "prod"}
    assert client.chat.completions.retrieve(target).metadata == {"reviewed": "yes", "env": "prod"}
    assert [c.id for c in client.chat.completions.list(metadata={"reviewed": "yes"})] == [target]

    deleted = client.chat.completions.delete(target)
    assert deleted.deleted is True and deleted.id == target and deleted.object == "chat.completion.deleted"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(target)
    with pytest.raises(openai.NotFoundError):
        list(client.chat.completions.messages.list(target))
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.delete(target)
    ids = [c.id for c in client.chat.completions.list(limit=100)]
    assert target not in ids and len(ids) == 299

    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi to Chloé"},
    ]
    made = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, store=True, metadata={"env": "test"}
    )
    assert made.choices[0].message.content and "Chloé" in made.choices[0].message.content
    again = client.chat.completions.create(model="gpt-4o-mini", messages=messages, store=True)
    assert again.choices[0].message.content == made.choices[0].message.content  # deterministic reply
    newest = [c.id for c in client.chat.completions.list(order="desc", limit=2).data]
    assert set(newest) == {made.id, again.id}
    stored = client.chat.completions.retrieve(made.id)
    assert stored.metadata == {"env": "test"} and stored.choices == made.choices
    got = list(client.chat.completions.messages.list(made.id))
    assert [(m.role, m.content) for m in got] == [("system", "Be brief."), ("user", "Say hi to Chloé")]

    ephemeral = client.chat.completions.create(model="gpt-4o", messages=messages)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(ephemeral.id)
    assert state.total() == 301


def test_create_with_tools_calls_a_tool(fresh: RunningEmulator, capture: Capture) -> None:
    client = openai_client(fresh.base_url, capture)
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "refund_order",
                "parameters": {
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
                    "required": ["order_id"],
                },
            },
        }
    ]
    out = client.chat.completions.create(
        model="gpt-4.1",
        store=True,
        tools=tools,
        messages=[{"role": "user", "content": "Refund A-8812 please"}],
    )
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.type == "function" and call.function.name == "refund_order"
    args = json.loads(call.function.arguments)
    assert set(args) == {"order_id", "amount"} and isinstance(args["amount"], float)
    stored = fresh.state.get(out.id)
    assert stored is not None and stored[0]["tools"] == tools


def test_errors_look_like_the_real_api(emu: RunningEmulator, capture: Capture) -> None:
    client = openai_client(emu.base_url, capture)
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.retrieve("chatcmpl-doesnotexist")
    assert nf.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError) as auth:
        openai_client(emu.base_url, capture, api_key="sk-wrong-key-123456").chat.completions.list()
    assert auth.value.code == "invalid_api_key"
    assert "sk-wrong-key-123456" not in str(auth.value)  # masked like the real API
    http = capture.client(base_url=emu.base_url)
    assert http.get("/chat/completions").status_code == 401  # no key at all
    authed = capture.client(base_url=emu.base_url, headers={"Authorization": f"Bearer {KEY}"})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "chatcmpl-nope"}, "after"),
    ]
    for params, param in cases:
        r = authed.get("/chat/completions", params=params)
        assert r.status_code == 400 and r.json()["error"]["param"] == param
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.list(limit=500).data  # noqa: B018
    r = authed.get("/nothing/here")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (GET /v1/nothing/here)"
    r = authed.post("/chat/completions", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_counters_count_requests_by_kind(emu: RunningEmulator) -> None:
    state = emu.state
    state.reset_counters()
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        http.get("/chat/completions", params={"order": "desc", "limit": 100})
        http.get(f"/chat/completions/{state.corpus.id_of(3)}/messages")
    assert state.requests() == 2 and state.requests("list") == 1 and state.requests("messages") == 1
    assert [r.status for r in state.request_log] == [200, 200]
    assert "order=desc" in state.request_log[0].query
