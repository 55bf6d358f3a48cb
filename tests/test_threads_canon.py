"""The canonical message form: what must be equal, what must not, and that nothing makes it raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile import hostile_records
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbrowser.emulator.corpus import store_message
from ccbrowser.threads import Completion, Options, SystemMode, canonical, from_api, keys_of
from ccbrowser.threads.canon import digest, mask


def same(a: Any, b: Any, system: SystemMode = SystemMode.MASK) -> bool:
    return canonical(a, system) == canonical(b, system)


def test_a_string_is_a_single_text_part_in_every_form() -> None:
    text = "What is the capital of Peru?"
    forms = [
        {"role": "user", "content": text},
        {"role": "user", "content": [{"type": "text", "text": text}]},
        {"role": "user", "content": [text]},
        store_message("chatcmpl-x", 3, {"role": "user", "content": [{"type": "text", "text": text}]}),
        store_message("chatcmpl-y", 0, {"role": "user", "content": text}),
    ]
    assert len({canonical(f) for f in forms}) == 1
    assert not same(forms[0], {"role": "user", "content": text + "!"})
    assert not same(forms[0], {"role": "assistant", "content": text})


def test_stored_parts_win_over_their_joined_text() -> None:
    """Two messages with the same words and different images are different messages."""
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://img.example/1.png", "detail": "low"}},
    ]
    other = [
        parts[0],
        {"type": "image_url", "image_url": {"url": "https://img.example/2.png", "detail": "low"}},
    ]
    stored = store_message("c", 0, {"role": "user", "content": parts})
    assert stored["content"] == "look" and stored["content_parts"] == parts
    assert same(stored, {"role": "user", "content": parts})
    assert not same(stored, store_message("c", 0, {"role": "user", "content": other}))
    assert not same(stored, {"role": "user", "content": "look"})


def test_nulls_key_order_ids_and_output_only_fields_do_not_count() -> None:
    output = {"role": "assistant", "content": "Lima.", "refusal": None, "annotations": [], "audio": None}
    sent = {"content": "Lima.", "role": "assistant"}
    stored = {
        "id": "chatcmpl-z-4",
        "role": "assistant",
        "content": "Lima.",
        "name": None,
        "content_parts": None,
    }
    assert same(output, sent) and same(sent, stored)
    assert canonical(sent) == json.dumps(
        {"content": [{"text": "Lima.", "type": "text"}], "role": "assistant"},
        separators=(",", ":"),
        sort_keys=True,
    )
    assert not same(sent, {**sent, "name": "bot"})


def test_tool_call_arguments_are_compared_as_json_when_they_are_json() -> None:
    def call(arguments: str, cid: str = "call_1") -> dict[str, Any]:
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": "f", "arguments": arguments}}
            ],
        }

    assert same(call('{"a":1,"b":[1,2]}'), call('{\n  "b": [1, 2],\n  "a": 1\n}'))
    assert same(call('{"a":1}'), {**call('{"a": 1}'), "content": ""})  # "" and None: no content
    assert not same(call('{"a":1}'), call('{"a":2}'))
    assert not same(call('{"a":1}'), call('{"a":1}', cid="call_2"))
    assert same(call('{"a": '), call('{"a": '))  # invalid JSON: verbatim
    assert not same(call('{"a": '), call('{"a":'))
    legacy = {"role": "assistant", "function_call": {"name": "f", "arguments": '{"x": [1]}'}}
    assert same(legacy, {"role": "assistant", "function_call": {"arguments": '{"x":[1]}', "name": "f"}})
    as_object = {
        "role": "assistant",
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"b": 1, "a": None}}}],
    }
    assert (
        same(
            as_object,
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]},
        )
        is False
    )
    assert same(
        as_object,
        {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": '{"b":1}'}}]},
    )


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ("Today is 2026-12-01.", "Today is 2026-12-02."),
        (
            "Current date: Monday, 1 December 2026 09:15:00 UTC",
            "Current date: Tuesday, 2 December 2026 17:40:59 UTC",
        ),
        ("It is Dec 1, 2026 at 9:05 pm.", "It is Jan 12, 2027 at 11:55 pm."),
        ("cwd: /home/ann/src/app, open file ./notes/a.md", "cwd: /srv/build/x, open file ../b/c.txt"),
        ("Workspace C:\\Users\\ann\\proj", "Workspace D:\\work\\other"),
        (
            "Request 3f2a9c1b7d and session 123e4567-e89b-12d3-a456-426614174000",
            "Request 0a1b2c3d4e and session 00000000-0000-4000-8000-000000000000",
        ),
        ("You have 3 unread messages.", "You have 12 unread messages."),
    ],
)
def test_system_prompts_equal_after_masking(one: str, two: str) -> None:
    for role in ("system", "developer"):
        a, b = {"role": role, "content": one}, {"role": role, "content": [{"type": "text", "text": two}]}
        assert same(a, b)
        assert not same(a, b, SystemMode.EXACT)
        assert canonical(a, SystemMode.IGNORE) is None
    assert not same({"role": "user", "content": one}, {"role": "user", "content": two})  # users: never masked


def test_masking_keeps_the_words() -> None:
    assert not same(
        {"role": "system", "content": "You are a pirate."}, {"role": "system", "content": "You are a lawyer."}
    )
    assert mask("Be brief. Answer in French.") == "Be brief. Answer in French."
    assert mask("A maybe-may day in march") == "A maybe-<date> day in <date>"


@pytest.mark.parametrize("mode", list(SystemMode))
def test_hostile_records_never_raise(mode: SystemMode) -> None:
    for completion, inputs in hostile_records():
        keys = keys_of(from_api(completion, inputs), Options(system=mode))
        assert all(len(k) == 16 for k in keys.full_keys)


def test_lone_surrogates_and_odd_values() -> None:
    odd = Completion(
        "x",
        1,
        [{"role": "user", "content": "\ud800 bad"}, {"role": "assistant", "content": 5}, [1, 2], None],
        [{"role": "assistant", "content": "\udfff"}],
    )
    keys = keys_of(odd)
    assert keys.prefix_key is not None and keys.length == 4
    assert canonical({"role": "user", "content": "\ud800"}) != canonical(
        {"role": "user", "content": "\ufffd"}
    )


_texts = st.sampled_from(["", "hi", "Hi", "Today is 2026-12-02", "\ud800", "a\x00b", "12"])
_maybe = st.one_of(st.none(), st.just(""), _texts)
_parts = st.lists(
    st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, _texts),
        st.builds(lambda t: {"type": "text", "text": t, "extra": None}, _texts),
        st.just({"type": "image_url", "image_url": {"url": "https://img.example/a.png"}}),
        _texts,
    ),
    max_size=2,
)
_messages = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool", None, 3]),
        "content": st.one_of(_maybe, _parts, st.just(7)),
        "content_parts": st.one_of(st.none(), _parts, st.just("junk")),
        "name": st.one_of(_maybe, st.just(5)),
        "tool_call_id": _maybe,
        "tool_calls": st.one_of(
            st.none(),
            st.just([]),
            st.just("junk"),
            st.just([{"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]),
        ),
        "id": _texts,
        "refusal": _maybe,
    },
)


@settings(max_examples=400, deadline=None)
@given(_messages, _messages, st.sampled_from(list(SystemMode)))
def test_digest_equality_is_canonical_equality(
    a: dict[str, Any], b: dict[str, Any], mode: SystemMode
) -> None:
    """The digest's fast path for text messages agrees with the canonical JSON, form by form."""
    assert (digest(a, mode) == digest(b, mode)) == (canonical(a, mode) == canonical(b, mode))
    assert (digest(a, mode) is None) == (canonical(a, mode) is None)


def _variant(m: dict[str, Any]) -> dict[str, Any]:
    """The same message in another form: text as one part, ids and nulls added or gone."""
    out = {k: v for k, v in m.items() if k not in ("id", "refusal")}
    content = out.get("content")
    stored_parts = out.get("content_parts")
    if isinstance(content, str) and not (isinstance(stored_parts, list) and stored_parts):
        out["content"] = [{"type": "text", "text": content}] if content else None
    return {"id": "chatcmpl-v-1", "annotations": None, **out}


@settings(max_examples=300, deadline=None)
@given(_messages, st.sampled_from(list(SystemMode)))
def test_digest_of_another_form_is_the_same(a: dict[str, Any], mode: SystemMode) -> None:
    b = _variant(a)
    assert canonical(a, mode) == canonical(b, mode)
    assert digest(a, mode) == digest(b, mode)
