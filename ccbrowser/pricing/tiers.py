"""Service-tier factors: how a served tier scales the standard price.

genai-prices prices the standard tier; it carries flex/priority/batch rates only for some OpenAI
models and only from the dates it verified them (2026-10-12 for tiers, 2026-10-14 for batch).
For every other (model, date) ccbrowser multiplies the standard price by a factor from this table.

The defaults follow OpenAI's published pricing page (developers.openai.com/api/docs/pricing,
"Flex", "Priority" and "Batch" tables), whose ratios to the standard table are:

- flex and batch: half of standard, for every model that offers them;
- priority: 1.75x for most models, but it depends on the model: 2x for the GPT-5 family and
  gpt-4.1-nano, 1.8x gpt-5-mini, 1.7x gpt-4o, 5/3 gpt-4o-mini, 20/11 o4-mini;
- scale (the older Scale Tier, bought as prepaid capacity units): 1x, since its per-token price
  is the standard one and the units are billed apart.

They are defaults, not facts about a user's bill: a user can override any of them. A key is a
tier (``"priority"``) or a tier and a model-id prefix (``"priority:gpt-4o"``); the longest prefix
that starts the model's price-data id wins, and any key a user gives wins over every default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

DEFAULT_TIER_FACTORS: Mapping[str, Decimal] = {
    "flex": Decimal("0.5"),
    "batch": Decimal("0.5"),
    "scale": Decimal("1"),
    "priority": Decimal("1.75"),
    "priority:gpt-5": Decimal("2"),
    "priority:gpt-5-mini": Decimal("1.8"),
    "priority:gpt-4.1-nano": Decimal("2"),
    "priority:gpt-4o": Decimal("1.7"),
    "priority:gpt-4o-2024-05-13": Decimal("1.75"),
    "priority:gpt-4o-mini": Decimal(5) / Decimal(3),
    "priority:o4-mini": Decimal(20) / Decimal(11),
}

# What a response reports when it was served at standard rates (``auto`` is a request value; a
# response should never say it, but if one does it is no evidence of another tier).
STANDARD_TIERS = frozenset({"", "default", "standard", "auto"})


def parse_factors(factors: Mapping[str, object]) -> dict[str, Decimal]:
    """A user's tier factors as Decimals; ValueError names the first bad entry."""
    out: dict[str, Decimal] = {}
    for key, value in factors.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"tier factor key must be a tier name, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValueError(f"tier factor {key!r} must be a number, got {value!r}")
        try:
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            raise ValueError(f"tier factor {key!r} must be a number, got {value!r}") from None
        if not number.is_finite() or number < 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"tier factor {key!r} must be a finite number >= 0, got {value!r}")
        out[key.strip().lower()] = number
    return out


def _lookup(table: Mapping[str, Decimal], tier: str, model_id: str) -> Decimal | None:
    best: tuple[int, Decimal] | None = None
    prefix = tier + ":"
    for key, factor in table.items():
        if key.startswith(prefix):
            model_prefix = key[len(prefix) :]
            if model_id.startswith(model_prefix) and (best is None or len(model_prefix) > best[0]):
                best = (len(model_prefix), factor)
    if best is not None:
        return best[1]
    return table.get(tier)


def tier_factor(
    tier: str, model_id: str, overrides: Mapping[str, Decimal] | None = None
) -> tuple[Decimal, str] | None:
    """(factor, "override" | "default") for ``tier`` on ``model_id``, or None if no table lists it."""
    if overrides:
        found = _lookup(overrides, tier, model_id)
        if found is not None:
            return found, "override"
    found = _lookup(DEFAULT_TIER_FACTORS, tier, model_id)
    return (found, "default") if found is not None else None
