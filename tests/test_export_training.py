"""`export --format finetune|evals`: files the fine-tuning and Evals APIs accept, checked against their
documented shapes on the emulator corpus and on hostile records; the message content round-trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from emulator_fixtures import validate_body
from hostile import hostile_records
from openai.types.evals.create_eval_jsonl_run_data_source import CreateEvalJSONLRunDataSource

from ccbrowser import search
from ccbrowser.cli import main
from ccbrowser.demo_corpus import build as build_sample
from ccbrowser.store import labels, open_db, reader
from ccbrowser.store.writer import Record, Writer

# The supervised chat fine-tuning format (fine-tuning guide, "Preparing your dataset", and the
# OpenAPI `FineTuneChatRequestInput`): `messages` of these roles with these keys, at least one
# assistant message, optional `tools` (function tools) and `parallel_tool_calls`.
ROLE_SCHEMAS = {
    "system": "ChatCompletionRequestSystemMessage",
    "user": "ChatCompletionRequestUserMessage",
    "assistant": "ChatCompletionRequestAssistantMessage",
    "tool": "ChatCompletionRequestToolMessage",
}
MESSAGE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id", "weight"}
EXAMPLE_KEYS = {"messages", "tools", "parallel_tool_calls"}


def assert_finetune_example(line: str) -> dict[str, Any]:
    example = json.loads(line)
    assert isinstance(example, dict) and set(example) <= EXAMPLE_KEYS, example.keys()
    messages = example["messages"]
    assert isinstance(messages, list) and len(messages) >= 2
    assert any(m["role"] == "assistant" for m in messages)
    assert messages[-1]["role"] == "assistant"  # the output is what is learned
    for m in messages:
        assert set(m) <= MESSAGE_KEYS, m.keys()
        assert m["role"] in ROLE_SCHEMAS, m["role"]
        assert "content" in m or m.get("tool_calls"), m
        validate_body(ROLE_SCHEMAS[m["role"]], m)
        for part in m.get("content") if isinstance(m.get("content"), list) else []:
            assert part["type"] in ("text", "image_url")  # no audio or file inputs in fine-tuning
        for call in m.get("tool_calls") or []:
            validate_body("ChatCompletionMessageToolCall", call)
    for tool in example.get("tools", []):
        validate_body("ChatCompletionTool", tool)
    if "parallel_tool_calls" in example:
        assert isinstance(example["parallel_tool_calls"], bool) and "tools" in example
    json.dumps(example, ensure_ascii=False).encode("utf-8")  # valid Unicode throughout
    return example


# What the Evals API's `jsonl` data source takes as `file_content` lines, and the item schema a
# custom data source config declares for these files (`item.input` is usable as an item reference).
ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "model": {"type": ["string", "null"]},
        "metadata": {"type": "object"},
        "input": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"role": {"type": "string"}, "content": {"type": ["string", "array", "null"]}},
                "required": ["role"],
            },
        },
    },
    "required": ["id", "model", "metadata", "input"],
    "additionalProperties": False,
}
SAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": ["string", "null"]},
        "output_text": {"type": "string"},
        "output_tools": {"type": "array"},
        "choices": {"type": "array", "minItems": 1},
        "finish_reason": {"type": ["string", "null"]},
        "usage": {"type": ["object", "null"]},
    },
    "required": ["model", "output_text", "output_tools", "choices"],
}


def assert_evals_lines(lines: list[str]) -> list[dict[str, Any]]:
    from jsonschema import Draft202012Validator

    objs = [json.loads(line) for line in lines]
    for obj in objs:
        assert set(obj) == {"item", "sample"}
        Draft202012Validator(ITEM_SCHEMA).validate(obj["item"])
        Draft202012Validator(SAMPLE_SCHEMA).validate(obj["sample"])
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    # The SDK's own model of the data source these lines are the content of.
    source = CreateEvalJSONLRunDataSource.model_validate(
        {"type": "jsonl", "source": {"type": "file_content", "content": objs}}
    )
    assert len(source.source.content) == len(objs)  # type: ignore[union-attr]
    return objs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("training") / "c.db"
    build_sample(path, 600, seed=3)
    return path


def _export(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[list[str], str]:
    out = tmp_path / "out.jsonl"
    assert main(["export", "--db", str(db), "--output", str(out), "--force", *args]) == 0
    err = capsys.readouterr().err
    return out.read_text(encoding="utf-8").splitlines(), err


def test_finetune_export_of_the_corpus_is_valid_and_says_what_it_skipped(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, err = _export(corpus, tmp_path, capsys, "--format", "finetune")
    assert lines
    examples = [assert_finetune_example(line) for line in lines]
    assert any("tools" in e for e in examples) and any(
        m.get("tool_calls") for e in examples for m in e["messages"]
    )
    conn = open_db(corpus)
    try:
        total = search.count(conn, "")
        truncated = search.count(conn, "finish:length")
        refused = search.count(conn, "has:refusal")
    finally:
        conn.close()
    summary = [line for line in err.splitlines() if "skipped" in line]
    assert len(summary) == 1, err
    skipped = int(summary[0].split("skipped ")[1].split(":")[0].replace(",", ""))
    assert len(lines) + skipped == total
    assert f"wrote {len(lines):,}" in summary[0]
    assert f"{truncated:,} finish_reason length" in summary[0]
    assert "refusals" in summary[0] and refused
    # asked for: truncated outputs and refusals are kept
    more, err = _export(
        corpus, tmp_path, capsys, "--format", "finetune", "--include-truncated", "--include-refusals"
    )
    assert len(more) > len(lines)
    assert "finish_reason length" not in err and "refusals" not in err
    for line in more:
        assert_finetune_example(line)


def _sent_content(msg: dict[str, Any]) -> Any:
    """What the request sent as a message's content (the API lists parts in `content_parts`)."""
    return msg["content_parts"] if msg.get("content_parts") else msg.get("content")


