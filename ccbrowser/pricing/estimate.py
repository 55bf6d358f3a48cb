"""What one stored completion cost: an estimate from its own usage, at its own date and tier.

The rates come from genai-prices (a ``PriceBook``); the usage fields are read with the package's
own OpenAI chat mapping (prompt, cached prompt -> cache read, cache writes, completion, reasoning,
input and output audio). Chat usage reports no image-token count: image input is inside
``prompt_tokens`` and is priced at the input rate.

A cost the server reports (``usage.cost``, as OpenRouter and other routers send) wins over the
estimate. A model the price data does not know is "unknown" with a reason, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ccbrowser.pricing.book import PriceBook, Rates, Unit
from ccbrowser.pricing.tiers import STANDARD_TIERS

if TYPE_CHECKING:
    from genai_prices.types import TieredPrices

Number = int | float | Decimal
Status = Literal["estimate", "reported", "unknown"]
_MAX_CREATED = 253_402_300_799  # 9999-12-31, the last second datetime can hold
_ONE = Decimal(1)
_MAX_TIER_CHARS = 32  # tier names are short words; a longer one is kept cut, never in full


class CostLine(NamedTuple):
    """One priced unit: how many, at which rate, for how much (before the tier factor)."""

    unit: str  # genai-prices usage key: input_tokens, cache_read_tokens, output_reasoning_tokens, ...
    quantity: Number  # the part of the usage this rate applies to (a total minus its priced parts)
    rate: Decimal  # USD per ``per`` units (the threshold rate that applied, for tiered prices)
    per: int
    cost: Decimal
    direction: str


@dataclass(slots=True)
class CostEstimate:
    status: Status
    usd: Decimal | None  # the figure to show: the reported cost if any, else the estimate
    estimated: Decimal | None = None
    reported: Decimal | None = None
    subtotal: Decimal | None = None  # sum of ``lines``: the estimate before the tier factor
    model: str | None = None  # as the server reported it
    provider_id: str | None = None  # the price-data entry used
    model_id: str | None = None
    tier: str = "default"  # the served tier (or "batch")
    tier_factor: Decimal = _ONE
    tier_source: str = "standard"  # standard | package (its own tier rates) | default | override | unlisted
    lines: tuple[CostLine, ...] = ()
    tokens: Mapping[str, int | float] = field(default_factory=dict)  # usage as read, by usage key
    reason: str | None = None  # why it is unknown, or what is uncertain about it
    price_data: str = ""
    created: float | None = None

    @property
    def is_estimate(self) -> bool:
        return self.status == "estimate"

    @property
    def usd_float(self) -> float | None:
        return float(self.usd) if self.usd is not None else None

    @property
    def label(self) -> str:
        """How a figure must be labelled wherever it is shown."""
        return {"estimate": "estimate", "reported": "reported by the server", "unknown": "unknown"}[
            self.status
        ]


_default_book: PriceBook | None = None
_books: dict[tuple[tuple[str, str], ...], PriceBook] = {}


def default_book() -> PriceBook:
    """The bundled price data, loaded once (importing it takes about half a second)."""
    global _default_book
    if _default_book is None:
        _default_book = PriceBook.bundled()
    return _default_book


def _book_for(tier_factors: Mapping[str, object]) -> PriceBook:
    key = tuple(sorted((str(k), repr(v)) for k, v in tier_factors.items()))
    book = _books.get(key)
    if book is None:
        if len(_books) >= 16:
            _books.clear()
        book = _books[key] = default_book().with_tier_factors(tier_factors)
    return book


def estimate(
    completion: Mapping[str, Any],
    *,
    provider: str | None = None,
    api_url: str | None = None,
    batch: bool = False,
    tier_factors: Mapping[str, object] | None = None,
    book: PriceBook | None = None,
) -> CostEstimate:
    """The cost of one completion (the raw API object as stored), never raising on bad data.

    ``provider``/``api_url`` say where it came from when the caller knows (a profile's base URL);
    ``batch`` says it came from the Batch API (whose results report ``service_tier: default``).
    ``tier_factors`` overrides entries of ``DEFAULT_TIER_FACTORS``; ``book`` chooses the price data.
    ValueError only for bad ``tier_factors``, which are the caller's, not the server's.
    """
    if book is None:
        book = _book_for(tier_factors) if tier_factors else default_book()
    elif tier_factors:
        book = book.with_tier_factors(tier_factors)
    if type(completion) is not dict and not isinstance(completion, Mapping):
        return CostEstimate("unknown", None, reason="not a completion object", price_data=book.source)
    model = completion.get("model")
    raw_usage = completion.get("usage")
    usage = raw_usage if type(raw_usage) is dict or isinstance(raw_usage, Mapping) else None
    tier = _served_tier(completion.get("service_tier"), batch)
    reported = _reported_cost(usage)
    created = completion.get("created")
    base: dict[str, Any] = {
        "model": model if isinstance(model, str) else None,
        "tier": tier,
        "reported": reported,
        "price_data": book.source,
    }
    priced = _estimate(book, model, usage, created, tier, provider, api_url, base)
    if reported is None:
        return priced
    return replace(priced, status="reported", usd=reported)


def _estimate(
    book: PriceBook,
    model: object,
    usage: Mapping[str, Any] | None,
    created: object,
    tier: str,
    provider: str | None,
    api_url: str | None,
    base: dict[str, Any],
) -> CostEstimate:
    if not isinstance(model, str) or not model:
        return CostEstimate("unknown", None, reason="no model name", **base)
    if usage is None:
        return CostEstimate("unknown", None, reason="no usage reported", **base)
    if (
        isinstance(created, bool)
        or not isinstance(created, int | float)
        or not (0 <= created <= _MAX_CREATED)
        or (isinstance(created, float) and math.isnan(created))
    ):
        return CostEstimate("unknown", None, reason="no valid created time", **base)
    base["created"] = created
    counts, problem = _read_usage(book, usage)
    if problem is not None:
        return CostEstimate("unknown", None, reason=problem, tokens=counts, **base)
    base["tokens"] = counts
    found = book.find(model, provider, api_url)
    if found is None:
        return CostEstimate("unknown", None, reason="model not in the price data", **base)
    prov, info = found
    rates = book.rates(prov, info, created, tier)
    base.update(provider_id=prov.id, model_id=info.id)
    if rates is None:
        return CostEstimate("unknown", None, reason="the price data cannot price this model", **base)
    if rates.empty:
        return CostEstimate("unknown", None, reason="the price data lists no rate for this model", **base)
    lines = _lines(book, rates, counts)
    if isinstance(lines, str):
        return CostEstimate("unknown", None, reason=lines, **base)
    subtotal = sum((line.cost for line in lines), Decimal(0))
    total = subtotal if rates.factor == _ONE else subtotal * rates.factor
    reason = None
    if rates.tier_source == "unlisted":
        reason = f"no price or factor for tier {tier!r}: standard rates"
    elif prov.id == "openrouter" and provider is None and api_url is None:
        reason = "priced at OpenRouter's listed rate for this name (self-hosted models cost otherwise)"
    return CostEstimate(
        "estimate",
        total,
        estimated=total,
        subtotal=subtotal,
        tier_factor=rates.factor,
        tier_source=rates.tier_source,
        lines=lines,
        reason=reason,
        **base,
    )


def _served_tier(value: object, batch: bool) -> str:
    if batch:
        return "batch"
    if not isinstance(value, str):
        return "default"
    tier = value.strip().lower()[:_MAX_TIER_CHARS]
    return "default" if tier in STANDARD_TIERS else tier


def _reported_cost(usage: Mapping[str, Any] | None) -> Decimal | None:
    if usage is None:
        return None
    cost = usage.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        return None
    if isinstance(cost, float) and not math.isfinite(cost):
        return None
    return Decimal(repr(cost)) if cost >= 0 else None


def _read_usage(book: PriceBook, usage: Mapping[str, Any]) -> tuple[dict[str, int | float], str | None]:
    """Usage keys -> counts, following genai-prices' OpenAI chat mapping; or why it cannot be read."""
    counts: dict[str, int | float] = {}
    for path, dest, required in book.chat_usage_paths:
        node: Any = usage
        for step in path:
            node = node.get(step) if type(node) is dict or isinstance(node, Mapping) else None
            if node is None:
                break
        kind = type(node)
        if kind is not int and (kind is bool or not isinstance(node, int | float)):
            if required:
                return counts, f"usage has no {'.'.join(path)}"
            continue
        if node < 0 or (kind is not int and not math.isfinite(node)):
            return counts, f"usage.{'.'.join(path)} is not a count"
        counts[dest] = counts[dest] + node if dest in counts else node
    return counts, None


def _fast_leaves(rates: Rates, counts: Mapping[str, int | float]) -> list[int] | str | None:
    """Plain subtraction, most specific unit first; None when a count is not an int."""
    leaves: list[int] = []
    for unit in rates.units:
        value = 1 if unit.key == "requests" else counts.get(unit.key, 0)
        if type(value) is not int:
            return None
        for i in unit.descendants:
            value -= leaves[i]
        if value < 0:
            return "usage parts exceed their totals (e.g. cached > prompt tokens)"
        leaves.append(value)
    return leaves


def _lines(book: PriceBook, rates: Rates, counts: Mapping[str, int | float]) -> tuple[CostLine, ...] | str:
    leaves: Sequence[Number] | str | None = _fast_leaves(rates, counts) if rates.fast else None
    if leaves is None:
        leaves = _slow_leaves(rates, counts, book.unit_defs)
    if isinstance(leaves, str):
        return leaves
    total_input = counts.get("input_tokens", 0) if rates.tiered else 0
    out = []
    for unit, leaf in zip(rates.units, leaves, strict=True):
        if not leaf:
            continue
        rate = unit.rate
        if not isinstance(rate, Decimal):
            out.append(_tiered_line(unit, rate, leaf, total_input))
            continue
        exact = leaf if type(leaf) is int else _decimal(leaf)
        cost = unit.rate_per * exact if unit.rate_per is not None else rate * exact / unit.per
        out.append(CostLine(unit.key, leaf, rate, unit.per, cost, unit.direction))
    return tuple(out)


def _decimal(value: Number) -> Decimal:
    """As genai-prices turns a count into a Decimal (floats through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _slow_leaves(
    rates: Rates, counts: Mapping[str, int | float], unit_defs: Mapping[str, Any]
) -> list[Number] | str:
    """genai-prices' own decomposition, for price sets the fast path does not cover."""
    from genai_prices import Usage
    from genai_prices.decompose import compute_leaf_values

    keys = {u.key for u in rates.units if u.key != "requests"}
    try:
        values = compute_leaf_values(keys, Usage(**counts), {k: unit_defs[k] for k in keys})
    except (ValueError, TypeError, ArithmeticError) as e:
        return f"usage the price data cannot split: {e}"[:200]
    return [1 if u.key == "requests" else values[u.key] for u in rates.units]


def _tiered_line(unit: Unit, rate: TieredPrices, quantity: Number, total_input: Number) -> CostLine:
    """A prompt-size tiered rate, priced by genai-prices itself; shows the threshold rate that applied."""
    from genai_prices.types import calc_unit_price

    applied = rate.base
    for step in reversed(rate.tiers):
        if total_input > step.start:
            applied = step.price
            break
    cost = calc_unit_price(rate, quantity, total_input, unit.per)
    return CostLine(unit.key, quantity, applied, unit.per, cost, unit.direction)
