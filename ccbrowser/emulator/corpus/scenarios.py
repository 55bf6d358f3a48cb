"""What a completion is about: scenarios with their models and tools, and the cheap ``Header``."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Scenarios, models, tools

# name: (weight, [(model, weight)...], feature names)
SCENARIOS: dict[str, tuple[float, list[tuple[str, float]], list[str]]] = {
    "support": (
        22,
        [("gpt-4o", 3), ("gpt-4o-mini", 4), ("gpt-4.1-mini", 3), ("gpt-4o-2024-08-06", 2)],
        ["support-chat", "refund-bot"],
    ),
    "weather": (10, [("gpt-4o-mini", 4), ("gpt-4.1-mini", 3), ("gpt-4.1-nano", 1)], ["weather-widget"]),
    "docs": (12, [("gpt-4.1", 3), ("gpt-4o", 2), ("gpt-4.1-mini", 3)], ["docs-search", "help-center"]),
    "code": (
        14,
        [("gpt-4.1", 4), ("o4-mini", 3), ("gpt-4o", 2), ("o3-mini", 1)],
        ["code-review", "ide-assist"],
    ),
    "chat": (14, [("gpt-4o-mini", 4), ("gpt-4o", 3), ("gpt-4o-2024-11-20", 1), ("gpt-4.1", 1)], ["chat"]),
    "analytics": (5, [("gpt-4.1", 3), ("o4-mini", 2)], ["sql-assistant"]),
    "writer": (
        9,
        [("gpt-4o", 2), ("gpt-4.1-mini", 3), ("gpt-4o-mini-2024-07-18", 1)],
        ["summarizer", "editor"],
    ),
    "multilingual": (6, [("gpt-4o-mini", 3), ("gpt-4o", 2)], ["translator", "support-chat"]),
    "search": (3, [("gpt-4o-search-preview", 2), ("gpt-4o-mini-search-preview", 3)], ["web-answers"]),
    "voice": (3, [("gpt-4o-audio-preview", 3), ("gpt-4o-audio-preview-2024-12-17", 1)], ["voice-mode"]),
    "risky": (2, [("gpt-4o", 1), ("gpt-4o-mini", 2)], ["chat"]),
}
_SCEN_NAMES = list(SCENARIOS)
_SCEN_CUM: list[float] = []
_s = 0.0
for _name in _SCEN_NAMES:
    _s += SCENARIOS[_name][0]
    _SCEN_CUM.append(_s)
del _s, _name
MODELS: list[str] = sorted({m for _, ms, _ in SCENARIOS.values() for m, _ in ms})
_FINGERPRINTS = ["fp_50cad350e4", "fp_fc9f1d7035", "fp_07871e2ad8", "fp_b376dfbbd5", "fp_a1102cf978"]


def _fn_tool(name: str, description: str, props: JSON, required: list[str]) -> JSON:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


TOOLS: dict[str, JSON] = {
    "refund_order": _fn_tool(
        "refund_order",
        "Refund all or part of an order.",
        {
            "order_id": {"type": "string"},
            "amount": {"type": "number"},
            "currency": {"type": "string", "enum": ["EUR", "USD", "GBP", "JPY"]},
            "reason": {"type": "string"},
        },
        ["order_id", "reason"],
    ),
    "lookup_order": _fn_tool(
        "lookup_order", "Look up an order's status and items.", {"order_id": {"type": "string"}}, ["order_id"]
    ),
    "create_ticket": _fn_tool(
        "create_ticket",
        "Open a ticket for a human agent.",
        {
            "subject": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
            "order_id": {"type": "string"},
        },
        ["subject", "priority"],
    ),
    "get_weather": _fn_tool(
        "get_weather",
        "Current weather and forecast for a location.",
        {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        ["location"],
    ),
    "search_docs": _fn_tool(
        "search_docs",
        "Full-text search over the product documentation.",
        {"query": {"type": "string"}, "top_k": {"type": "integer"}},
        ["query"],
    ),
    "get_revenue": _fn_tool(
        "get_revenue",
        "Revenue for a region and quarter.",
        {"region": {"type": "string"}, "quarter": {"type": "string"}},
        ["region", "quarter"],
    ),
    "run_sql": {"type": "custom", "custom": {"name": "run_sql", "description": "Run a read-only SQL query."}},
}
SCENARIO_TOOLS: dict[str, list[str]] = {
    "support": ["lookup_order", "refund_order", "create_ticket"],
    "weather": ["get_weather"],
    "docs": ["search_docs"],
    "analytics": ["get_revenue", "run_sql"],
}
_FAMOUS_ORDERS = ["A-8812", "A-1024", "B-2207"]
_REGIONS = ["EMEA", "APAC", "NA", "LATAM"]
_ENVS = ["prod"] * 12 + ["staging"] * 5 + ["dev"] * 3


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


_MODEL_CHOICES = {
    name: ([m for m, _ in ms], _cum([w for _, w in ms])) for name, (_, ms, _) in SCENARIOS.items()
}


class Header:
    """The cheap part of a completion (no text): enough to order and filter a list."""

    __slots__ = ("index", "created", "model", "scenario", "metadata")

    def __init__(self, index: int, created: int, model: str, scenario: str, metadata: dict[str, str]):
        self.index = index
        self.created = created
        self.model = model
        self.scenario = scenario
        self.metadata = metadata