def test_finetune_of_a_filtered_set_round_trips_its_message_content_exactly(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "finish:stop -has:audio -has:refusal"
    conn = open_db(corpus)
    try:
        ids = labels.ids_of(conn, search.matching_pks(conn, query, sort="oldest"))
        expected = []
        for cid in ids:
            raw = reader.get(conn, cid)
            assert raw is not None
            inputs = reader.input_messages(conn, cid)
            custom = any(t.get("type") != "function" for t in raw.get("tools") or []) or any(
                c.get("type") != "function" for m in inputs for c in m.get("tool_calls") or []
            )
            if not custom:  # fine-tuning takes function tools only: those are skipped (and counted)
                expected.append((raw, inputs))
    finally:
        conn.close()
    lines, err = _export(corpus, tmp_path, capsys, "--format", "finetune", query)
    assert len(lines) == len(expected) > 50, err
    for line, (raw, inputs) in zip(lines, expected, strict=True):
        example = assert_finetune_example(line)
        messages = example["messages"]
        assert [m.get("content") for m in messages[:-1]] == [_sent_content(m) for m in inputs]
        assert [m["role"] for m in messages[:-1]] == [
            "system" if m["role"] == "developer" else m["role"] for m in inputs
        ]
        assert [m.get("tool_calls") for m in messages[:-1]] == [m.get("tool_calls") for m in inputs]
        assert messages[-1]["content"] == raw["choices"][0]["message"]["content"]
        tools = raw.get("tools")
        assert example.get("tools") == (
            [{"type": "function", "function": t["function"]} for t in tools] if tools else None
        )


def test_finetune_choice_n_takes_that_output(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = open_db(corpus)
    try:
        multi = [
            r[0] for r in conn.execute("SELECT id FROM completions WHERE n_choices > 1 ORDER BY created, pk")
        ]
        assert multi
        raws = {cid: reader.get(conn, cid) for cid in multi}
    finally:
        conn.close()
    lines, err = _export(corpus, tmp_path, capsys, "--format", "evals", "--choice", "1")
    objs = assert_evals_lines(lines)
    assert {o["item"]["id"] for o in objs} == set(multi)  # only they have a choice 1
    assert "no choice 1" in err
    for obj in objs:
        raw = raws[obj["item"]["id"]]
        assert raw is not None
        second = next(c for c in raw["choices"] if c["index"] == 1)
        assert obj["sample"]["choices"] == [second]
        assert obj["sample"]["output_text"] == (second["message"].get("content") or "")
    lines, _ = _export(
        corpus, tmp_path, capsys, "--format", "finetune", "--choice", "1", "--include-truncated"
    )
    for line in lines:
        assert_finetune_example(line)
    assert 0 < len(lines) <= len(multi)


def test_evals_export_of_the_corpus(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines, err = _export(corpus, tmp_path, capsys, "--format", "evals", "meta:env=prod")
    objs = assert_evals_lines(lines)
    assert "skipped" not in err
    conn = open_db(corpus)
    try:
        assert len(objs) == search.count(conn, "meta:env=prod")
        for obj in objs[:50]:
            cid = obj["item"]["id"]
            raw = reader.get(conn, cid)
            assert raw is not None
            assert obj["item"]["metadata"] == raw["metadata"] and obj["item"]["metadata"]["env"] == "prod"
            assert obj["item"]["model"] == raw["model"]
            inputs = reader.input_messages(conn, cid)
            assert [m.get("content") for m in obj["item"]["input"]] == [_sent_content(m) for m in inputs]
            assert obj["sample"]["choices"][0] == raw["choices"][0]
            assert obj["sample"]["output_tools"] == (raw["choices"][0]["message"].get("tool_calls") or [])
    finally:
        conn.close()


def test_hostile_records_give_valid_files_or_a_counted_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.db"
    conn = open_db(db)
    records = hostile_records()
    Writer(conn).write(Record(c, inputs) for c, inputs in records)
    stored = conn.execute("SELECT count(*) FROM completions").fetchone()[0]
    conn.close()
    for fmt, check in (("finetune", None), ("evals", assert_evals_lines)):
        lines, err = _export(db, tmp_path, capsys, "--format", fmt)
        assert "Traceback" not in err
        if check is None:
            for line in lines:
                assert_finetune_example(line)
        else:
            check(lines)
        if len(lines) < stored:
            assert "skipped" in err and "not valid Unicode" in err  # the lone surrogates
        assert lines  # the plain ones (unicode, escapes, markup) are written
    lines, _ = _export(db, tmp_path, capsys, "--format", "finetune", "chatcmpl-markup")
    for line in lines:  # escapes and markup are data: kept exactly in the file
        assert "\x1b]52" in "".join(m.get("content") or "" for m in json.loads(line)["messages"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--choice", "1"], "are for --format finetune or evals"),
        (["--format", "finetune", "--choice", "-1"], "--choice must be 0 or more"),
        (["--format", "evals", "--include-refusals"], "keeps refusals"),
    ],
)
def test_training_options_are_usage_errors(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    out = tmp_path / "never.jsonl"
    assert main(["export", "--db", str(corpus), "--output", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not out.exists()
