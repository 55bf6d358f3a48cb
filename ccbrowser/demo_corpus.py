"""Sample databases from the emulator's deterministic corpus, for tests, screenshots and benchmarks.

Written straight through the store's `Writer` (no HTTP): the same data the demo syncs, in a
fraction of the time, and identical on every machine for a given (count, seed, now).
"""

from __future__ import annotations

from pathlib import Path

from ccbrowser.emulator.corpus import Corpus
from ccbrowser.emulator.corpus.chats import chats as scripted
from ccbrowser.store.db import open_db
from ccbrowser.store.writer import Record, Writer

FROZEN_NOW = 1_767_268_800  # 2026-01-01 12:00 UTC: screenshots and snapshots never move


def build(
    path: str | Path,
    count: int,
    *,
    seed: int = 7,
    now: int = FROZEN_NOW,
    batch: int = 500,
    chats: bool = False,
) -> Path:
    """A database holding completions 0..count-1 of the corpus, with their input messages, and
    with `chats` the scripted conversations of `corpus.chats` (what `ccbrowser demo` serves)."""
    path = Path(path)
    corpus = Corpus(count, seed=seed, now=now)
    conn = open_db(path)
    try:
        writer = Writer(conn, profile="default", source="sample")
        for start in range(0, count, batch):
            records = []
            for i in range(start, min(count, start + batch)):
                completion, inputs = corpus.pair(i)
                records.append(Record(completion, inputs))
            writer.write(records, fetched_at=float(now))
        if chats:
            writer.write(
                [Record(c.completion, c.messages) for c in scripted(now, seed)], fetched_at=float(now)
            )
    finally:
        conn.close()
    return path
