"""The price data ccbrowser reads, and the caches that make pricing a million rows cheap.

A ``PriceBook`` wraps one genai-prices ``DataSnapshot``: the data bundled with the installed
package, or a file saved by ``ccbrowser.pricing.update``. It never uses the package's process-wide
snapshot, so another library in the same process that starts genai-prices' ``UpdatePrices``
cannot change ccbrowser's numbers, and nothing here ever fetches anything.

Two caches: model lookup by (model name, provider hint) and resolved rates by (model, price
period, tier). A price period is the span between two dates at which the model's prices (or its
tier rates) change in the data, refined by time-of-day prices where a model has them; so a
backfill resolves each model's rates once per period and tier it was used in, not per row.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ccbrowser.pricing.tiers import STANDARD_TIERS, parse_factors, tier_factor

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

_MAX_MODEL_CHARS = 200  # longer names are never price-list entries; do not cache them
_MAX_TIER_CHARS = 32
_CACHE_LIMIT = 8192  # entries per cache; cleared when full (names come from servers)


@dataclass(frozen=True, slots=True)
class Unit:
    """One priced usage unit of a model at one period and tier."""

    key: str  # genai-prices usage key, e.g. "cache_read_tokens"
    price_key: str  # e.g. "cache_read_mtok"
    rate: Decimal | TieredPrices  # USD per ``per`` units, as the price data has it
    per: int
    direction: str  # "input", "output" or ""
    descendants: tuple[int, ...]  # indexes (in Rates.units) of priced units inside this one
    rate_per: Decimal | None  # rate / per when that is exact (per a power of ten), else None


@dataclass(frozen=True, slots=True)
class Rates:
    """What one (model, period, tier) costs: the priced units and the tier factor on top."""

    provider_id: str
    model_id: str
    units: tuple[Unit, ...]  # most specific first, the order genai-prices decomposes in
    tiered: bool  # some rate depends on the prompt size
    factor: Decimal
    tier_source: str  # "standard", "package", "default", "override" or "unlisted"
    fast: bool  # plain subtraction gives genai-prices' decomposition for chat usage
    empty: bool  # the price data lists no rate at all for this model


@dataclass
class PriceBook:
    snapshot: DataSnapshot
    source: str  # what the data is, for labels and for recomputing when it changes
    tier_factors: dict[str, Decimal] = field(default_factory=dict)
    _models: dict[tuple[str, str | None, str | None], tuple[Provider, ModelInfo] | None] = field(
        default_factory=dict, init=False, repr=False
    )
    _rates: dict[tuple[Any, ...], Rates | None] = field(default_factory=dict, init=False, repr=False)
    _units: Mapping[str, Any] = field(default_factory=dict, init=False, repr=False)
    _bounds: dict[int, tuple[list[int], list[Any]]] = field(default_factory=dict, init=False, repr=False)
    _chat_paths: tuple[tuple[tuple[str, ...], str, bool], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        from genai_prices.data_units import unit_data
        from genai_prices.units import UnitRegistry

        self._units = UnitRegistry(unit_data).units
        self._chat_paths = _chat_extractor(self.snapshot)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def bundled(cls, tier_factors: Mapping[str, object] | None = None) -> PriceBook:
        """The price data that ships inside the installed genai-prices."""
        import genai_prices
        from genai_prices.data import providers
        from genai_prices.data_snapshot import DataSnapshot

        snapshot = DataSnapshot(providers=providers, from_auto_update=False)
        return cls(snapshot, f"genai-prices {genai_prices.__version__} (bundled)", _factors(tier_factors))

    def with_tier_factors(self, tier_factors: Mapping[str, object] | None) -> PriceBook:
        """The same data with other tier factors (and fresh caches, since rates include them)."""
        return PriceBook(self.snapshot, self.source, _factors(tier_factors))

    @property
    def unit_defs(self) -> Mapping[str, Any]:
        """genai-prices' usage units by key."""
        return self._units

    @property
    def chat_usage_paths(self) -> tuple[tuple[tuple[str, ...], str, bool], ...]:
        """(path under ``usage``, genai-prices usage key, required) from the package's OpenAI chat extractor."""
        return self._chat_paths

    def cache_sizes(self) -> tuple[int, int]:
        """(model lookups, resolved rate sets) held: how much a backfill had to resolve."""
        return len(self._models), len(self._rates)

    # -- model lookup ------------------------------------------------------------------------

    def find(
        self, model: str, provider: str | None = None, api_url: str | None = None
    ) -> tuple[Provider, ModelInfo] | None:
        """The price-data entry for a model name as a server reported it, or None if unknown.

        An explicit ``provider`` is the only one consulted (genai-prices itself falls back from
        e.g. azure to openai). Otherwise: the provider whose API URL matches ``api_url``, then the
        provider whose model names match (``gpt-4o`` -> openai), then a router-style name split at
        its first slash (``openai/gpt-4o`` -> openai's ``gpt-4o``), then OpenRouter's own list,
        which names models that way (``meta-llama/llama-3.3-70b-instruct``).
        """
        if len(model) > _MAX_MODEL_CHARS or (provider is not None and len(provider) > _MAX_MODEL_CHARS):
            return None
        key = (model, provider, api_url)
        try:
            return self._models[key]
        except KeyError:
            pass
        found = self._find(model, provider, api_url)
        if len(self._models) >= _CACHE_LIMIT:
            self._models.clear()
            self._clear_snapshot_caches()
        self._models[key] = found
        return found

    def _clear_snapshot_caches(self) -> None:
        """genai-prices memoises every name it was asked about, found or not, without a bound;
        names come from servers, so its memo is emptied whenever ccbrowser's own is."""
        for name in ("_lookup_cache", "_provider_cache", "_provider_misses"):
            memo = getattr(self.snapshot, name, None)
            if isinstance(memo, dict | set):
                memo.clear()

    def _find(
        self, model: str, provider: str | None, api_url: str | None
    ) -> tuple[Provider, ModelInfo] | None:
        tries: list[tuple[str, str | None, str | None]] = []
        if provider is not None:
            tries.append((model, provider, None))
        else:
            if api_url:
                tries.append((model, None, api_url))
            tries.append((model, None, None))
            head, sep, rest = model.partition("/")
            if sep and head and rest:
                tries.append((rest, head, None))
                tries.append((model, "openrouter", None))
        for ref, provider_id, url in tries:
            try:
                return self.snapshot.find_provider_model(ref, None, provider_id, url)
            except (LookupError, ValueError, TypeError):
                continue
        return None

    # -- rates -------------------------------------------------------------------------------

    def rates(self, provider: Provider, model: ModelInfo, created: float, tier: str) -> Rates | None:
        """The rates for ``model`` at ``created`` (epoch seconds) served at ``tier``; None if unpriceable."""
        tier = tier if len(tier) <= _MAX_TIER_CHARS else "?"
        key = (provider.id, model.id, id(model), self._period(model, created), tier)
        try:
            return self._rates[key]
        except KeyError:
            pass
        try:
            found: Rates | None = self._resolve(provider, model, created, tier)
        except (ValueError, TypeError, ArithmeticError, LookupError):
            found = None  # data the package itself rejects for this model
        if len(self._rates) >= _CACHE_LIMIT:
            self._rates.clear()
        self._rates[key] = found
        return found

    def _period(self, model: ModelInfo, created: float) -> tuple[Any, ...]:
        """Which of the model's price periods ``created`` falls in: the same key, the same rates."""
        bounds = self._bounds.get(id(model))
        if bounds is None:
            bounds = self._bounds[id(model)] = _bounds(model)
        starts, clocks = bounds
        index = bisect.bisect_right(starts, created) if starts else 0
        if not clocks:
            return (index,)
        when = datetime.fromtimestamp(created, UTC)
        return (index, *(c.active(when) for c in clocks))

    def _resolve(self, provider: Provider, model: ModelInfo, created: float, tier: str) -> Rates:
        when = datetime.fromtimestamp(created, UTC)
        factor, source = Decimal(1), "standard"
        prices = model.get_prices(when)
        if tier not in STANDARD_TIERS:
            chosen = tier_factor(tier, model.id, self.tier_factors)
            if chosen is not None and chosen[1] == "override":
                factor, source = chosen
            elif (context := _variant_context(provider, model, when, tier)) is not None:
                prices, source = model.get_prices(when, context), "package"
            elif chosen is not None:
                factor, source = chosen
            else:
                source = "unlisted"
        # Let genai-prices validate the price set the way calc_price would (raises if it cannot).
        prices.calc_price(_zero_usage())
        return self._build(provider, model, prices, factor, source)

    def _build(
        self, provider: Provider, model: ModelInfo, prices: ModelPrice, factor: Decimal, source: str
    ) -> Rates:
        from genai_prices.types import TieredPrices

        priced = []
        for unit in self._units.values():
            value = getattr(prices, unit.price_key, None)
            if value is not None:
                priced.append((unit, value))
        # genai-prices decomposes the most specific units first (more dimensions), then by name.
        priced.sort(key=lambda item: (-len(item[0].dimensions), item[0].usage_key))
        units = []
        for unit, value in priced:
            inside = tuple(
                i
                for i, (other, _) in enumerate(priced)
                if other is not unit and unit.dimensions.items() <= other.dimensions.items()
            )
            units.append(
                Unit(
                    unit.usage_key,
                    unit.price_key,
                    value,
                    unit.per,
                    unit.dimensions.get("direction", ""),
                    inside,
                    value / unit.per if isinstance(value, Decimal) and _power_of_ten(unit.per) else None,
                )
            )
        # A priced unit the chat usage never reports counts 0 in genai-prices unless some reported
        # unit overlaps it (same family and direction); only then is its own decomposition needed.
        reported = [self._units[dest] for _, dest, _ in self._chat_paths if dest in self._units]
        direct = {u.usage_key for u in reported} | {"requests"}

        def plain(key: str) -> bool:
            return key in direct or not any(self._units[key].is_compatible_with(r) for r in reported)

        return Rates(
            provider_id=provider.id,
            model_id=model.id,
            units=tuple(units),
            tiered=any(isinstance(u.rate, TieredPrices) for u in units),
            factor=factor,
            tier_source=source,
            fast=all(plain(u.key) for u in units),
            empty=not units,
        )


