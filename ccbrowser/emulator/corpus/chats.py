"""Threaded chats: stored completions that continue one another, with the truth about each.

The generated corpus (`generate.py`) makes every completion on its own; real accounts hold
conversations, where each call sends the whole history again. These chats are built the way a
client builds them (the previous output appended in the form SDKs send back: nulls and
output-only fields dropped, tool arguments re-encoded), so that tests, the demo and the
screenshots have conversations whose structure is known:

- a multi-turn chat whose system prompt holds the current date and time (it changes every call);
- a chat with a regenerated answer and an edited question (three branches of one parent);
- a support chat with a two-step tool loop inside one turn;
- a call asking for three choices (`n = 3`), continued from its third choice;
- a long chat whose client then drops the early history (a sliding window) and goes on: a new
  thread that *continues* the old one;
- two unrelated chats that open with the same message, never merged.

`chats(now)` is deterministic: the same `now` and `seed` give the same objects and ids.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ccbrowser.emulator.corpus.ids import ID_PREFIX, random_id

JSON = dict[str, Any]


@dataclass
class Call:
    """One stored completion: the API object, its input messages (request form) and the truth."""

    completion: JSON
    messages: list[JSON]
    parent: str | None = None  # the call whose output this one's history continues
    choice: int | None = None  # which of the parent's choices
    continues: str | None = None  # after a cut history: the call whose last exchange it kept
    tool_step: bool = False
    chat: str = ""  # which scripted chat it belongs to

    @property
    def id(self) -> str:
        return str(self.completion["id"])


@dataclass
class _Script:
    calls: list[Call]
    rng: random.Random
    clock: int
    model: str = "gpt-4.1"
    name: str = ""
    history: list[JSON] = field(default_factory=list)
    last: Call | None = None
    system: str | None = None
    dated: bool = False
    cut_from: str | None = None

    def _system(self) -> list[JSON]:
        if self.system is None:
            return []
        text = self.system
        if self.dated:
            d = datetime.fromtimestamp(self.clock, UTC)
            text = f"{text} Today is {d:%A, %d %B %Y}; the time is {d:%H:%M} UTC."
        return [{"role": "system", "content": text}]

    def send(self, appended: list[JSON], outputs: list[JSON], *, tool_step: bool = False) -> Call:
        self.clock += self.rng.randint(40, 400)
        self.history.extend(appended)
        inputs = self._system() + [json.loads(json.dumps(m)) for m in self.history]
        parent = self.last if any(m["role"] == "assistant" for m in self.history) else None
        prompt = sum(len(json.dumps(m)) for m in inputs) // 4
        completion_tokens = sum(len(json.dumps(o)) for o in outputs) // 4
        comp: JSON = {
            "id": random_id(self.rng, ID_PREFIX, 29),
            "object": "chat.completion",
            "created": self.clock,
            "model": self.model,
            "choices": [
                {
                    "index": j,
                    "message": out,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if out.get("tool_calls") else "stop",
                }
                for j, out in enumerate(outputs)
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt + completion_tokens,
            },
            "service_tier": "default",
            "metadata": {},
        }
        if len(outputs) > 1:
            comp["n"] = len(outputs)
        call = Call(
            comp,
            inputs,
            parent.id if parent else None,
            self.choice if parent else None,
            self.cut_from,
            tool_step,
            self.name,
        )
        self.calls.append(call)
        self.last, self.choice, self.cut_from = call, 0, None
        return call

    choice: int = 0

    def take(self, choice: int = 0) -> None:
        """Append the last output to the history as a client sends it back."""
        assert self.last is not None
        msg = self.last.completion["choices"][choice]["message"]
        back = {k: v for k, v in msg.items() if k not in ("refusal", "annotations") and v is not None}
        if "tool_calls" in back:
            back["tool_calls"] = [
                {
                    **c,
                    "function": {
                        **c["function"],
                        "arguments": json.dumps(json.loads(c["function"]["arguments"]), indent=1),
                    },
                }
                for c in back["tool_calls"]
            ]
        self.history.append(back)
        self.choice = choice

    def say(self, text: str, *answers: str, calls: list[JSON] | None = None) -> Call:
        if self.last is not None and self.history and self.history[-1]["role"] != "assistant":
            self.take(self.choice)
        outs = [_output(calls=calls)] if calls else [_output(a) for a in answers]
        return self.send([{"role": "user", "content": text}], outs)

    def tools(self, results: list[str], answer: str | None = None, calls: list[JSON] | None = None) -> Call:
        assert self.last is not None
        self.take(0)
        sent = self.last.completion["choices"][0]["message"]["tool_calls"]
        appended = [
            {"role": "tool", "tool_call_id": c["id"], "content": r}
            for c, r in zip(sent, results, strict=True)
        ]
        out = _output(calls=calls) if calls else _output(answer)
        return self.send(appended, [out], tool_step=True)

    def fork(self) -> _Script:
        return _Script(
            self.calls,
            self.rng,
            self.clock,
            self.model,
            self.name,
            list(self.history),
            self.last,
            self.system,
            self.dated,
            None,
            self.choice,
        )


def _output(text: str | None = None, calls: list[JSON] | None = None) -> JSON:
    msg: JSON = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    if calls:
        msg["tool_calls"] = calls
    return msg


def _call(rng: random.Random, name: str, **args: Any) -> JSON:
    return {
        "id": random_id(rng, "call_", 24),
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def chats(now: int, seed: int = 1) -> list[Call]:
    """Every scripted chat, over the two days before `now`, in creation order."""
    rng = random.Random(seed * 7919 + 17)
    calls: list[Call] = []
    start = now - 2 * 86_400

    def script(name: str, offset: int, **kw: Any) -> _Script:
        return _Script(calls, rng, start + offset, name=name, **kw)

    trip = script("trip", 0, system="You are a travel assistant. Be concise.", dated=True)
    trip.say(
        "I want to spend four days in Lisbon in April. Where should I stay?",
        "Stay in Baixa or Chiado: central, walkable, close to the river and the trams. Alfama is "
        "quieter and full of character, but hilly.",
    )
    trip.say(
        "What should I not miss?",
        "The Belém tower and the Jerónimos monastery, a ride on tram 28, the view from the "
        "Miradouro da Senhora do Monte, and a pastel de nata at Manteigaria.",
    )
    trip.say(
        "Is a day trip to Sintra worth it?",
        "Yes: take the train from Rossio (40 minutes), start early at the Pena palace, then walk "
        "down to the Quinta da Regaleira. Book palace tickets ahead in April.",
    )
    trip.say(
        "Thanks! Make me a short plan for the four days.",
        "Day 1: Baixa, Chiado and the river. Day 2: Belém. Day 3: Sintra. Day 4: Alfama, the "
        "castle and a fado evening.",
    )

    poem = script("haiku", 3_000, model="gpt-4o", system="You write haiku, nothing else.")
    poem.say(
        "A haiku about rain on a tin roof.",
        "Tin roof drums all night / the sky empties its pockets / I count every coin",
    )
    base = poem.fork()
    base.take()
    first, again, edit = base.fork(), base.fork(), base.fork()
    first.say(
        "Now one about snow.",
        "Snow on the tin roof / the drumming stops mid-sentence / silence, white and deep",
    )
    again.say(
        "Now one about snow.",
        "The roof holds its breath / each flake lands without a sound / winter keeps a secret",
    )
    edit.say("Now one about hail.", "Hail on the tin roof / a thousand tiny hammers / building nothing there")
    first.say(
        "And one about fog.", "Fog swallows the roof / the tin forgets it was loud / only dripping stays"
    )

    desk = script(
        "support", 6_000, model="gpt-4.1-mini", system="You are the support agent of an online shop."
    )
    desk.say(
        "My order A-8812 never arrived. Can I get a refund?",
        calls=[_call(rng, "lookup_order", order_id="A-8812")],
    )
    desk.tools(
        ['{"order_id": "A-8812", "status": "lost in transit", "total": 42.5}'],
        calls=[_call(rng, "refund_order", order_id="A-8812", amount=42.5)],
    )
    desk.tools(
        ['{"refund_id": "R-1907", "status": "refunded"}'],
        "Done: order A-8812 was refunded (42.50 EUR, refund R-1907). It shows on your card in 3 to 5 days.",
    )
    desk.say("Great, thank you!", "You are welcome. Anything else I can help with?")

    names = script("names", 9_000, model="gpt-4o-mini")
    names.say(
        "Three names for a grey kitten, one per answer.",
        "Smoke: soft, grey and always drifting from room to room.",
        "Pebble: small, round and found in the oddest places.",
        "Ash: short, warm and a little mysterious for a kitten.",
    )
    names.take(2)
    names.say(
        "I like Ash. Two more in that style?",
        "Cinder, a spark of mischief; and Flint, small but sharp-witted.",
    )

    tutor = script("tutor", 12_000, system="You are a patient physics tutor.")
    questions = [
        (
            "Why is the sky blue?",
            "Sunlight scatters off air molecules, and short blue wavelengths scatter far more than red ones (Rayleigh scattering), so blue light reaches us from every direction.",
        ),
        (
            "Then why are sunsets red?",
            "At sunset the light crosses much more air; most of the blue is scattered away before it reaches you, leaving the reds and oranges.",
        ),
        (
            "Does the same happen on Mars?",
            "Mars has a thin, dusty atmosphere: the fine dust scatters red light in the day sky, and its sunsets look blue near the sun.",
        ),
    ]
    for q, a in questions:
        tutor.say(q, a)
    kept = tutor.last
    tutor.take()
    tutor.history = tutor.history[-2:]  # the client keeps only the last exchange
    tutor.last = None
    tutor.cut_from = kept.id if kept else None
    tutor.say(
        "What colour would the sky be with no atmosphere at all?",
        "Black, even at noon: with nothing to scatter the light, only the sun and the stars would show.",
    )

    for n, follow in enumerate(
        ("What is a good first programming language?", "How do I keep basil alive indoors?")
    ):
        hello = script(
            f"hello-{n}", 15_000 + n * 900, model="gpt-4o-mini", system="You are a helpful assistant."
        )
        hello.say("Hello", ("Hello! How can I help you today?", "Hi there! What can I do for you?")[n])
        hello.say(
            follow,
            "Python for programming, it reads like English; a sunny window and little water for basil."
            if n == 0
            else "Give it a sunny window, water when the top soil is dry, and pinch off the flowers.",
        )
    calls.sort(key=lambda c: (c.completion["created"], c.id))
    return calls
