"""Deterministic, realistic stored chat completions, generated on demand.

Completion ``i`` is a pure function of ``(seed, i, now)``: nothing is held in memory, so a corpus of
a million costs nothing until a page is asked for, any page is O(page), and the same seed gives the
same JSON on every machine. Ids embed a keyed, reversible permutation of ``i`` so that an id decodes
back to its index without a lookup table.

The data is meant to look like a real account: a handful of long system prompts shared by
thousands of completions, multi-turn histories (a few over 100 messages), tool calls (parallel,
custom, some with invalid JSON arguments), refusals, audio transcripts, web citations, logprobs,
n>1, non-English text and long pastes, with Zipf-distributed words so that search benchmarks see
both very common and very rare terms.
"""

from __future__ import annotations

import base64
import bisect
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ccbrowser.emulator.corpus.ids import (
    _M64,
    ID_BODY_LEN,
    ID_PREFIX,
    _feistel,
    _unb62,
    _unfeistel,
    b62,
    mix64,
    random_id,
)
from ccbrowser.emulator.corpus.scenarios import (
    _ENVS,
    _FINGERPRINTS,
    _MODEL_CHOICES,
    _SCEN_CUM,
    _SCEN_NAMES,
    SCENARIO_TOOLS,
    SCENARIOS,
    TOOLS,
    Header,
    _tokens,
)
from ccbrowser.emulator.corpus.text import (
    TextGen,
    _assistant_text,
    _history_length,
    _make_tool_calls,
    _tool_messages,
    _user_text,
)
from ccbrowser.emulator.corpus.words import FIRST_NAMES, REFUSALS, RULES, SYSTEM_TOPICS, WORDS

JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# The corpus

DAY = 86_400
SPAN_DAYS = 30
_HOURS = SPAN_DAYS * 24


