"""Pricing stored completions offline with genai-prices: pure functions, no I/O.

``estimate(completion)`` prices one raw API object at its own ``created`` time and served tier;
every figure is an estimate (or a cost the server reported), never an invoice.

Where a completion came from decides which price list applies, and a stored object does not say:
- OpenAI: model names (``gpt-4o-2024-08-06``, ``o3``) match the openai list, dated snapshots
  their own entries where OpenAI priced them apart.
- Azure: responses name the underlying model; pass ``provider="azure"`` (or the endpoint as
  ``api_url``) for Azure's list, which falls back to OpenAI's. Regional deployments cost more
  than the global prices listed, and deployment names that are not model names are unknown.
- Routers: ``openai/gpt-4o`` is priced as openai's ``gpt-4o``; names only a router lists
  (``meta-llama/llama-3.1-8b-instruct``) at OpenRouter's rate. A router's own ``usage.cost`` wins.
- Llama Stack and other self-hosted servers: their models have no price. Pass their provider
  name (e.g. ``provider="llama-stack"``) to get "unknown" instead of a hosted router's rate.
Anything not found is "unknown" with a reason, never 0.

Price data is never fetched here; ``ccbrowser.pricing.update`` is the one module that downloads
newer data, and only when asked to.
"""

from ccbrowser.pricing.book import PriceBook
from ccbrowser.pricing.estimate import CostEstimate, CostLine, default_book, estimate
from ccbrowser.pricing.tiers import DEFAULT_TIER_FACTORS, parse_factors

__all__ = [
    "DEFAULT_TIER_FACTORS",
    "CostEstimate",
    "CostLine",
    "PriceBook",
    "default_book",
    "estimate",
    "parse_factors",
]
