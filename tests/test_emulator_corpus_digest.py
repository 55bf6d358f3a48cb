"""The generated corpus is frozen: the same seed gives byte-identical JSON across refactors.

The digests below were taken from the corpus before it was split into a package; any change to
the word tables, the id permutation, the text generator or the record builder changes them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from emulator_fixtures import NOW

from ccbrowser.emulator.app import fake_completion
from ccbrowser.emulator.corpus import Corpus, store_messages, write_jsonl

# (seed, count) -> sha256 of every record, its /messages form, its id and created, in index order
DIGESTS = {
    (1, 40): "5f422c41dd3d0fba15fad322f3e270d727a1d9b93b70922cec372601a4875f93",
    (7, 257): "941c9ac04e7aaaec3affda313f9be16966abd9e5f281325a2f7de4eb24d6cdfd",
    (42, 1000): "d9523fd7d41002f216fcb7fa6e3fe5387c6b84c20901db7c5bacd74018773259",
}
JSONL_DIGEST = (
    "e523ab59ca5ac487239b0937fa95072c40ad78ade9b8c4a76a5aba8b6495e6ee"  # write_jsonl(count=120, seed=3)
)
FAKE_DIGEST = "e899f2365b0ad7611f2b871e9afb97417cecfa699f4d6ff53ee22377e7498b9b"  # fake_completion of a text, a tool and an n=3 request


def corpus_digest(seed: int, count: int) -> str:
    corpus = Corpus(count, seed=seed, now=NOW)
    h = hashlib.sha256()
    for i in range(count):
        comp, msgs = corpus.record(i)
        cid = corpus.id_of(i)
        h.update(
            json.dumps([cid, corpus.created(i), comp, store_messages(cid, msgs)], sort_keys=True).encode()
        )
    return h.hexdigest()


def fake_digest() -> str:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string"},
                    "city": {"type": "string"},
                    "n": {"type": "integer"},
                },
            },
        },
    }
    bodies = [
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "Where is A-8812?"}], "tools": [tool]},
        {"model": "gpt-4o", "n": 3, "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]},
    ]
    out = [fake_completion(b, f"chatcmpl-{k}", NOW + k) for k, b in enumerate(bodies)]
    return hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize("seed,count", sorted(DIGESTS))
def test_corpus_is_byte_identical_to_the_frozen_digest(seed: int, count: int) -> None:
    assert corpus_digest(seed, count) == DIGESTS[(seed, count)]


def test_jsonl_dump_is_byte_identical_to_the_frozen_digest(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    assert write_jsonl(path, 120, seed=3, now=NOW) == 120
    assert hashlib.sha256(path.read_bytes()).hexdigest() == JSONL_DIGEST


def test_fake_model_replies_are_byte_identical_to_the_frozen_digest() -> None:
    assert fake_digest() == FAKE_DIGEST