def _power_of_ten(n: int) -> bool:
    return n > 0 and str(n).rstrip("0") == "1"


def _factors(tier_factors: Mapping[str, object] | None) -> dict[str, Decimal]:
    return parse_factors(tier_factors) if tier_factors else {}


def _bounds(model: ModelInfo) -> tuple[list[int], list[Any]]:
    """A model's price periods: the epoch seconds its dated prices start, and its time-of-day rules.

    genai-prices activates a start date from 00:00 UTC of that day.
    """
    from genai_prices.types import StartDateConstraint

    starts: set[int] = set()
    clocks: list[Any] = []
    for c in _constraints(model):
        if isinstance(c, StartDateConstraint):
            starts.add(int(datetime.combine(c.start_date, time(0), UTC).timestamp()))
        else:
            clocks.append(c)  # time-of-day prices (or any other rule): asked per completion
    return sorted(starts), clocks


def _constraints(model: ModelInfo) -> list[Any]:
    out: list[Any] = []
    if isinstance(model.prices, list):
        out.extend(p.constraint for p in model.prices if p.constraint is not None)
    out.extend(v.constraint for v in model.price_variants or () if v.constraint is not None)
    return out


def _variant_context(
    provider: Provider, model: ModelInfo, when: datetime, tier: str
) -> dict[str, str] | None:
    """The price context under which genai-prices has its own rates for ``tier`` at ``when``.

    genai-prices applies variants only to a model listed by the provider itself (not one found
    through a fallback provider), and only when the variant is active at that date.
    """
    if not any(m is model for m in provider.models):
        return None
    context = {"processing": "batch"} if tier == "batch" else {"service_tier": tier}
    for variant in model.price_variants or ():
        if variant.when != context:
            continue
        if variant.constraint is not None and not variant.constraint.active(when):
            continue
        if any(v is not None for k, v in vars(variant.prices).items() if not k.startswith("_")):
            return context
    return None


def _zero_usage() -> Any:
    from genai_prices import Usage

    return Usage(input_tokens=0, output_tokens=0)


def _chat_extractor(snapshot: DataSnapshot) -> tuple[tuple[tuple[str, ...], str, bool], ...]:
    """The OpenAI chat-completions usage mapping, as genai-prices defines it."""
    provider = snapshot.find_provider(None, "openai", None)
    for extractor in provider.extractors or ():
        if extractor.api_flavor == "chat":
            paths = []
            for mapping in extractor.mappings:
                path = (mapping.path,) if isinstance(mapping.path, str) else tuple(mapping.path)
                if all(isinstance(p, str) for p in path):
                    paths.append((tuple(str(p) for p in path), mapping.dest, mapping.required))
            return tuple(paths)
    raise LookupError("genai-prices has no OpenAI chat usage mapping")
