"""Refreshing the price data, only when a user asks (a future ``ccbrowser prices --update``).

genai-prices never fetches anything unless its ``UpdatePrices`` is started, and ccbrowser never
starts it. That updater downloads the project's published ``data.json`` (the URL is
``genai_prices.update_prices.DEFAULT_UPDATE_URL``) every hour in a background thread and keeps
the result in memory only, process-wide. ccbrowser wants neither a thread nor prices that change
under a running backfill, and it wants the refresh to outlive the process, so this module does
the same download once, validates it with the package's own parser, and saves the bytes to a
file the caller chooses (the natural place is ``prices.json`` in ccbrowser's data directory,
next to the database). ``load_price_book`` reads that file back; without it, the data bundled
with the installed genai-prices is used.

This is the one module of ``ccbrowser.pricing`` that does I/O.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccbrowser.errors import CCBrowserError
from ccbrowser.hosts import is_loopback_host
from ccbrowser.pricing.book import PriceBook

MAX_BYTES = 20_000_000  # the published file is ~1 MB uncompressed; never read without a bound
FILENAME = "prices.json"


class PriceUpdateError(CCBrowserError):
    """A refresh that did not happen, or a saved file that cannot be used; one line for the user."""


def default_url() -> str:
    from genai_prices.update_prices import DEFAULT_UPDATE_URL

    return DEFAULT_UPDATE_URL


def download(url: str | None = None, *, timeout: float = 30.0, max_bytes: int = MAX_BYTES) -> bytes:
    """The raw price data at ``url`` (https, or http to this machine only), at most ``max_bytes``."""
    import httpx

    url = url or default_url()
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        raise PriceUpdateError(
            f"refusing to fetch prices over {parts.scheme or 'no scheme'}: use an https URL"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
            if response.status_code != 200:
                raise PriceUpdateError(f"price data download failed: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise PriceUpdateError(f"price data larger than {max_bytes:,} bytes: not used")
                chunks.append(chunk)
    except httpx.HTTPError as e:
        from ccbrowser.safe import one_line

        why = f": {one_line(str(e), 200)}" if str(e) else ""  # "All connection attempts failed"
        raise PriceUpdateError(
            f"price data download failed: {type(e).__name__}{why} ({parts.hostname})"
        ) from None
    return b"".join(chunks)


def parse(payload: bytes) -> list[Any]:
    """genai-prices providers from its published JSON; PriceUpdateError if it is not that."""
    from genai_prices.types import _providers_from_raw  # the parser UpdatePrices.fetch uses

    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PriceUpdateError("price data is not JSON") from None
    if not isinstance(raw, list):
        raise PriceUpdateError("price data is not a list of providers")
    try:
        providers = _providers_from_raw(raw)
    except (ValueError, TypeError, RecursionError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PriceUpdateError(f"price data does not validate: {first[:160]}") from None
    chat = [
        p
        for p in providers
        if p.id == "openai" and any(x.api_flavor == "chat" for x in p.extractors or ()) and p.models
    ]
    if not chat:
        raise PriceUpdateError("price data has no OpenAI chat prices")
    return providers


def book_from_bytes(
    payload: bytes, *, label: str = "downloaded", tier_factors: Mapping[str, object] | None = None
) -> PriceBook:
    from genai_prices.data_snapshot import DataSnapshot

    providers = parse(payload)
    digest = hashlib.sha256(payload).hexdigest()[:12]
    snapshot = DataSnapshot(providers=providers, from_auto_update=True)
    book = PriceBook(snapshot, f"genai-prices data {digest} ({label})")
    return book.with_tier_factors(tier_factors) if tier_factors else book


def update_price_file(
    path: Path, url: str | None = None, *, timeout: float = 30.0, max_bytes: int = MAX_BYTES
) -> PriceBook:
    """Download, validate, then atomically replace ``path``; a failed refresh leaves it as it was."""
    payload = download(url, timeout=timeout, max_bytes=max_bytes)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    book = book_from_bytes(payload, label=f"updated {when}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return book


def load_price_book(path: Path | None, *, tier_factors: Mapping[str, object] | None = None) -> PriceBook:
    """The saved price data if ``path`` holds a valid file, else the data bundled with genai-prices."""
    if path is not None:
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            payload = b""
        except OSError as e:
            raise PriceUpdateError(f"cannot read {path.name}: {e.strerror}") from None
        if payload:
            stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
            return book_from_bytes(payload, label=f"updated {stamp}", tier_factors=tier_factors)
    return PriceBook.bundled(tier_factors)
