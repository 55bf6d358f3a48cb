"""Pricing stored completions offline with genai-prices: pure functions, no I/O.

``estimate(completion)`` prices one raw API object at its own ``created`` time and served tier.
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