class Corpus:
    """``count`` stored completions over the 30 days before ``now``; completion ``i`` from ``(seed, i)``.

    ``created`` ascends with ``i`` (ties allowed) and follows a daily/weekly activity curve.
    ``record(i)`` is cached and shared (do not mutate it); ``completion(i)`` and
    ``input_messages(i)`` return fresh objects.
    """

    CACHE_SIZE = 2048

    def __init__(self, count: int, seed: int = 1, now: int | None = None):
        if count < 0:
            raise ValueError("count must be >= 0")
        self.count = count
        self.seed = seed
        self.now = int(now) if now is not None else int(time.time()) // 3600 * 3600
        self.start = self.now - SPAN_DAYS * DAY
        base = mix64(seed & _M64)
        self._k_id = mix64(base ^ 0x1D)
        self._k_fill1 = mix64(base ^ 0x2E)
        self._k_fill2 = mix64(base ^ 0x3F)
        self._k_head = mix64(base ^ 0x4A)
        self._k_body = mix64(base ^ 0x5B)
        self._hour_cum = self._activity_curve(random.Random(base ^ 0x6C))
        self._system_prompts = self._make_system_prompts(random.Random(base ^ 0x7D))
        self._cache: dict[int, tuple[JSON, list[JSON]]] = {}

    # ---- time ------------------------------------------------------------------------------

    @staticmethod
    def _activity_curve(rng: random.Random) -> list[float]:
        """Cumulative share of traffic per hour: busy working hours, quiet nights and weekends."""
        weights = []
        day_factor = [rng.uniform(0.7, 1.3) for _ in range(SPAN_DAYS)]
        for h in range(_HOURS):
            hod, day = h % 24, h // 24
            w = 1.0 if 8 <= hod < 19 else (0.55 if 19 <= hod < 23 else 0.2)
            if day % 7 in (5, 6):
                w *= 0.45
            weights.append(w * day_factor[day])
        total = sum(weights)
        cum = [0.0]
        for w in weights:
            cum.append(cum[-1] + w / total)
        cum[-1] = 1.0
        return cum

    def created(self, i: int) -> int:
        """Creation time of completion ``i``: monotone in ``i``, O(log hours)."""
        u = (mix64(self._k_head ^ (i * 2 + 1)) >> 11) / float(1 << 53)
        p = (i + u) / self.count
        cum = self._hour_cum
        k = min(bisect.bisect_right(cum, p) - 1, _HOURS - 1)
        width = cum[k + 1] - cum[k]
        frac = (p - cum[k]) / width if width > 0 else 0.0
        return min(self.start + int((k + frac) * 3600), self.now - 1)

    # ---- ids -------------------------------------------------------------------------------

    def id_of(self, i: int) -> str:
        """``chatcmpl-`` + 29 alphanumerics: a keyed permutation of ``i`` plus keyed filler."""
        head = b62(_feistel(i, self._k_id), 11)
        fill = b62(mix64(self._k_fill1 ^ i), 11) + b62(mix64(self._k_fill2 ^ i), 11)[:7]
        return ID_PREFIX + head + fill

    def index_of(self, completion_id: str) -> int | None:
        """The index encoded in a corpus id, or None when the id is not from this corpus."""
        if len(completion_id) != len(ID_PREFIX) + ID_BODY_LEN or not completion_id.startswith(ID_PREFIX):
            return None
        x = _unb62(completion_id[len(ID_PREFIX) : len(ID_PREFIX) + 11])
        if x is None or x > _M64:
            return None
        i = _unfeistel(x, self._k_id)
        if i >= self.count or self.id_of(i) != completion_id:
            return None
        return i

    # ---- cheap header ----------------------------------------------------------------------

    def header(self, i: int) -> Header:
        """Model, scenario and metadata of ``i`` without generating any text (for list filters)."""
        rng = random.Random(self._k_head ^ (i * 2))
        scenario = _SCEN_NAMES[bisect.bisect_right(_SCEN_CUM, rng.random() * _SCEN_CUM[-1])]
        models, mcum = _MODEL_CHOICES[scenario]
        model = rng.choices(models, cum_weights=mcum)[0]
        return Header(i, self.created(i), model, scenario, self._metadata(rng, i, scenario))

    def model_of(self, i: int) -> str:
        return self.header(i).model

    def _metadata(self, rng: random.Random, i: int, scenario: str) -> dict[str, str]:
        if rng.random() < 0.08:
            return {}
        block = i // 6  # consecutive completions share a session and (mostly) a user
        bh = mix64(self._k_head ^ (block << 1) ^ 0xABCDEF)
        user = 1000 + (bh % 97) * (bh % 89) if rng.random() < 0.85 else rng.randint(1000, 9999)
        md = {
            "env": _ENVS[bh % len(_ENVS)],
            "user": f"user_{user}",
            "feature": rng.choice(SCENARIOS[scenario][2]),
            "session": f"sess_{bh & 0xFFFFFFFFFF:010x}",
        }
        if rng.random() < 0.2:
            md["experiment"] = rng.choice(["prompt-v2", "prompt-v3", "rerank-on", "long-context"])
        if rng.random() < 0.3:
            md["app_version"] = f"2.{rng.randint(10, 16)}.{rng.randint(0, 9)}"
        return md

    # ---- full objects ----------------------------------------------------------------------

    def record(self, i: int) -> tuple[JSON, list[JSON]]:
        """(completion, input messages in request form), cached; shared objects: do not mutate."""
        hit = self._cache.get(i)
        if hit is not None:
            return hit
        if not 0 <= i < self.count:
            raise IndexError(i)
        rec = self._build(i)
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[i] = rec
        return rec

    def completion(self, i: int) -> JSON:
        """Completion ``i`` exactly as ``GET /chat/completions/{id}`` returns it (a fresh object)."""
        if not 0 <= i < self.count:
            raise IndexError(i)
        return self._build(i)[0]

    def input_messages(self, i: int) -> list[JSON]:
        """The input messages of ``i`` as ``GET /chat/completions/{id}/messages`` items (fresh)."""
        if not 0 <= i < self.count:
            raise IndexError(i)
        comp, msgs = self._build(i)
        return store_messages(comp["id"], msgs)

    def pair(self, i: int) -> tuple[JSON, list[JSON]]:
        """(completion, input messages as ``/messages`` items), fresh, from one generation: the
        fastest way to get both (what ``write_jsonl`` and the import format use)."""
        if not 0 <= i < self.count:
            raise IndexError(i)
        comp, msgs = self._build(i)
        return comp, store_messages(comp["id"], msgs)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[JSON]:
        for i in range(self.count):
            yield self.completion(i)

    # ---- generation ------------------------------------------------------------------------

    def _make_system_prompts(self, rng: random.Random) -> list[tuple[str, str]]:
        """A handful of long system prompts, each shared by thousands of completions."""
        g = TextGen(rng)
        prompts = []
        for key, intro in SYSTEM_TOPICS:
            rules = rng.sample(RULES, k=rng.randint(5, 9))
            body = [intro, "", "# Rules"] + [f"- {r}" for r in rules] + ["", "# Background"]
            body += [g.para(3, 6) for _ in range(rng.randint(3, 12))]
            prompts.append((key, "\n".join(body)))
        return prompts

    def _system_prompt(self, rng: random.Random, scenario: str) -> str:
        wanted = {
            "support": "support",
            "multilingual": "support",
            "docs": "docs",
            "code": "code",
            "weather": "travel",
            "analytics": "analytics",
            "writer": "writer",
            "voice": "voice",
            "search": "docs",
        }.get(scenario)
        for key, text in self._system_prompts:
            if key == wanted and rng.random() < 0.9:
                return text
        return rng.choice(self._system_prompts)[1]

    def _build(self, i: int) -> tuple[JSON, list[JSON]]:
        h = self.header(i)
        rng = random.Random(self._k_body ^ i)
        g = TextGen(rng)
        scenario, model = h.scenario, h.model
        reasoning = model.startswith("o")
        tool_names = SCENARIO_TOOLS.get(scenario, [])

        # -- input messages (request form)
        msgs: list[JSON] = []
        target = _history_length(rng)
        if rng.random() < 0.9 and scenario != "risky":
            msgs.append(
                {
                    "role": "developer" if reasoning else "system",
                    "content": self._system_prompt(rng, scenario),
                }
            )
        first = True
        while True:
            content: Any = _user_text(g, scenario, first)
            if scenario in ("chat", "docs", "support") and rng.random() < 0.06:
                content = [
                    {"type": "text", "text": content},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": f"https://images.example.com/uploads/{random_id(rng, '', 12)}.jpg",
                            "detail": rng.choice(["auto", "low", "high"]),
                        },
                    },
                ]
            user_msg: JSON = {"role": "user", "content": content}
            if rng.random() < 0.05:
                user_msg["name"] = rng.choice(FIRST_NAMES).lower()
            msgs.append(user_msg)
            first = False
            if len(msgs) >= target:
                break
            if tool_names and rng.random() < 0.45:
                calls = _make_tool_calls(g, scenario)
                msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
                msgs.extend(_tool_messages(g, calls))
                if len(msgs) >= target and rng.random() < 0.5:
                    break  # the model now answers from the tool results
            msgs.append({"role": "assistant", "content": _assistant_text(g, scenario)})
            if len(msgs) >= target:
                msgs.append({"role": "user", "content": _user_text(g, scenario, False)})
                break

        # -- the output
        cid = self.id_of(i)
        created = h.created
        n = 1
        if scenario in ("chat", "writer") and rng.random() < 0.06:
            n = rng.randint(2, 3)
        want_logprobs = scenario in ("chat", "writer", "multilingual") and rng.random() < 0.06
        top_logprobs = rng.randint(0, 5) if want_logprobs else None
        completion_tokens = 0
        reasoning_tokens = rng.randint(1, 40) * 64 if reasoning else 0
        audio_tokens = 0
        choices: list[JSON] = []
        last_role = msgs[-1]["role"]
        used_tools = False
        for idx in range(n):
            message: JSON = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
            finish = "stop"
            logprobs: JSON | None = None
            if scenario == "risky":
                message["refusal"] = rng.choice(REFUSALS)
                completion_tokens += _tokens(message["refusal"])
            elif tool_names and last_role == "user" and rng.random() < 0.6:
                calls = _make_tool_calls(g, scenario)
                message["tool_calls"] = calls
                used_tools = True
                finish = "tool_calls"
                completion_tokens += sum(_tokens(json.dumps(c)) for c in calls)
            elif scenario == "voice":
                transcript = g.para(1, 3)
                audio_bytes = b"RIFF" + rng.randbytes(44)
                message["audio"] = {
                    "id": random_id(rng, "audio_", 24),
                    "expires_at": created + 3600,
                    "data": base64.b64encode(audio_bytes).decode(),
                    "transcript": transcript,
                }
                audio_tokens = _tokens(transcript) * 6
                completion_tokens += audio_tokens + _tokens(transcript)
            elif scenario == "search":
                text, annotations = self._cited_answer(g)
                message["content"] = text
                message["annotations"] = annotations
                completion_tokens += _tokens(text)
            else:
                if want_logprobs:
                    text = g.sentence(8, 30)
                else:
                    text = _assistant_text(g, scenario)
                r = rng.random()
                if r < 0.04:
                    finish = "length"
                    text = text[: max(1, int(len(text) * rng.uniform(0.3, 0.9)))]
                elif r < 0.047:
                    finish = "content_filter"
                    text = text[: max(1, int(len(text) * rng.uniform(0.1, 0.5)))]
                message["content"] = text
                completion_tokens += _tokens(text)
                if want_logprobs:
                    logprobs = {"content": self._logprobs(g, text, top_logprobs or 0), "refusal": None}
            choices.append({"index": idx, "message": message, "logprobs": logprobs, "finish_reason": finish})

        # -- usage and the extra fields the real API echoes back
        prompt_tokens = sum(_message_tokens(m) for m in msgs) + 3 * len(msgs)
        cached = 0
        if prompt_tokens > 1024 and rng.random() < 0.6:
            cached = (prompt_tokens * rng.randint(3, 9) // 10) // 128 * 128
        completion_tokens += reasoning_tokens
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning_tokens,
                "audio_tokens": audio_tokens,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        tools = [TOOLS[t] for t in tool_names] if tool_names else None
        tool_choice: Any = None
        if tools:
            tool_choice = "auto"
            if used_tools and rng.random() < 0.15:
                tool_choice = "required"
        md = h.metadata
        r = rng.random()
        tier = "default" if r < 0.85 else ("flex" if r < 0.95 else "priority")
        response_format: Any = None
        if scenario == "analytics" and rng.random() < 0.3:
            response_format = {"type": "json_object"}
        comp: JSON = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage,
            "service_tier": tier,
            "system_fingerprint": _FINGERPRINTS[sum(map(ord, model)) % len(_FINGERPRINTS)],
            "metadata": dict(md),
            "request_id": "req_"
            + b62(mix64(self._k_fill1 ^ (i << 3)), 11)
            + b62(mix64(self._k_fill2 ^ (i << 3)), 11),
            "seed": mix64(self._k_body ^ (i << 2)) >> 1,
            "temperature": 1.0 if reasoning else rng.choice([1.0, 1.0, 0.7, 0.2, 0.0]),
            "top_p": 1.0,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
            "input_user": md.get("user") if md and rng.random() < 0.5 else None,
            "tools": tools,
            "tool_choice": tool_choice,
            "response_format": response_format,
        }
        if reasoning:
            comp["reasoning_effort"] = rng.choice(["low", "medium", "medium", "high"])
        if want_logprobs:
            comp["logprobs"] = True
            comp["top_logprobs"] = top_logprobs
        if n > 1:
            comp["n"] = n
        return comp, msgs

    def _cited_answer(self, g: TextGen) -> tuple[str, list[JSON]]:
        rng = g.rng
        pieces: list[str] = []
        annotations: list[JSON] = []
        pos = 0
        for _ in range(rng.randint(2, 4)):
            s = g.sentence() + " "
            pieces.append(s)
            pos += len(s)
            site = rng.choice(
                ["reuters.com", "apnews.com", "bbc.co.uk", "lemonde.fr", "nature.com", "nikkei.com"]
            )
            url = f"https://www.{site}/{g.words(1)}/{g.words(1)}-{rng.randint(1000, 99999)}?utm_source=openai"
            link = f"([{site}]({url}))"
            annotations.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "start_index": pos,
                        "end_index": pos + len(link),
                        "url": url,
                        "title": g.words(5).title(),
                    },
                }
            )
            pieces.append(link + " ")
            pos += len(link) + 1
        return "".join(pieces).rstrip(), annotations

    @staticmethod
    def _logprobs(g: TextGen, text: str, top: int) -> list[JSON]:
        rng = g.rng
        tokens: list[str] = []
        for n, word in enumerate(text.split(" ")):
            tokens.append(word if n == 0 else " " + word)
        out = []
        for tok in tokens[:120]:
            lp = -rng.expovariate(4.0)
            alts = [{"token": tok, "logprob": lp, "bytes": list(tok.encode())}]
            for _ in range(max(0, top - 1)):
                alt = " " + rng.choice(WORDS)
                alts.append({"token": alt, "logprob": lp - rng.expovariate(0.7), "bytes": list(alt.encode())})
            out.append({"token": tok, "logprob": lp, "bytes": list(tok.encode()), "top_logprobs": alts[:top]})
        return out


