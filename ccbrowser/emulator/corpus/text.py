"""Text for one completion, drawn from its own random stream: prose, tool arguments, tool results."""

from __future__ import annotations

import json
import random
from array import array
from typing import Any

from ccbrowser.emulator.corpus.ids import random_id
from ccbrowser.emulator.corpus.scenarios import _FAMOUS_ORDERS, _REGIONS, SCENARIO_TOOLS
from ccbrowser.emulator.corpus.words import (
    _BIG_ENDIAN,
    _CONTENT_TABLE,
    _TABLE,
    CITIES,
    CODE_SNIPPETS,
    EMOJI,
    ERRORS,
    FIRST_NAMES,
    FOREIGN,
    LANGS_CODE,
    PRODUCTS,
    RISKY_ASKS,
    TOPICS,
)

JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Text generation for one completion

# Sentence frames read like prose in a screenshot; the {w} slots draw from the Zipf vocabulary so
# word frequencies keep their long tail.
_NOUNS = (
    "order account request server model customer report invoice ticket dashboard query cache index "
    "deployment release feature budget forecast recipe flight meeting document schedule team project "
    "database pipeline refund shipment password setting webhook export backup cluster"
).split()
_VERBS = (
    "check update review ship refund deploy restart migrate export import summarise translate compare "
    "retry cancel confirm rename archive restore enable disable schedule"
).split()
_PAST = (
    "checked updated reviewed shipped refunded deployed restarted migrated exported imported summarised "
    "translated compared retried cancelled confirmed renamed archived restored enabled disabled"
).split()
_ADJS = (
    "new old slow fast large small critical broken stale pending weekly internal external shared private "
    "expired duplicate missing default custom"
).split()
_PREPS = "for with after before during without from".split()
_PERIODS = "week month quarter night weekend sprint".split()
_FRAMES = [
    "The {adj} {noun} {past} the {noun2} {prep} the {w1} {w2}.",
    "You can {verb} the {noun} from the {noun2} settings.",
    "If the {noun} is {adj}, {verb} the {noun2} and try again.",
    "We {past} {num} {noun}s in {city} last {period}.",
    "Make sure the {noun} uses the {w1} {noun2}.",
    "{name} asked whether the {noun} could be {past} before the {w1} {period}.",
    "This {noun} depends on {w1} and {w2}.",
    "In short, the {noun} is {adj} because the {noun2} {past} the {w1}.",
    "Please {verb} the {adj} {noun} {prep} {w1} {w2} {w3}.",
    "Note that {w1} {w2} is not the same as the {adj} {noun}.",
    "Our {noun} team {past} {num} {adj} {noun2}s this {period}.",
]


