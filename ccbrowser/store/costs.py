"""Cost columns: each completion priced when it is written, and again when the prices change.

Every row carries ``cost_usd`` (NULL when the price is unknown, never 0 for "unknown"),
``cost_source`` (``estimate``, ``reported`` by the server, or ``unknown``) and ``cost_note`` (why it
is unknown, or what is uncertain about it). The figures come from ``ccbrowser.pricing`` (pure).

Which price list applies depends on where a row came from: its profile's flavour decides the
provider hint (``FLAVOR_PROVIDERS``). A :class:`Pricer` holds the price data, the tier factors and
those hints; its ``stamp`` names all three. The stamp in effect is saved in ``price_state``: when
a command opens the database with another one (after ``prices --update``, a ``[prices]`` change, a
profile changing flavour), :func:`ensure_priced` recomputes every row, in batches, with progress.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ccbrowser.pricing import CostEstimate, PriceBook, default_book, estimate

# Flavours whose rows need a provider hint; the others (openai, router) are found by model name.
FLAVOR_PROVIDERS: Mapping[str, str] = {"azure": "azure", "llama-stack": "llama-stack"}
COST_COLUMNS = ("cost_usd", "cost_source", "cost_note")
_BATCH = 5_000
_MAX_NOTE = 200

Cost = tuple[float | None, str, str | None]  # (cost_usd, cost_source, cost_note)
OnProgress = Callable[[int, int], None]  # (rows priced, rows in all)


@dataclass
class Pricer:
    """Prices raw API objects for the store: the price data, tier factors and provider hints."""

    book: PriceBook
    providers: dict[str, str] = field(default_factory=dict)  # profile -> provider hint

    @classmethod
    def default(cls) -> Pricer:
        """The bundled price data with the default tier factors and no provider hints."""
        return cls(default_book())

    @classmethod
    def build(cls, book: PriceBook, flavors: Mapping[str, str]) -> Pricer:
        """``book`` from ``pricing.update.load_price_book`` (the saved data or the bundled one,
        with the ``[prices]`` tier factors); ``flavors`` maps each profile to its flavour."""
        hints = {p: FLAVOR_PROVIDERS[f] for p, f in flavors.items() if f in FLAVOR_PROVIDERS}
        return cls(book, hints)

    @property
    def stamp(self) -> str:
        """What the stored costs were computed from; any change means recomputing them."""
        factors = {k: str(v) for k, v in sorted(self.book.tier_factors.items())}
        return json.dumps(
            {"data": self.book.source, "tiers": factors, "providers": dict(sorted(self.providers.items()))},
            sort_keys=True,
        )

    def explain(self, obj: Mapping[str, Any], profile: str | None) -> CostEstimate:
        """The whole estimate (rates, tokens, tier) of one object, as the detail view shows it."""
        return estimate(obj, provider=self.providers.get(profile or ""), book=self.book)

    def price(self, obj: Any, profile: str | None) -> Cost:
        """The three cost columns of one raw object (never raises on a malformed one)."""
        if not isinstance(obj, dict):
            return None, "unknown", "not a completion object"
        try:
            est = self.explain(obj, profile)
        except Exception as exc:  # noqa: BLE001 - one object's trouble never stops a write
            return None, "unknown", f"cannot price this object ({type(exc).__name__})"
        return columns_of(est)


def columns_of(est: CostEstimate) -> Cost:
    note = est.reason[:_MAX_NOTE] if est.reason else None
    return est.usd_float, est.status, note


def price_raw(pricer: Pricer, raw: str, profile: str | None) -> Cost:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None, "unknown", "stored JSON cannot be read"
    return pricer.price(obj, profile)


def stored_stamp(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT stamp FROM price_state WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # an older schema, or a read-only copy without the table
        return None
    return str(row[0]) if row else None


def price_state(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The stamp in effect and when the costs were last computed (for ``ccbrowser prices``)."""
    row = conn.execute("SELECT stamp, priced_at FROM price_state WHERE id = 1").fetchone()
    if row is None:
        return None
    return {"stamp": json.loads(row[0]), "priced_at": row[1]}


def _save_stamp(conn: sqlite3.Connection, stamp: str) -> None:
    conn.execute(
        "INSERT INTO price_state (id, stamp, priced_at) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET stamp = excluded.stamp, priced_at = excluded.priced_at",
        (stamp, time.time()),
    )


def reprice(
    conn: sqlite3.Connection,
    pricer: Pricer,
    on_progress: OnProgress | None = None,
    *,
    in_transaction: bool = False,
) -> int:
    """Recompute every row's cost; returns the rows priced.

    On its own it commits a transaction a batch (readers see old or new costs, never a long
    lock) and saves the stamp last, so an interrupted run starts over next time;
    ``in_transaction`` runs inside the caller's (the migration's backfill).
    """
    total = conn.execute("SELECT count(*) FROM completions").fetchone()[0]
    done = last = 0
    while True:
        rows = conn.execute(
            "SELECT pk, raw, profile FROM completions WHERE pk > ? ORDER BY pk LIMIT ?", (last, _BATCH)
        ).fetchall()
        if not rows:
            break
        updates = [(*price_raw(pricer, raw, profile), pk) for pk, raw, profile in rows]
        with _maybe_transaction(conn, not in_transaction):
            conn.executemany(
                "UPDATE completions SET cost_usd = ?, cost_source = ?, cost_note = ? WHERE pk = ?", updates
            )
        last = rows[-1][0]
        done += len(rows)
        if on_progress is not None:
            on_progress(done, total)
    with _maybe_transaction(conn, not in_transaction):
        _save_stamp(conn, pricer.stamp)
    return done


@contextmanager
def _maybe_transaction(conn: sqlite3.Connection, own: bool) -> Iterator[None]:
    if not own:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_priced(conn: sqlite3.Connection, pricer: Pricer, on_progress: OnProgress | None = None) -> int:
    """Recompute the costs when they were computed from other prices; returns the rows repriced."""
    if stored_stamp(conn) == pricer.stamp:
        return 0
    return reprice(conn, pricer, on_progress)