def _message_tokens(m: JSON) -> int:
    c = m.get("content")
    if isinstance(c, str):
        n = _tokens(c)
    elif isinstance(c, list):
        n = sum(_tokens(p.get("text", "")) if p.get("type") == "text" else 85 for p in c)
    else:
        n = 0
    for call in m.get("tool_calls") or ():
        n += _tokens(json.dumps(call))
    return n


def store_message(completion_id: str, n: int, m: JSON) -> JSON:
    """One input message as the ``/messages`` endpoint returns it (id ``<completion id>-<n>``).

    Content parts come back in ``content_parts``; ``content`` then carries their text, joined.
    """
    content = m.get("content")
    parts = None
    if isinstance(content, list):
        parts = [p for p in content if p.get("type") in ("text", "image_url")]
        content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
    out: JSON = {
        "id": f"{completion_id}-{n}",
        "role": m.get("role", "user"),
        "content": content,
        "refusal": None,
        "name": m.get("name"),
        "content_parts": parts,
    }
    if m.get("tool_calls"):
        out["tool_calls"] = m["tool_calls"]
    if "tool_call_id" in m:
        out["tool_call_id"] = m["tool_call_id"]
    return out


def store_messages(completion_id: str, msgs: list[JSON]) -> list[JSON]:
    return [store_message(completion_id, n, m) for n, m in enumerate(msgs)]


def write_jsonl(path: str | Path, count: int, seed: int = 1, now: int | None = None) -> int:
    """Write ``count`` completions in the import format, one ``{"completion", "input_messages"}`` a line.

    ``input_messages`` are in the ``/messages`` item form. Returns the number of lines written.
    """
    corpus = Corpus(count, seed=seed, now=now)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            comp, messages = corpus.pair(i)
            line = {"completion": comp, "input_messages": messages}
            fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    return count