class TextGen:
    """Text helpers bound to one completion's random stream."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random):
        self.rng = rng

    def words(self, n: int) -> str:
        draws = array("H", self.rng.randbytes(2 * n))
        if _BIG_ENDIAN:  # same words on every machine
            draws.byteswap()
        return " ".join(map(_TABLE.__getitem__, draws))

    def sentence(self, lo: int = 6, hi: int = 16) -> str:
        rng = self.rng
        if rng.random() < 0.65:
            w1, w2, w3 = map(_CONTENT_TABLE.__getitem__, (rng.getrandbits(12) for _ in range(3)))
            text = rng.choice(_FRAMES).format(
                adj=rng.choice(_ADJS),
                noun=rng.choice(_NOUNS),
                noun2=rng.choice(_NOUNS),
                verb=rng.choice(_VERBS),
                past=rng.choice(_PAST),
                prep=rng.choice(_PREPS),
                period=rng.choice(_PERIODS),
                city=rng.choice(CITIES),
                name=rng.choice(FIRST_NAMES),
                num=rng.randint(2, 480),
                w1=w1,
                w2=w2,
                w3=w3,
            )
            return text[0].upper() + text[1:]
        w = self.words(rng.randint(lo, hi))
        return w[0].upper() + w[1:] + "."

    def para(self, lo: int = 2, hi: int = 5) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(lo, hi)))

    def long_text(self, target_chars: int) -> str:
        """A long paste (tens of KB): paragraphs with the odd heading, generated in big chunks."""
        rng = self.rng
        parts: list[str] = []
        size = 0
        while size < target_chars:
            chunk = self.words(rng.randint(60, 160))
            chunk = chunk[0].upper() + chunk[1:] + "."
            if rng.random() < 0.15:
                chunk = f"## {self.words(3).title()}\n\n{chunk}"
            parts.append(chunk)
            size += len(chunk) + 2
        return "\n\n".join(parts)

    def order_id(self) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            return rng.choice(_FAMOUS_ORDERS)
        return f"{rng.choice('AAAB')}-{rng.randint(1000, 9999)}"

    def call_id(self) -> str:
        return random_id(self.rng, "call_", 24)

    def maybe_emoji(self, text: str) -> str:
        if self.rng.random() < 0.06:
            return f"{text} {self.rng.choice(EMOJI)}"
        return text


def _user_text(g: TextGen, scenario: str, first: bool) -> str:
    """The user's words: a realistic first line (what a list shows), then some body."""
    rng = g.rng
    r = rng.random()
    if scenario == "support":
        name, order = rng.choice(FIRST_NAMES), g.order_id()
        head = rng.choice(
            [
                f"Hi, my order {order} arrived damaged, can I get a refund?",
                f"Customer {name} says order {order} never arrived. What are the options?",
                f"Where is my package? Order {order}, it's been {rng.randint(3, 15)} days.",
                f"I was charged twice for order {order}, please fix this.",
                f"Can you cancel order {order}? I ordered the wrong {rng.choice(PRODUCTS)}.",
            ]
        )
    elif scenario == "weather":
        city = rng.choice(CITIES)
        head = rng.choice(
            [
                f"What's the weather in {city} tomorrow?",
                f"Do I need an umbrella in {city} this weekend?",
                f"Compare the weather in {city} and {rng.choice(CITIES)} for the next {rng.randint(2, 7)} days.",
                f"Is it warm enough to swim in {city} on {rng.choice(['Saturday', 'Sunday', 'Friday'])}?",
            ]
        )
    elif scenario == "docs":
        head = rng.choice(
            [
                f"How do I configure {g.words(2)} in the Nimbus {rng.choice(['Python', 'Node', 'Go'])} SDK?",
                f"Why does the {rng.choice(['webhook', 'upload', 'export', 'login'])} endpoint return 429?",
                f"Is there a way to {g.words(3)} with the CLI?",
                f"What's the difference between {g.words(1)} and {g.words(1)} plans?",
            ]
        )
    elif scenario == "code":
        lang = rng.choice(LANGS_CODE)
        snippet = CODE_SNIPPETS[lang]
        head = rng.choice(
            [
                f"Why does this {lang} code fail with `{rng.choice(ERRORS)}`?\n\n```{lang}\n{snippet}```",
                f"Can you review this {lang} function and suggest improvements?\n\n```{lang}\n{snippet}```",
                f"Write a {lang} function that {g.words(4)}.",
                f"Explain what this does:\n\n```{lang}\n{snippet}```",
            ]
        )
    elif scenario == "analytics":
        head = rng.choice(
            [
                f"Show me revenue by region for Q{rng.randint(1, 4)} {rng.choice([2024, 2025])}.",
                f"Which {rng.choice(['products', 'customers', 'regions'])} grew fastest last month?",
                f"How many orders were refunded in {rng.choice(_REGIONS)} this quarter?",
            ]
        )
    elif scenario == "writer":
        if first and r < 0.3:
            size = rng.randint(20_000, 60_000) if rng.random() < 0.05 else rng.randint(1_500, 8_000)
            return (
                f"Summarise this document for the {rng.choice(['sales', 'legal', 'platform', 'exec'])} team:\n\n"
                + g.long_text(size)
            )
        head = rng.choice(
            [
                f"Rewrite this more politely: {g.sentence()}",
                f"Translate into French: {g.sentence()}",
                f"Give me three titles for a blog post about {rng.choice(TOPICS)}.",
                f"Make this shorter: {g.para(2, 3)}",
            ]
        )
    elif scenario == "multilingual":
        lang = rng.choice(list(FOREIGN))
        return g.maybe_emoji(" ".join(rng.sample(FOREIGN[lang], k=min(2, len(FOREIGN[lang])))))
    elif scenario == "search":
        head = rng.choice(
            [
                f"What are the latest news about {rng.choice(TOPICS)}?",
                f"Find recent articles on {rng.choice(TOPICS)} and summarise them.",
            ]
        )
    elif scenario == "voice":
        head = rng.choice(
            [
                f"Read me a short summary of today's weather in {rng.choice(CITIES)}.",
                "Tell me a bedtime story about a narwhal and a capybara.",
                f"How do I say '{g.words(3)}' in Japanese?",
            ]
        )
    elif scenario == "risky":
        return rng.choice(RISKY_ASKS)
    else:
        head = rng.choice(
            [
                f"Can you explain {g.words(2)} like I'm five?",
                f"Give me a recipe with {rng.choice(['saffron', 'miso', 'tamarind', 'chocolate', 'lemon'])} and {g.words(1)}.",
                f"Plan a {rng.randint(2, 10)}-day trip to {rng.choice(CITIES)}.",
                f"What's a good name for a {g.words(2)} startup?",
                g.sentence(),
            ]
        )
    if r < 0.35:
        return g.maybe_emoji(head)
    return g.maybe_emoji(f"{head}\n\n{g.para(1, 3)}")


