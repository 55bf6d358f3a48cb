"""Deterministic, realistic stored chat completions, generated on demand.

- ``words``: the vocabulary (Zipf-weighted English, code, foreign text, prompts).
- ``ids``: hashing and the reversible id permutation.
- ``scenarios``: what completions are about (models, tools) and the cheap ``Header``.
- ``text``: ``TextGen``, text drawn from one completion's random stream.
- ``generate``: ``Corpus`` (completion ``i`` from ``(seed, i, now)``), the ``/messages`` form, JSONL dumps.
"""

from __future__ import annotations

from ccbrowser.emulator.corpus.generate import (
    DAY,
    SPAN_DAYS,
    Corpus,
    store_message,
    store_messages,
    write_jsonl,
)
from ccbrowser.emulator.corpus.ids import ID_BODY_LEN, ID_PREFIX, b62, mix64, random_id
from ccbrowser.emulator.corpus.scenarios import JSON, MODELS, SCENARIO_TOOLS, SCENARIOS, TOOLS, Header
from ccbrowser.emulator.corpus.text import TextGen
from ccbrowser.emulator.corpus.words import CITIES, WORDS

__all__ = [
    "CITIES",
    "DAY",
    "ID_BODY_LEN",
    "ID_PREFIX",
    "JSON",
    "MODELS",
    "SCENARIOS",
    "SCENARIO_TOOLS",
    "SPAN_DAYS",
    "TOOLS",
    "WORDS",
    "Corpus",
    "Header",
    "TextGen",
    "b62",
    "mix64",
    "random_id",
    "store_message",
    "store_messages",
    "write_jsonl",
]
