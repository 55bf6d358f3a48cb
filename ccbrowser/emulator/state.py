"""The emulator's store: a generated corpus never materialised, plus overlays.

Listing walks indices of the corpus and a small sorted list of "extras" (created, late or injected
completions) in ``(created, kind, seq)`` order, so an unfiltered page costs O(page) whatever the
corpus size. Deletions and metadata updates are overlays keyed by index or id; the generated data
itself is immutable.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ccbrowser.emulator.corpus import ID_PREFIX, JSON, Corpus, b62, mix64
from ccbrowser.emulator.generate import fake_completion
from ccbrowser.emulator.options import DEFAULT_LIMIT
from ccbrowser.emulator.shapes import request_form, shape_for_flavor


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    kind: str
    status: int = 0
    fault: str | None = None


class _Extra:
    """A completion that is not generated from the corpus (created, late arrival, injected)."""

    __slots__ = ("key", "completion", "messages", "deleted")

    def __init__(self, key: tuple[int, int, int], completion: JSON, messages: list[JSON]):
        self.key = key
        self.completion = completion
        self.messages = messages  # request form
        self.deleted = False


# Item reference inside the merged order: ("c", index) or ("e", extra id)
_Ref = tuple[str, Any]


class EmulatorState:
    """The server's mutable world: corpus + overlays + counters. Safe to call from any thread.

    Tests in the same process use it to change the upstream between syncs (``add_completion``,
    ``add_late_arrival``, ``update_metadata``, ``delete``, ``drift``) and to count requests.
    """

    def __init__(
        self,
        corpus: Corpus,
        clock: Callable[[], float] = time.time,
        flavor: str = "openai",
        burst: float = 1.0,
    ):
        self.corpus = corpus
        self.clock = clock
        self.flavor = flavor
        self._group_cut = int((1 << 20) / burst) if burst > 1.0 else 1 << 20
        self._created: Callable[[int], int] = corpus.created if burst <= 1.0 else self._burst_created
        self.lock = threading.RLock()
        self.counters: Counter[str] = Counter()
        self.request_log: deque[RequestRecord] = deque(maxlen=10_000)
        self._deleted: set[int] = set()
        self._md: dict[int, dict[str, str]] = {}
        self._extras: dict[str, _Extra] = {}
        self._extra_keys: list[tuple[int, int, int]] = []
        self._extra_ids: list[str] = []
        self._seq = 0
        self._version = 0
        self._total_cache: dict[Any, int] = {}
        self._rng = random.Random(mix64(corpus.seed ^ 0xD41F7))
        # Ids of completions made with POST differ from one run to the next, as the API's do: a
        # restarted emulator must not hand out ids that a database synced before already holds.
        self._create_rng = random.Random(time.time_ns() ^ (os.getpid() << 32))

    # ---- counters --------------------------------------------------------------------------

    def requests(self, kind: str | None = None) -> int:
        """Requests received in total, or of one kind (list, retrieve, update, delete, messages, create, other)."""
        return self.counters["total" if kind is None else kind]

    def reset_counters(self) -> None:
        with self.lock:
            self.counters.clear()
            self.request_log.clear()

    # ---- time ------------------------------------------------------------------------------

    def _starts_group(self, i: int) -> bool:
        return i == 0 or mix64(self.corpus.seed ^ 0xB5A7 ^ (i << 8)) & 0xFFFFF < self._group_cut

    def _burst_created(self, i: int) -> int:
        """``created`` of the first completion of ``i``'s run: runs of ~burst share one second."""
        start = i
        while i - start < 64 and not self._starts_group(start):
            start -= 1
        return self.corpus.created(start)

    def created(self, i: int) -> int:
        """``created`` of corpus completion ``i`` as served (bursts applied); non-decreasing in ``i``."""
        return self._created(i)

    # ---- lookups ---------------------------------------------------------------------------

    def _locate(self, completion_id: str) -> _Ref | None:
        if completion_id in self._extras:
            return ("e", completion_id)
        i = self.corpus.index_of(completion_id)
        return None if i is None else ("c", i)

    def _alive(self, ref: _Ref) -> bool:
        if ref[0] == "c":
            return ref[1] not in self._deleted
        return not self._extras[ref[1]].deleted

    def _key(self, ref: _Ref) -> tuple[int, int, int]:
        if ref[0] == "c":
            return (self._created(ref[1]), 0, ref[1])
        return self._extras[ref[1]].key

    def _record(self, ref: _Ref) -> tuple[JSON, list[JSON]]:
        """(completion with overlays, input messages in request form). Shared objects: copy to change."""
        if ref[0] == "e":
            extra = self._extras[ref[1]]
            return shape_for_flavor(self.flavor, extra.completion), extra.messages
        comp, msgs = self.corpus.record(ref[1])
        md = self._md.get(ref[1])
        if md is not None:
            comp = {**comp, "metadata": dict(md)}
        created = self._created(ref[1])
        if created != comp["created"]:
            comp = {**comp, "created": created}
        return shape_for_flavor(self.flavor, comp), msgs

    def get(self, completion_id: str) -> tuple[JSON, list[JSON]] | None:
        """(completion, input messages in request form) of a live id, or None."""
        with self.lock:
            ref = self._locate(completion_id)
            if ref is None or not self._alive(ref):
                return None
            return self._record(ref)

    def exists(self, completion_id: str) -> bool:
        return self.get(completion_id) is not None

    def newest_created(self) -> int:
        with self.lock:
            newest = self._created(self.corpus.count - 1) if self.corpus.count else self.corpus.start
            if self._extra_keys:
                newest = max(newest, self._extra_keys[-1][0])
            return newest

    def _now(self) -> int:
        return max(int(self.clock()), self.newest_created())

    # ---- mutations -------------------------------------------------------------------------

    def _insert_extra(self, completion: JSON, messages: list[JSON]) -> str:
        with self.lock:
            self._seq += 1
            key = (int(completion["created"]), 1, self._seq)
            cid = completion["id"]
            if cid in self._extras or self.corpus.index_of(cid) is not None:
                raise ValueError(f"duplicate completion id {cid}")
            self._extras[cid] = _Extra(key, completion, messages)
            pos = bisect.bisect_right(self._extra_keys, key)
            self._extra_keys.insert(pos, key)
            self._extra_ids.insert(pos, cid)
            self._version += 1
            return cid

    def new_id(self) -> str:
        with self.lock:
            n = self._rng.getrandbits(64)
            return ID_PREFIX + b62(n, 11) + b62(mix64(n), 11) + b62(mix64(n ^ 0x5555), 11)[:7]

    def create_id(self) -> str:
        """A fresh id for ``POST /chat/completions`` (never the same across runs)."""
        with self.lock:
            n = self._create_rng.getrandbits(64)
            return ID_PREFIX + b62(n, 11) + b62(mix64(n), 11) + b62(mix64(n ^ 0x5555), 11)[:7]

    def add_completion(self, completion: JSON, input_messages: list[JSON] | None = None) -> str:
        """Store ``completion`` as the API would (id/created/object filled in when missing); returns its id.

        ``input_messages`` may be in request form or ``/messages`` item form.
        """
        comp = json.loads(json.dumps(completion))
        comp.setdefault("id", self.new_id())
        comp.setdefault("object", "chat.completion")
        comp.setdefault("created", self._now())
        comp.setdefault("model", "gpt-4o-mini")
        comp.setdefault("choices", [])
        comp.setdefault("metadata", {})
        msgs = [request_form(m) for m in (input_messages or [])]
        return self._insert_extra(comp, msgs)

    def add_generated(self, created: int | None = None, template_index: int | None = None) -> str:
        """Add a realistic completion (a re-identified corpus record) created at ``created`` (default now)."""
        with self.lock:
            created = self._now() if created is None else int(created)
            if self.corpus.count:
                k = self._rng.randrange(self.corpus.count) if template_index is None else template_index
                comp, msgs = self.corpus.record(k)
                comp = json.loads(json.dumps(comp))
                msgs = json.loads(json.dumps(msgs))
            else:
                msgs = [{"role": "user", "content": "Hello from the emulator"}]
                comp = fake_completion({"model": "gpt-4o-mini", "messages": msgs}, "", 0)
            comp["id"] = self.new_id()
            comp["created"] = created
            if comp.get("choices") and comp["choices"][0]["message"].get("audio"):
                comp["choices"][0]["message"]["audio"]["expires_at"] = created + 3600
            return self._insert_extra(comp, msgs)

    def add_late_arrival(
        self, age_s: int = 600, completion: JSON | None = None, input_messages: list[JSON] | None = None
    ) -> str:
        """A completion whose ``created`` is ``age_s`` older than the newest one, appearing now.

        This is what makes an incremental sync need a look-back window.
        """
        created = self.newest_created() - age_s
        if completion is None:
            return self.add_generated(created=created)
        return self.add_completion({**completion, "created": created}, input_messages)

    def update_metadata(self, completion_id: str, metadata: dict[str, str] | None) -> JSON:
        """Replace the metadata (as ``POST /chat/completions/{id}`` does); KeyError if unknown."""
        md = dict(metadata or {})
        with self.lock:
            ref = self._locate(completion_id)
            if ref is None or not self._alive(ref):
                raise KeyError(completion_id)
            if ref[0] == "c":
                self._md[ref[1]] = md
            else:
                self._extras[ref[1]].completion = {**self._extras[ref[1]].completion, "metadata": md}
            self._version += 1
            return self._record(ref)[0]

    def delete(self, completion_id: str) -> bool:
        """Delete a completion; False if it did not exist (or was already deleted)."""
        with self.lock:
            ref = self._locate(completion_id)
            if ref is None or not self._alive(ref):
                return False
            if ref[0] == "c":
                self._deleted.add(ref[1])
            else:
                self._extras[ref[1]].deleted = True
            self._version += 1
            return True

    def undelete(self, completion_id: str) -> bool:
        """Bring a deleted completion back (a server restored from backup); False if it was not deleted."""
        with self.lock:
            ref = self._locate(completion_id)
            if ref is None or self._alive(ref):
                return False
            if ref[0] == "c":
                self._deleted.discard(ref[1])
            else:
                self._extras[ref[1]].deleted = False
            self._version += 1
            return True

    def drift(
        self, new: int = 0, late: int = 0, deleted: int = 0, updated: int = 0, late_age_s: int = 600
    ) -> dict[str, list[str]]:
        """Random upstream changes between syncs (seeded). Returns the ids touched, by change."""
        out: dict[str, list[str]] = {"new": [], "late": [], "deleted": [], "updated": []}
        with self.lock:
            for _ in range(late):  # late relative to the newest before this batch
                out["late"].append(self.add_late_arrival(age_s=self._rng.randint(1, late_age_s)))
            for _ in range(new):
                out["new"].append(self.add_generated())
            for kind, n in (("deleted", deleted), ("updated", updated)):
                for _ in range(n):
                    cid = self._random_live_id()
                    if cid is None:
                        break
                    if kind == "deleted":
                        self.delete(cid)
                    else:
                        comp = self.get(cid)
                        md = dict((comp[0].get("metadata") or {}) if comp else {})
                        md["reviewed"] = self._rng.choice(["yes", "no"])
                        md["label"] = self._rng.choice(["good", "bad", "needs-work"])
                        self.update_metadata(cid, md)
                    out[kind].append(cid)
        return out

    def _random_live_id(self) -> str | None:
        alive = self.total()
        if not alive:
            return None
        for _ in range(1000):
            if self._extra_ids and self._rng.random() < len(self._extra_ids) / (
                len(self._extra_ids) + self.corpus.count
            ):
                cid = self._rng.choice(self._extra_ids)
            elif self.corpus.count:
                cid = self.corpus.id_of(self._rng.randrange(self.corpus.count))
            else:
                continue
            if self.exists(cid):
                return cid
        return None

    # ---- listing ---------------------------------------------------------------------------

    def _first_corpus_after(self, key: tuple[int, int, int]) -> int:
        """The first corpus index whose key is > key."""
        if key[1] == 0:
            return key[2] + 1
        lo, hi = 0, self.corpus.count  # first i with (created(i), 0, i) > key
        created = self._created
        while lo < hi:
            mid = (lo + hi) // 2
            if (created(mid), 0, mid) > key:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _iter_refs(self, order: str, after: tuple[int, int, int] | None) -> Iterator[_Ref]:
        """All refs (deleted included) in list order whose key lies strictly beyond the key ``after``."""
        n = self.corpus.count
        created = self._created
        ekeys, eids = self._extra_keys, self._extra_ids
        if order == "asc":
            if after is None:
                i, j = 0, 0
            else:
                key = after
                i, j = self._first_corpus_after(key), bisect.bisect_right(ekeys, key)
            while i < n or j < len(ekeys):
                if j >= len(ekeys) or (i < n and (created(i), 0, i) < ekeys[j]):
                    yield ("c", i)
                    i += 1
                else:
                    yield ("e", eids[j])
                    j += 1
        else:
            if after is None:
                i, j = n - 1, len(ekeys) - 1
            else:
                key = after
                i, j = self._first_corpus_after(key) - 1, bisect.bisect_left(ekeys, key) - 1
                if key[1] == 0:
                    i = key[2] - 1
            while i >= 0 or j >= 0:
                if j < 0 or (i >= 0 and (created(i), 0, i) > ekeys[j]):
                    yield ("c", i)
                    i -= 1
                else:
                    yield ("e", eids[j])
                    j -= 1

    def _matches(self, ref: _Ref, model: str | None, metadata: dict[str, str]) -> bool:
        if ref[0] == "c":
            i = ref[1]
            if i in self._deleted:
                return False
            if model is None and not metadata:
                return True
            h = self.corpus.header(i)
            if model is not None and h.model != model:
                return False
            md = self._md.get(i, h.metadata)
        else:
            extra = self._extras[ref[1]]
            if extra.deleted:
                return False
            if model is not None and extra.completion.get("model") != model:
                return False
            md = extra.completion.get("metadata") or {}
        return all(md.get(k) == v for k, v in metadata.items())

    def list_page(
        self,
        order: str = "asc",
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
        model: str | None = None,
        metadata: dict[str, str] | None = None,
        created_cursor: bool = False,
    ) -> tuple[list[tuple[JSON, list[JSON]]], bool]:
        """One page of (completion, request-form messages) and has_more. KeyError: unknown ``after``.

        ``created_cursor``: Llama Stack's cursor, ``created < created(after)`` (``>`` ascending):
        the page resumes past the whole second of ``after``, skipping what else shares it.
        """
        md = metadata or {}
        with self.lock:
            bound = None
            if after:
                after_ref = self._locate(after)
                if after_ref is None:
                    raise KeyError(after)
                bound = self._key(after_ref)
                if created_cursor:
                    bound = (bound[0], 2, 0) if order == "asc" else (bound[0], -1, 0)
            refs: list[_Ref] = []
            has_more = False
            for ref in self._iter_refs(order, bound):
                if not self._matches(ref, model, md):
                    continue
                if len(refs) == limit:
                    has_more = True
                    break
                refs.append(ref)
            return [self._record(r) for r in refs], has_more

    def total(self, model: str | None = None, metadata: dict[str, str] | None = None) -> int:
        """Live completions matching the filters (cheap when unfiltered; cached scan otherwise)."""
        with self.lock:
            if model is None and not metadata:
                alive_extras = sum(1 for e in self._extras.values() if not e.deleted)
                return self.corpus.count - len(self._deleted) + alive_extras
            cache_key = (self._version, model, tuple(sorted((metadata or {}).items())))
            if cache_key not in self._total_cache:
                self._total_cache.clear()
                self._total_cache[cache_key] = sum(
                    1 for ref in self._iter_refs("asc", None) if self._matches(ref, model, metadata or {})
                )
            return self._total_cache[cache_key]

    def snapshot_ids(self) -> list[str]:
        """Every live id in ascending list order (O(N): for tests and small corpora)."""
        with self.lock:
            out = []
            for ref in self._iter_refs("asc", None):
                if self._alive(ref):
                    out.append(self.corpus.id_of(ref[1]) if ref[0] == "c" else ref[1])
            return out
