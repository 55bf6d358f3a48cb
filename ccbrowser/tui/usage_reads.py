"""The TUI's reads for costs: the usage screen's aggregates and the detail's price breakdown.

Functions here run on the read thread (`Reads.read(fn, ...)`), never on the UI thread. The price
data takes about half a second to load, so `Prices` loads it once in a thread of its own when the
app starts; until it is ready the detail shows the stored cost without its breakdown.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace

from ccbrowser.config import Config
from ccbrowser.store import reader
from ccbrowser.store.costs import Pricer
from ccbrowser.store.reader import Detail
from ccbrowser.store.usage import Ranked, Usage, top_values, usage


class Prices:
    """The prices in effect (as `ccbrowser prices` shows them), loaded in the background."""

    def __init__(self, config: Config | None) -> None:
        self._config = config
        self._pricer: Pricer | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="ccb-prices", daemon=True).start()

    def _load(self) -> None:
        from ccbrowser.paths import prices_path
        from ccbrowser.pricing.update import load_price_book

        config = self._config or Config()
        try:
            book = load_price_book(prices_path(), tier_factors=config.tier_factors)
            self._pricer = Pricer.build(book, config.flavors())
        except Exception:  # noqa: BLE001 - a breakdown is extra: the stored cost still shows
            self._pricer = None

    def get(self) -> Pricer | None:
        """The pricer when loaded, else None (never waits)."""
        return self._pricer


def detail_by_pk(conn: sqlite3.Connection, pk: int, prices: Prices) -> Detail | None:
    """`reader.detail_by_pk` with the price breakdown when the price data is loaded."""
    return priced(reader.detail_by_pk(conn, pk), prices)


def priced(d: Detail | None, prices: Prices | None) -> Detail | None:
    """`d` with its price breakdown, when the price data is loaded."""
    pricer = None if prices is None else prices.get()
    if d is None or pricer is None:
        return d
    return replace(d, price=pricer.explain(d.raw, d.row.profile))


def usage_of(conn: sqlite3.Connection, pks: Sequence[int] | None) -> Usage:
    """The usage screen's figures for the current matches (None: everything)."""
    return usage(conn, pks)


def tops_of(conn: sqlite3.Connection, pks: Sequence[int] | None) -> tuple[list[Ranked], list[Ranked]]:
    """The top tools and metadata values by cost (read after the charts: they cost more)."""
    return top_values(conn, pks)
