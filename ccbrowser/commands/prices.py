"""`ccbrowser prices [--update] [--json]`: the price data in use, its date, the tier factors.

Every cost ccbrowser shows is an estimate from genai-prices' data (or a cost the server reported
itself). The data ships inside the installed package and is never fetched at run time; `--update`
downloads the project's newest published data once, saves it beside the database's default
location (`prices.json` in the data directory) and recomputes every stored cost.

The helpers here are what every command that reads or writes costs uses: `pricer_for(args)` (the
price data, the `[prices]` tier factors and each profile's flavour) and `ensure_costs`, which
recomputes the stored costs with a progress line when they were computed from other prices.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccbrowser.store.costs import Pricer

ESTIMATE_NOTE = "all costs are estimates from the price data `ccbrowser prices` shows (or reported by the server), not an invoice"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--update",
        action="store_true",
        help="download the newest published price data, then recompute every stored cost",
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)  # another source of the same data (tests)
    parser.add_argument("--json", action="store_true", help="one JSON object")


def pricer_for(args: argparse.Namespace) -> Pricer:
    """The prices in effect: saved by `--update` (else bundled), `[prices]` factors, profile flavours."""
    from ccbrowser.paths import prices_path
    from ccbrowser.pricing.update import load_price_book
    from ccbrowser.store.costs import Pricer

    config = args.config
    return Pricer.build(load_price_book(prices_path(), tier_factors=config.tier_factors), config.flavors())


def ensure_costs(conn: sqlite3.Connection, pricer: Pricer) -> int:
    """Recompute stored costs computed from other prices, with a progress line on a terminal."""
    from ccbrowser.progress import Progress
    from ccbrowser.store.costs import ensure_priced, stored_stamp
    from ccbrowser.store.db import is_read_only

    if is_read_only(conn) or stored_stamp(conn) == pricer.stamp:
        return 0  # a read-only database shows the costs it holds
    progress = Progress("pricing")
    try:
        return ensure_priced(conn, pricer, progress.step)
    finally:
        progress.close()


def open_priced(args: argparse.Namespace) -> sqlite3.Connection:
    """`open_existing`, with the stored costs brought up to the prices in effect.

    For the commands that read costs in scripts: a config file they cannot load (a typo) leaves
    the stored costs as they are rather than failing the command."""
    from ccbrowser.config import load_config
    from ccbrowser.errors import CCBrowserError
    from ccbrowser.store import open_existing

    conn = open_existing(args.db)
    if args.config is None:
        try:
            args.config = load_config()
        except CCBrowserError:
            return conn
    ensure_costs(conn, pricer_for(args))
    return conn


def describe(pricer: Pricer, conn: sqlite3.Connection | None) -> dict[str, Any]:
    from ccbrowser.pricing import DEFAULT_TIER_FACTORS
    from ccbrowser.store.costs import price_state
    from ccbrowser.store.stats import cost_sources

    overrides = pricer.book.tier_factors
    factors = {k: str(v) for k, v in DEFAULT_TIER_FACTORS.items()}
    factors.update({k: str(v) for k, v in overrides.items()})
    out: dict[str, Any] = {
        "price_data": pricer.book.source,
        "tier_factors": factors,
        "tier_factor_overrides": sorted(overrides),
        "providers": dict(pricer.providers),
        "note": ESTIMATE_NOTE,
    }
    if conn is not None:
        state = price_state(conn)
        out["priced_at"] = state["priced_at"] if state else None
        out["completions"] = cost_sources(conn)
    return out


def render(d: dict[str, Any]) -> str:
    from decimal import Decimal

    from ccbrowser.commands.formats import iso_time

    lines = [f"price data:    {d['price_data']}"]
    if d.get("priced_at") is not None:
        lines.append(f"costs priced:  {iso_time(d['priced_at'])}")
    counts = d.get("completions")
    if counts:
        lines.append(
            f"completions:   {counts['estimate']:,} estimated, {counts['reported']:,} reported by the server, "
            f"{counts['unknown']:,} unknown price"
        )
    for profile, provider in sorted(d["providers"].items()):
        lines.append(f"profile {profile}: priced from the {provider} list")
    lines.append("tier factors (x the standard price; [prices] tier_factors in the config overrides them):")
    for key, value in d["tier_factors"].items():
        mark = "  (override)" if key in d["tier_factor_overrides"] else ""
        lines.append(f"  {key:<26} {Decimal(value):.4g}{mark}")
    lines.append(d["note"])
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from ccbrowser.commands.formats import dumps
    from ccbrowser.errors import CCBrowserError
    from ccbrowser.paths import prices_path
    from ccbrowser.store.db import open_db, open_reader

    if args.update:
        from ccbrowser.pricing.update import update_price_file

        try:
            update_price_file(prices_path(), args.url)
        except OSError as exc:
            raise CCBrowserError(f"cannot save the price data: {exc.strerror or exc}") from None
    pricer = pricer_for(args)
    conn = None
    if args.update or args.db.exists():
        conn = open_db(args.db) if args.update else open_reader(args.db)  # only --update must write
        repriced = ensure_costs(conn, pricer)
        if args.update:
            sys.stderr.write(f"ccbrowser: price data updated; {repriced:,} costs recomputed\n")
    data = describe(pricer, conn)
    sys.stdout.write(dumps(data) + "\n" if args.json else render(data))
    return 0
