"""The emulated stored-completions API: a Starlette app over a generated corpus plus overlays.

The corpus is never materialised. Listing walks indices of the corpus and a small sorted list of
"extras" (created, late or injected completions) in ``(created, kind, seq)`` order, so an
unfiltered page costs O(page) whatever the corpus size. Deletions and metadata updates are
overlays keyed by index or id; the generated data itself is immutable.

Flavours differ the way the real servers do (docs/architecture.md section 6):

- ``openai``: the reference behaviour (Bearer, ``order=asc``, ``limit`` 1..100).
- ``azure``: the key in ``api-key`` only; ``/openai/...`` needs ``?api-version=`` (``/openai/v1``
  does not); lists add ``total``; some listed items carry ``object: null`` and ``finish_reason: null``.
- ``router``: loosely typed fields (``logprobs: "unknown"``, ``annotations``/``audio`` null); no
  update or delete route (a 404, as routers answer a route they lack).
- ``llama-stack`` (0.7.x): ``order=desc`` by default, no limit cap, no metadata filter (ignored),
  ``metadata``/``usage`` null, ``input_messages`` embedded in list and retrieve items; its cursor is
  ``created < created(after)`` (``>`` ascending), so with ``burst`` > 1 (many completions a second)
  a normal client skips completions sharing a page's last second; a missing id is ``400
  {"error": {"message": "Chat completion with id '...' not found"}}``. It has no ``/messages``,
  update or delete route, answered as its FastAPI server answers an unknown route: ``404
  {"detail": "Not Found"}``, or ``405 {"detail": "Method Not Allowed"}`` where only the method is unknown.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import json
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccbrowser.emulator.corpus import (
    CITIES,
    ID_PREFIX,
    JSON,
    Corpus,
    TextGen,
    b62,
    mix64,
    random_id,
    store_messages,
)
from ccbrowser.emulator.corpus.chats import chats
from ccbrowser.emulator.faults import FaultInjector, FaultOptions

FLAVORS = ("openai", "azure", "router", "llama-stack")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
LLAMA_MAX_LIMIT = 1 << 62  # Llama Stack caps nothing: any positive limit is served whole
AZURE_API_VERSION = "2025-04-01-preview"


@dataclass
class EmulatorOptions:
    """Everything that shapes one emulator. ``api_key`` is never printed or logged (repr=False)."""

    count: int = 1000
    seed: int = 1
    now: int | None = None
    flavor: str = "openai"
    api_key: str | None = field(default=None, repr=False)
    faults: FaultOptions = field(default_factory=FaultOptions)
    drift_every: float | None = None  # seconds between random drift batches (None: no drift)
    # Mean run of consecutive completions sharing one `created` second (1: as generated). Agents
    # and batch jobs store many completions a second; that is what breaks a `created`-only cursor.
    burst: float = 1.0
    # Add the scripted conversations of `corpus.chats` (multi-turn, branches, tool loops, ...),
    # created in the two days before `now`, beside the generated completions.
    chats: bool = False
    host: str = "127.0.0.1"
    port: int = 0

    def validate(self) -> None:
        if self.flavor not in FLAVORS:
            raise ValueError(f"unknown flavor {self.flavor!r} (choose from {', '.join(FLAVORS)})")
        if self.count < 0:
            raise ValueError("count must be >= 0")
        if self.drift_every is not None and self.drift_every <= 0:
            raise ValueError("drift-every must be > 0")
        if not self.burst >= 1.0:
            raise ValueError("burst must be >= 1")
        self.faults.validate()


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
        msgs = [_request_form(m) for m in (input_messages or [])]
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


def shape_for_flavor(flavor: str, comp: JSON) -> JSON:
    """A stored completion as this flavour's server holds it (docs/architecture.md section 6).

    Llama Stack keeps neither ``metadata`` nor ``usage`` (both null). OpenAI-compatible routers
    type fields loosely: ``logprobs`` ``"unknown"``, ``annotations`` and ``audio`` null instead of
    empty or absent. Azure's quirks depend on the route, so they are applied per response.
    """
    if flavor == "llama-stack":
        return {**comp, "metadata": None, "usage": None}
    if flavor == "router":
        choices = comp.get("choices")
        if not isinstance(choices, list):
            return comp
        loose = []
        for c in choices:
            if not isinstance(c, dict):
                loose.append(c)
                continue
            c = {**c, "logprobs": "unknown" if c.get("logprobs") is None else c["logprobs"]}
            msg = c.get("message")
            if isinstance(msg, dict):
                c["message"] = {
                    **msg,
                    "annotations": msg.get("annotations") or None,
                    "audio": msg.get("audio") or None,
                }
            loose.append(c)
        return {**comp, "choices": loose}
    return comp


def _request_form(m: JSON) -> JSON:
    """Normalise an input message given in ``/messages`` item form back to request form."""
    out = {k: v for k, v in m.items() if k not in ("id", "content_parts", "refusal") and v is not None}
    if m.get("content_parts"):
        out["content"] = m["content_parts"]
    out.setdefault("role", "user")
    out.setdefault("content", m.get("content"))
    return out


# --------------------------------------------------------------------------------------------
# The fake model behind POST /chat/completions


def _digest(obj: Any) -> int:
    raw = json.dumps(obj, sort_keys=True, ensure_ascii=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def _resolve(schema: JSON, root: JSON) -> JSON:
    """Follow a local ``$ref`` (``#``, ``#/$defs/X``, ``#/definitions/X``) and take the first non-null
    branch of ``anyOf``/``oneOf``, as pydantic's schemas (``client.chat.completions.parse``) need."""
    for _ in range(8):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target: Any = root
            for part in [p for p in ref[1:].split("/") if p]:
                target = target.get(part) if isinstance(target, dict) else None
            schema = target if isinstance(target, dict) else {}
            continue
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            typed = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
            schema = typed[0] if typed else {}
            continue
        break
    return schema


def _fake_value(g: TextGen, name: str, schema: JSON, root: JSON | None = None, depth: int = 0) -> Any:
    rng = g.rng
    if root is not None:
        schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    lname = name.lower()
    if kind == "integer":
        return rng.randint(1, 10)
    if kind == "number":
        return round(rng.uniform(1, 500), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        if depth > 6:
            return []
        return [_fake_value(g, name, schema.get("items") or {"type": "string"}, root, depth + 1)]
    if kind == "object":
        return {} if depth > 6 else _fake_args(g, schema, root, depth + 1)
    if "order" in lname:
        return g.order_id()
    if lname in ("location", "city", "place"):
        return rng.choice(CITIES)
    return g.words(2)


def _fake_args(g: TextGen, schema: JSON, root: JSON | None = None, depth: int = 0) -> JSON:
    if root is not None:
        schema = _resolve(schema, root)
    props = schema.get("properties") or {}
    return {k: _fake_value(g, k, v if isinstance(v, dict) else {}, root, depth) for k, v in props.items()}


def _json_reply(g: TextGen, response_format: Any) -> str | None:
    """The content a JSON ``response_format`` asks for: an instance of its schema, or an object."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return json.dumps({"answer": g.sentence()}, ensure_ascii=False)
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        return json.dumps({}, ensure_ascii=False)
    return json.dumps(_fake_value(g, "", schema, schema), ensure_ascii=False)


def _text_of(m: JSON) -> str:
    c = m.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _text_reply(g: TextGen, msgs: list[Any]) -> str:
    """Prose that quotes the question; after a tool result, the user's question it answers."""
    last = msgs[-1] if msgs and isinstance(msgs[-1], dict) else {}
    if last.get("role") == "tool":
        user = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
        result = " ".join(_text_of(last).split())[:80]
        asked = " ".join(_text_of(user[-1]).split())[:80] if user else ""
        prefix = f"Going by the tool result {result}, to \u201c{asked}\u201d: " if asked else ""
        return prefix + g.para(1, 3)
    asked = " ".join(_text_of(last).split())[:80]
    prefix = f"You asked: \u201c{asked}\u201d. " if asked else ""
    return prefix + g.para(1, 3)


def fake_completion(body: JSON, completion_id: str, created: int) -> JSON:
    """A deterministic reply to a create request: same request, same reply.

    With ``tools`` (and ``tool_choice`` not ``none``) and a last message that is not a tool result,
    the reply calls a tool with arguments made from its JSON schema; otherwise it is text, or, with
    a JSON ``response_format``, an instance of its schema (what ``chat.completions.parse`` needs).
    ``stream=True`` sends the same reply as chunks (``stream_chunks``).
    """
    msgs = body.get("messages") or []
    g = TextGen(random.Random(_digest([body.get("model"), msgs, body.get("tools")])))
    tools = [t for t in (body.get("tools") or []) if isinstance(t, dict)]
    choice = body.get("tool_choice")
    n = int(body.get("n") or 1)
    last = msgs[-1] if msgs else {}
    choices = []
    completion_tokens = 0
    for idx in range(n):
        message: JSON = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        logprobs: JSON | None = None
        finish = "stop"
        if tools and choice != "none" and last.get("role") != "tool":
            pick = tools[0]
            if isinstance(choice, dict):
                wanted = (choice.get("function") or choice.get("custom") or {}).get("name")
                pick = next(
                    (t for t in tools if (t.get("function") or t.get("custom") or {}).get("name") == wanted),
                    pick,
                )
            call_id = g.call_id()
            if pick.get("type") == "custom":
                call: JSON = {
                    "id": call_id,
                    "type": "custom",
                    "custom": {"name": pick["custom"].get("name", "tool"), "input": g.words(6)},
                }
            else:
                fn = pick.get("function") or {}
                params: JSON = fn["parameters"] if isinstance(fn.get("parameters"), dict) else {}
                args = _fake_args(g, params, params)
                call = {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": fn.get("name", "tool"),
                        "arguments": json.dumps(args, ensure_ascii=False),
                    },
                }
            message["tool_calls"] = [call]
            finish = "tool_calls"
            completion_tokens += 20
        else:
            text = _json_reply(g, body.get("response_format")) or _text_reply(g, msgs)
            max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
            if isinstance(max_tokens, int) and max_tokens > 0 and len(text) // 4 + 1 > max_tokens:
                text = text[: max_tokens * 4]
                finish = "length"
            message["content"] = text
            completion_tokens += len(text) // 4 + 1
            if body.get("logprobs") is True:
                top_raw = body.get("top_logprobs")
                top = top_raw if isinstance(top_raw, int) else 0
                logprobs = {"content": Corpus._logprobs(g, text, max(0, min(20, top))), "refusal": None}
        choices.append({"index": idx, "message": message, "logprobs": logprobs, "finish_reason": finish})
    prompt_tokens = sum(len(_text_of(m)) // 4 + 4 for m in msgs if isinstance(m, dict))
    tier = body.get("service_tier")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": tier if tier in ("flex", "priority", "scale") else "default",
        "system_fingerprint": "fp_emulator01",
    }


def _pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of about ``size`` characters at word ends (what a token stream looks like)."""
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.find(" ", end)
        if 0 <= space < start + 4 * size:
            end = space + 1
        out.append(text[start:end])
        start = end
    return out


def stream_chunks(comp: JSON, include_usage: bool) -> list[JSON]:
    """The ``chat.completion.chunk`` objects that stream ``comp``, as the API sends them.

    Per choice: a first chunk with the role (and empty content), the content or each tool call
    (its id, type and name first, then its arguments in pieces), then an empty delta with the
    finish reason. With ``include_usage`` every chunk carries ``usage: null`` and one more chunk,
    with no choices, carries the usage.
    """
    head: JSON = {
        k: comp[k] for k in ("id", "created", "model", "service_tier", "system_fingerprint") if k in comp
    }
    head["object"] = "chat.completion.chunk"

    def chunk(index: int, delta: JSON, finish: str | None = None) -> JSON:
        out: JSON = {
            **head,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    chunks: list[JSON] = []
    for c in comp.get("choices") or []:
        idx, msg = c["index"], c["message"]
        calls = msg.get("tool_calls") or []
        first: JSON = {"role": "assistant", "content": None if calls else "", "refusal": None}
        chunks.append(chunk(idx, first))
        for piece in _pieces(msg.get("content") or "", 12):
            chunks.append(chunk(idx, {"content": piece}))
        for k, call in enumerate(calls):
            if call.get("type") != "function":
                chunks.append(chunk(idx, {"tool_calls": [{"index": k, **call}]}))
                continue
            fn = call["function"]
            opening = {"name": fn["name"], "arguments": ""}
            chunks.append(
                chunk(
                    idx,
                    {"tool_calls": [{"index": k, "id": call["id"], "type": "function", "function": opening}]},
                )
            )
            for piece in _pieces(fn.get("arguments") or "", 8):
                chunks.append(chunk(idx, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}))
        chunks.append(chunk(idx, {}, c.get("finish_reason")))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": comp.get("usage")})
    return chunks


def _sse(chunks: list[JSON]) -> Response:
    """Server-sent events: one ``data:`` line per chunk, then ``data: [DONE]``."""

    async def events() -> AsyncIterator[bytes]:
        for c in chunks:
            yield b"data: " + _dumps(c) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


# --------------------------------------------------------------------------------------------
# HTTP layer


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _dumps(obj: Any) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # lone surrogates: send them escaped, as valid JSON
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(_dumps(obj), status_code=status, media_type="application/json")


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.",
            param=name,
            code="invalid_type",
        ) from None
    if value < lo:
        raise ApiError(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= {lo}, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if value > hi:
        raise ApiError(
            400,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {hi}, "
            f"but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


def _order_param(request: Request, default: str) -> str:
    order = request.query_params.get("order") or default
    if order not in ("asc", "desc"):
        raise ApiError(
            400,
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    return order


class BareError(Exception):
    """An error answered with exactly ``body`` (servers that do not speak OpenAI's error shape)."""

    def __init__(self, status: int, body: JSON):
        super().__init__(status)
        self.status = status
        self.body = body


def _check_metadata_limits(md: JSON | None) -> None:
    """The API's limits on ``metadata``: 16 keys, keys up to 64 characters, values up to 512."""
    if not md:
        return
    if len(md) > 16:
        raise ApiError(
            400,
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(md)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for k, v in md.items():
        if len(k) > 64:
            raise ApiError(
                400,
                f"Invalid 'metadata': key too long. Expected a key of at most 64 characters, "
                f"but got a key of {len(k)} characters instead.",
                param="metadata",
                code="invalid_value",
            )
        if len(v) > 512:
            raise ApiError(
                400,
                f"Invalid 'metadata.{k}': string too long. Expected a string with maximum length "
                f"512, but got a string with length {len(v)} instead.",
                param=f"metadata.{k}",
                code="string_above_max_length",
            )


def _not_found(completion_id: str, flavor: str = "openai") -> Exception:
    if flavor == "llama-stack":  # what Llama Stack 0.7.x answers for an unknown id: a 400
        return BareError(400, {"error": {"message": f"Chat completion with id '{completion_id}' not found"}})
    return ApiError(404, f"No chat completion found with id '{completion_id}'.", param=None, code=None)


async def _json_body(request: Request) -> JSON:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
        )
    return body


class _Api:
    """Route handlers; one instance per app, bound to the state and flavour."""

    def __init__(self, state: EmulatorState, options: EmulatorOptions):
        self.state = state
        self.flavor = options.flavor
        self.default_order = "desc" if options.flavor == "llama-stack" else "asc"
        self.max_limit = LLAMA_MAX_LIMIT if options.flavor == "llama-stack" else MAX_LIMIT

    def _check_version(self, request: Request) -> None:
        if request.scope.get("root_path_requires_version") and not request.query_params.get("api-version"):
            raise ApiError(
                400,
                "Missing required query parameter 'api-version'.",
                param="api-version",
                code="missing_api_version",
            )

    def _item(self, comp: JSON, msgs: list[JSON], in_list: bool) -> JSON:
        if self.flavor == "llama-stack":  # embedded as sent: request form, no message ids
            return {**comp, "input_messages": msgs}
        if self.flavor == "azure" and in_list and mix64(_digest(comp["id"])) % 7 == 0:
            return {
                **comp,
                "object": None,
                "choices": [{**c, "finish_reason": None} for c in comp.get("choices") or []],
            }
        return comp

    async def list_completions(self, request: Request) -> Response:
        self._check_version(request)
        qp = request.query_params
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, self.max_limit)
        order = _order_param(request, self.default_order)
        model = qp.get("model") or None
        metadata: dict[str, str] = {}
        llama = self.flavor == "llama-stack"
        for k, v in qp.multi_items():
            if k.startswith("metadata[") and k.endswith("]") and not llama:  # Llama Stack: no such filter
                metadata[k[len("metadata[") : -1]] = v
        after = qp.get("after") or None
        try:
            page, has_more = self.state.list_page(order, after, limit, model, metadata, created_cursor=llama)
        except KeyError:
            if llama:
                raise BareError(
                    400,
                    {"error": {"message": f"Record with id='{after}' not found in table 'chat_completions'"}},
                ) from None
            raise ApiError(
                400, f"Invalid 'after': no chat completion found with id '{after}'.", param="after", code=None
            ) from None
        data = [self._item(c, m, True) for c, m in page]
        body: JSON = {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
        if self.flavor == "azure":
            body["total"] = self.state.total(model, metadata)
        return json_response(body)

    async def retrieve(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        rec = self.state.get(cid)
        if rec is None:
            raise _not_found(cid, self.flavor)
        return json_response(self._item(rec[0], rec[1], False))

    async def update(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        body = await _json_body(request)
        if "metadata" not in body:
            raise ApiError(
                400,
                "Missing required parameter: 'metadata'.",
                param="metadata",
                code="missing_required_parameter",
            )
        md = body["metadata"]
        if md is not None and (
            not isinstance(md, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in md.items())
        ):
            raise ApiError(
                400,
                "Invalid type for 'metadata': expected an object with string values.",
                param="metadata",
                code="invalid_type",
            )
        _check_metadata_limits(md)
        try:
            comp = self.state.update_metadata(cid, md)
        except KeyError:
            raise _not_found(cid) from None
        rec = self.state.get(cid)
        return json_response(self._item(comp, rec[1] if rec else [], False))

    async def delete(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        if not self.state.delete(cid):
            raise _not_found(cid)
        return json_response({"object": "chat.completion.deleted", "id": cid, "deleted": True})

    async def messages(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        rec = self.state.get(cid)
        if rec is None:
            raise _not_found(cid)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        order = _order_param(request, "asc")
        items = store_messages(cid, rec[1])
        after = request.query_params.get("after") or None
        if order == "desc":
            items.reverse()
        start = 0
        if after:
            pos = next((k for k, m in enumerate(items) if m["id"] == after), None)
            if pos is None:
                raise ApiError(400, f"Invalid 'after': no message found with id '{after}'.", param="after")
            start = pos + 1
        page = items[start : start + limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": start + limit < len(items),
            }
        )

    async def create(self, request: Request) -> Response:
        self._check_version(request)
        body = await _json_body(request)
        deployment = request.path_params.get("deployment")
        if deployment and not body.get("model"):
            body["model"] = deployment
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise ApiError(400, "you must provide a model parameter", param="model")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
            raise ApiError(
                400,
                "Invalid 'messages': expected a non-empty array of message objects.",
                param="messages",
                code="invalid_type" if not isinstance(msgs, list) else "empty_array",
            )
        stream_options = body.get("stream_options")
        if stream_options is not None and not body.get("stream"):
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
                code="invalid_value",
            )
        if stream_options is not None and not isinstance(stream_options, dict):
            raise ApiError(
                400,
                "Invalid type for 'stream_options': expected an object.",
                param="stream_options",
                code="invalid_type",
            )
        n = body.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 8:
            raise ApiError(400, "Invalid 'n': expected an integer between 1 and 8.", param="n")
        md = body.get("metadata")
        if md is not None and not (isinstance(md, dict) and all(isinstance(v, str) for v in md.values())):
            raise ApiError(
                400,
                "Invalid type for 'metadata': expected an object with string values.",
                param="metadata",
                code="invalid_type",
            )
        _check_metadata_limits(md)
        state = self.state
        cid = state.create_id()
        created = state._now() if body.get("store") else max(int(state.clock()), 0)
        comp = fake_completion(body, cid, created)
        if body.get("store"):
            stored = {
                **comp,
                "metadata": dict(md or {}),
                "request_id": "req_" + random_id(random.Random(_digest(cid)), "", 32).lower(),
                "seed": body.get("seed") if isinstance(body.get("seed"), int) else _digest(cid) >> 1,
                "temperature": body.get("temperature", 1.0),
                "top_p": body.get("top_p", 1.0),
                "presence_penalty": body.get("presence_penalty", 0.0),
                "frequency_penalty": body.get("frequency_penalty", 0.0),
                "input_user": body.get("user"),
                "tools": body.get("tools"),
                "tool_choice": body.get("tool_choice"),
                "response_format": body.get("response_format"),
            }
            state.add_completion(stored, msgs)
            comp = {**comp, "metadata": dict(md or {})}
        if body.get("stream"):
            return _sse(stream_chunks(comp, bool((stream_options or {}).get("include_usage"))))
        return json_response(comp)


def _classify(path: str, method: str) -> str:
    """The kind of API request, for counters and fault decisions."""
    parts = [p for p in path.split("/") if p]
    try:
        k = parts.index("completions")
    except ValueError:
        return "other"
    if k == 0 or parts[k - 1] != "chat":
        return "other"
    rest = parts[k + 1 :]
    if not rest:
        return "list" if method == "GET" else ("create" if method == "POST" else "other")
    if len(rest) == 1:
        return {"GET": "retrieve", "POST": "update", "DELETE": "delete"}.get(method, "other")
    if len(rest) == 2 and rest[1] == "messages":
        return "messages" if method == "GET" else "other"
    return "other"


class _Gate:
    """Outer ASGI layer: counts, latency, auth, injected faults, then the routes."""

    def __init__(self, app: ASGIApp, state: EmulatorState, options: EmulatorOptions):
        self.app = app
        self.state = state
        self.flavor = options.flavor
        self.api_key = options.api_key
        self.faults = FaultInjector(options.faults) if options.faults.active() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        kind = _classify(path, method)
        record = RequestRecord(method, path, scope.get("query_string", b"").decode("latin-1"), kind)
        state = self.state
        with state.lock:
            state.counters["total"] += 1
            state.counters[kind] += 1
            state.request_log.append(record)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if self.faults is not None and kind != "other":
            await self.faults.delay()
        denied = self._auth(scope)
        if denied is not None:
            await denied(scope, receive, recording_send)
            return
        out_send: Send = recording_send
        if self.faults is not None and kind != "other":
            canned = self.faults.before()
            if canned is not None:
                record.fault = canned.fault
                with state.lock:
                    state.counters["fault:" + canned.fault] += 1
                await recording_send(
                    {
                        "type": "http.response.start",
                        "status": canned.status,
                        "headers": [*canned.headers, (b"content-length", str(len(canned.body)).encode())],
                    }
                )
                await recording_send({"type": "http.response.body", "body": canned.body})
                return
            mode = self.faults.body_fault(method)
            if mode is not None:
                record.fault = mode
                with state.lock:
                    state.counters["fault:" + mode] += 1
                out_send = self.faults.wrap_send(recording_send, mode)
        await self.app(scope, receive, out_send)

    def _auth(self, scope: Scope) -> Response | None:
        if not self.api_key:
            return None
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if self.flavor == "azure":  # the key goes in `api-key`; a Bearer there is an Entra token, not a key
            given = headers[b"api-key"].decode("latin-1") if b"api-key" in headers else None
        if given == self.api_key:
            return None
        if self.flavor == "azure":
            return json_response(
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                        "provide a valid key for an active subscription and use a correct regional API "
                        "endpoint for your resource.",
                    }
                },
                401,
            )
        if not given:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
                "field (with blank username) if you're accessing the API from your browser and are "
                "prompted for a username and password. You can obtain an API key from "
                "https://platform.openai.com/account/api-keys."
            )
            code = None
        else:
            masked = f"{given[:3]}*{given[-4:]}" if len(given) > 8 else "***"
            message = (
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            code = "invalid_api_key"
        return json_response(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}, 401
        )


def _routes(api: _Api) -> list[Route]:
    """The flavour's routes. Llama Stack has no /messages, update or delete; routers may lack the writes."""
    routes = [
        Route("/chat/completions", api.list_completions, methods=["GET"]),
        Route("/chat/completions", api.create, methods=["POST"]),
        Route("/chat/completions/{completion_id}", api.retrieve, methods=["GET"]),
    ]
    if api.flavor not in ("llama-stack", "router"):
        routes += [
            Route("/chat/completions/{completion_id}", api.update, methods=["POST"]),
            Route("/chat/completions/{completion_id}", api.delete, methods=["DELETE"]),
        ]
    if api.flavor != "llama-stack":
        routes.append(Route("/chat/completions/{completion_id}/messages", api.messages, methods=["GET"]))
    return routes


class _RequireVersion:
    """Marks requests under Azure's dated ``/openai`` routes: they need ``?api-version=``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path_requires_version": True}
        await self.app(scope, receive, send)


def base_path(flavor: str) -> str:
    """The path clients put in their base URL: ``/v1`` or, for Azure, ``/openai/v1``."""
    return "/openai/v1" if flavor == "azure" else "/v1"


def create_app(state: EmulatorState, options: EmulatorOptions) -> ASGIApp:
    """The ASGI app serving ``state`` the way ``options.flavor`` does."""
    options.validate()
    api = _Api(state, options)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return json_response(exc.body, exc.status)

    async def bare_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BareError)
        return json_response(exc.body, exc.status)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if options.flavor == "llama-stack":  # FastAPI's own answers for an unknown route or method
            return json_response({"detail": "Not Found" if status == 404 else "Method Not Allowed"}, status)
        if options.flavor == "router" and status == 405:  # routers answer a route they lack with a 404
            status = 404
        return json_response(
            {
                "error": {
                    "message": f"Invalid URL ({request.method} {request.url.path})",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            404 if status == 404 else status,
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        return json_response(
            {
                "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
            500,
        )

    routes: list[Route | Mount]
    if options.flavor == "azure":
        versioned = Starlette(
            routes=[
                *_routes(api),
                Route("/deployments/{deployment}/chat/completions", api.create, methods=["POST"]),
            ],
            exception_handlers={ApiError: api_error, BareError: bare_error, 404: not_found, 405: not_found},
        )
        routes = [Mount("/openai/v1", routes=_routes(api)), Mount("/openai", app=_RequireVersion(versioned))]
    else:
        routes = [Mount("/v1", routes=_routes(api))]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_drift_loop(state, options.drift_every)) if options.drift_every else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: api_error,
            BareError: bare_error,
            404: not_found,
            405: not_found,
            500: server_error,
        },
        lifespan=lifespan,
    )
    return _Gate(app, state, options)


async def _drift_loop(state: EmulatorState, every: float) -> None:
    """Keep the upstream moving for demos: new completions, a late one, a deletion, an update."""
    rng = random.Random(mix64(state.corpus.seed ^ 0xD21F7))
    while True:
        await asyncio.sleep(every)
        state.drift(
            new=rng.randint(1, 3),
            late=int(rng.random() < 0.3),
            deleted=int(rng.random() < 0.2),
            updated=int(rng.random() < 0.3),
        )


def make_state(options: EmulatorOptions) -> EmulatorState:
    """The state for ``options``: a corpus of ``count`` completions from ``seed`` at ``now``."""
    corpus = Corpus(options.count, seed=options.seed, now=options.now)
    state = EmulatorState(corpus, flavor=options.flavor, burst=options.burst)
    if options.chats:
        for call in chats(corpus.now, options.seed):
            state.add_completion(call.completion, call.messages)
    return state