def _assistant_text(g: TextGen, scenario: str) -> str:
    rng = g.rng
    if scenario == "multilingual":
        lang = rng.choice(list(FOREIGN))
        return " ".join(rng.sample(FOREIGN[lang], k=min(3, len(FOREIGN[lang]))))
    if scenario == "code" and rng.random() < 0.5:
        lang = rng.choice(LANGS_CODE)
        return f"{g.sentence()}\n\n```{lang}\n{CODE_SNIPPETS[lang]}```\n\n{g.para(1, 3)}"
    if rng.random() < 0.2:
        items = "\n".join(f"{n}. {g.sentence(4, 10)}" for n in range(1, rng.randint(3, 6)))
        return f"{g.sentence()}\n\n{items}\n\n{g.sentence()}"
    return g.para(1, 4)


def _tool_args(g: TextGen, name: str, invalid: bool) -> str:
    rng = g.rng
    args: JSON
    if name == "refund_order":
        args = {
            "order_id": g.order_id(),
            "amount": round(rng.uniform(5, 900), 2),
            "currency": rng.choice(["EUR", "USD", "GBP"]),
            "reason": rng.choice(["damaged", "not delivered", "duplicate charge", "wrong item"]),
        }
    elif name == "lookup_order":
        args = {"order_id": g.order_id()}
    elif name == "create_ticket":
        args = {
            "subject": g.sentence(4, 8),
            "priority": rng.choice(["low", "normal", "high", "urgent"]),
            "order_id": g.order_id(),
        }
    elif name == "get_weather":
        args = {"location": rng.choice(CITIES), "unit": rng.choice(["celsius", "celsius", "fahrenheit"])}
        if rng.random() < 0.3:
            args["days"] = rng.randint(1, 7)
    elif name == "search_docs":
        args = {"query": g.words(rng.randint(2, 5)), "top_k": rng.choice([3, 5, 10])}
    else:  # get_revenue
        args = {"region": rng.choice(_REGIONS), "quarter": f"{rng.choice([2024, 2025])}-Q{rng.randint(1, 4)}"}
    text = json.dumps(args, ensure_ascii=False)
    if invalid:  # the model does not always produce valid JSON
        return text[: rng.randint(5, max(6, len(text) - 2))]
    return text


def _tool_result(g: TextGen, name: str, arguments: str) -> str:
    rng = g.rng
    if name == "get_weather":
        out: Any = {
            "temp_c": rng.randint(-8, 36),
            "conditions": rng.choice(["sunny", "cloudy", "rain", "snow", "storm"]),
            "humidity": rng.randint(20, 95),
            "wind_kph": rng.randint(0, 60),
        }
    elif name in ("refund_order", "lookup_order", "create_ticket"):
        out = {
            "status": rng.choice(["refunded", "shipped", "pending", "delivered", "opened"]),
            "reference": random_id(rng, "re_", 14),
            "eta_days": rng.randint(1, 10),
        }
    elif name == "search_docs":
        out = {
            "results": [
                {
                    "title": g.words(4).title(),
                    "url": f"https://docs.nimbus.example/{g.words(1)}/{g.words(1)}",
                    "snippet": g.sentence(),
                }
                for _ in range(rng.randint(1, 3))
            ]
        }
    elif name == "run_sql":
        out = [{"region": r, "revenue": rng.randint(10_000, 900_000)} for r in _REGIONS]
    else:
        out = {"region": rng.choice(_REGIONS), "revenue_eur": rng.randint(10_000, 9_000_000)}
    return json.dumps(out, ensure_ascii=False)


def _make_tool_calls(g: TextGen, scenario: str) -> list[JSON]:
    rng = g.rng
    names = SCENARIO_TOOLS[scenario]
    count = 1 if rng.random() < 0.82 else rng.randint(2, 3)  # some parallel calls
    calls: list[JSON] = []
    for _ in range(count):
        name = rng.choice(names)
        if name == "run_sql":
            region = rng.choice(_REGIONS)
            calls.append(
                {
                    "id": g.call_id(),
                    "type": "custom",
                    "custom": {
                        "name": "run_sql",
                        "input": f"SELECT region, sum(amount) FROM invoices WHERE region = '{region}' GROUP BY region",
                    },
                }
            )
            continue
        invalid = rng.random() < 0.02
        calls.append(
            {
                "id": g.call_id(),
                "type": "function",
                "function": {"name": name, "arguments": _tool_args(g, name, invalid)},
            }
        )
    return calls


def _tool_messages(g: TextGen, calls: list[JSON]) -> list[JSON]:
    out = []
    for call in calls:
        fn = call.get("function") or call.get("custom") or {}
        out.append(
            {
                "role": "tool",
                "tool_call_id": call["id"],
                "content": _tool_result(g, fn.get("name", ""), fn.get("arguments", "")),
            }
        )
    return out


def _history_length(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.55:
        return rng.randint(1, 4)
    if r < 0.86:
        return rng.randint(5, 12)
    if r < 0.96:
        return rng.randint(13, 40)
    if r < 0.99:
        return rng.randint(41, 100)
    return rng.randint(101, 180)
