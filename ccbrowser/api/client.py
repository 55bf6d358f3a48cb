"""An async client for the stored chat completions API (list, retrieve, messages, update, delete).

One ``httpx.AsyncClient`` (HTTP/1.1 keep-alive) per sync. What it takes care of, so the engine
does not have to:

- **Flavours** (docs/architecture.md section 6): OpenAI (Bearer + organisation/project headers), Azure (``api-key``
  header, ``api-version`` query unless the base ends in ``/openai/v1``), OpenAI-compatible routers
  (Bearer; update/delete may be missing), Llama Stack (Bearer or nothing; no ``/messages``: the
  input messages are embedded in the completion).
- **Retries** of 408/409/429/5xx, timeouts, connection errors and bodies that are not complete JSON
  (a truncated 200), with exponential backoff and jitter, honouring ``retry-after-ms`` then
  ``retry-after``. A 429 pauses *every* request until the advertised time (not only the one that
  got it) and halves the concurrency of the message fetches, which then grows back slowly (AIMD).
- **Errors** a user can act on: 401/403 say which variable, profile, project and organisation to
  check. The key never appears in an error, a log line or a ``repr``: it lives in a
  :class:`~ccbrowser.config.Secret` and goes only into the request headers.

- **Bounds** (:class:`~ccbrowser.api.limits.Limits`): every body is streamed and cut at a byte
  and a value cap, the bodies in flight share one byte budget, each request has a wall-clock
  deadline (connect, headers and the whole body), ``retry-after`` waits are clamped one by one and
  in total, and ``on_retry`` hears a heartbeat while anything waits longer than ``heartbeat``.
- **One boundary**: whatever a response does (an endless or malformed body, 100k-deep JSON, a
  redirect, a broken connection) ends as a :class:`~ccbrowser.errors.CCBrowserError` with one
  line; nothing from httpx, zlib or the JSON parser leaks out.

Bodies are decoded by :func:`ccbrowser.api.jsonio.decode` into plain dicts (no pydantic on the hot
path): the engine stores them verbatim.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from ccbrowser import __version__
from ccbrowser.api import jsonio
from ccbrowser.api.body import BodyTooLarge, ByteBudget, UnsupportedEncoding, read_body
from ccbrowser.api.limits import Limits
from ccbrowser.config import Settings, check_base_url, is_loopback
from ccbrowser.errors import (  # defined there, one hierarchy; importable from here as before
    APIError,
    AuthError,
    CCBrowserError,
    NetworkError,
    NotFoundError,
    UnsupportedError,
    UsageError,
)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
PAGE_LIMIT = 100
POOL_SIZE = 4  # connections per httpx pool
DEFAULT_LIMITS = Limits()


# -- errors ------------------------------------------------------------------------------------


class ResponseTooLarge(APIError):
    """A body passed ``limits.max_response_bytes`` or ``limits.max_json_values``: not read further."""


class MalformedResponse(APIError):
    """A body that is not strict JSON (invalid UTF-8, truncated, too deep), even after a retry."""


class PaginationError(APIError):
    """A ``/messages`` walk that cycles or never ends; that completion is left for the next sync."""


class RedirectError(APIError):
    """A 3xx answer: never followed (the key must not travel to wherever it points)."""


class RateLimitedTooLong(NetworkError):
    """Rate-limit waits passed ``limits.max_total_wait``: stop the sync, try later."""


# -- retry and rate-limit bookkeeping -----------------------------------------------------------


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait, then again at least every ``limits.heartbeat``
    seconds while something still waits (``heartbeat`` true), with the time ``remaining``.

    ``waiting_for_answer``: the heartbeat of a request that has no (complete) answer yet, not of a
    retry wait; ``attempt``/``max_attempts`` then count the attempt being waited on.
    """

    reason: str
    attempt: int
    delay: float
    rate_limited: bool
    max_attempts: int = 0
    remaining: float = 0.0
    heartbeat: bool = False
    waiting_for_answer: bool = False

    def line(self) -> str:
        """The line to print, e.g. ``rate limited: waiting 120 s (retry 3 of 8)``."""
        of = f" of {self.max_attempts}" if self.max_attempts else ""
        if self.waiting_for_answer:
            return f"waiting for an answer: {self.reason} (attempt {self.attempt}{of}, {seconds_text(self.remaining)} left)"
        left = self.remaining if self.heartbeat else self.delay
        what = "rate limited" if self.rate_limited else self.reason
        return f"{what}: waiting {seconds_text(left)} (retry {self.attempt}{of})"


def seconds_text(seconds: float) -> str:
    """A wait as people read it: tenths below ten seconds, whole seconds above."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


@dataclass
class RetryPolicy:
    max_retries: int = 8
    base_delay: float = 0.5  # the SDK's: 0.5 s x 2^n ...
    max_delay: float = 8.0  # ... capped at 8 s, with jitter
    max_retry_after: float = 120.0  # a longer advertised wait is capped, not ignored

    def backoff(self, attempt: int) -> float:
        delay = min(self.base_delay * (2**attempt), self.max_delay)
        return delay * (1 - 0.25 * random.random())


@dataclass
class ClientStats:
    requests: int = 0  # HTTP attempts, retries included
    retries: int = 0
    rate_limited: int = 0  # 429s received
    waited: float = 0.0  # seconds slept before retries


class AdaptiveLimiter:
    """How many requests may be in flight: sized from latency, halved on a 429, regrown slowly.

    - **Ceiling from latency** (Little's law): one client process drives at most ~``RATE``
      requests/s, so more than ``RATE x rtt_min x 2`` in flight only queues (on a server next door,
      32 in flight is slower than 4 and costs more CPU on both sides). ``rtt_min`` is the fastest
      successful response seen, i.e. the latency without queueing.
    - **AIMD under it**: a 429 halves the limit (once per burst), each success adds 1/limit.

    Single event loop, no lock needed: acquire is a counter unless the limit is reached.
    """

    RATE = 2000.0

    def __init__(self, initial: int = 8, maximum: int = 16, minimum: int = 1, floor: int = 4) -> None:
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        self.floor = min(max(floor, self.minimum), self.maximum)
        self.limit = float(min(max(initial, self.minimum), self.maximum))
        self.ceiling = self.maximum
        self.rtt_min = float("inf")
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._last_cut = 0.0

    async def acquire(self) -> None:
        if self.in_flight < int(self.limit) and not self._waiters:
            self.in_flight += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # the releaser hands its slot over (in_flight already counts us)
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()
            else:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    def success(self, rtt: float | None = None) -> None:
        if rtt is not None and rtt < self.rtt_min:
            self.rtt_min = rtt
            self.ceiling = min(self.maximum, max(self.floor, math.ceil(self.RATE * rtt * 2)))
        if self.limit > self.ceiling:
            self.limit = float(self.ceiling)
        elif self.limit < self.ceiling:
            self.limit = min(self.ceiling, self.limit + 1.0 / self.limit)
            self._wake()

    def throttled(self) -> None:
        # One cut per burst: the requests already in flight will all come back 429 too.
        now = time.monotonic()
        if now - self._last_cut > 1.0:
            self.limit = max(self.minimum, self.limit / 2)
            self._last_cut = now


def retry_after(headers: httpx.Headers, policy: RetryPolicy) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms`` first, then ``retry-after``.

    Capped at ``policy.max_retry_after`` (the client caps again at ``limits.max_retry_wait``).
    """
    value = headers.get("retry-after-ms")
    if value:
        try:
            ms = float(value)
            if ms == ms:  # not NaN
                return min(max(ms / 1000.0, 0.0), policy.max_retry_after)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
                if parsed.tzinfo is None:
                    return None
                seconds = parsed.timestamp() - time.time()
            except (TypeError, ValueError, OverflowError, OSError):
                return None
        if seconds != seconds:  # NaN
            return None
        return min(max(seconds, 0.0), policy.max_retry_after)
    return None


# -- pages --------------------------------------------------------------------------------------


@dataclass
class Page:
    """One list page as received: ``data`` items are kept exactly as decoded (possibly malformed)."""

    data: list[Any]
    has_more: bool
    last_id: str | None
    total: int | None = None
    nbytes: int = 0


class _Retry(Exception):
    """Internal: this attempt failed in a way that another attempt may fix."""

    def __init__(
        self,
        reason: str,
        wait: float | None = None,
        rate_limited: bool = False,
        final: Exception | None = None,
        retries: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.rate_limited = rate_limited
        self.final = final
        self.retries = retries  # fewer retries than the policy's for this kind of failure


@dataclass
class _Answer:
    """A response read within the limits: status, headers and the (possibly cut) body."""

    status: int
    headers: httpx.Headers
    body: bytes
    reason_phrase: str


ERROR_BODY_BYTES = 64 << 10  # an error body is read this far (its message is all we need)
MALFORMED_RETRIES = 2  # a body that is not JSON: maybe truncated in transit, but rarely twice

# Whole or masked keys in a server's message ("Incorrect API key provided: sk-*abcd"): a key-like
# prefix, or a word with "**" or an inner "*" (masked). Word by word: one regex with `\S*` on both
# sides of `\*` backtracks quadratically (minutes on a 64 KiB word).
_KEYLIKE = re.compile(r"\b(?:sk|ak|key|pk|rk)-[A-Za-z0-9_\-*]{3,}")
_WORD = re.compile(r"\S+")


def _mask_word(match: re.Match[str]) -> str:
    word = match.group()
    return "***" if "**" in word or "*" in word[1:-1] else word


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def segment(value: str) -> str:
    """``value`` as one path segment: every reserved byte and every dot percent-encoded.

    ``quote(safe='')`` leaves dots, and ``.``/``..`` segments are dot segments that URL handling
    resolves into another endpoint (``/chat/completions/..`` is ``/chat``).
    """
    if not value:
        raise APIError("an empty completion id cannot be looked up")
    return quote(value, safe="").replace(".", "%2E")


class Client:
    """The stored completions API over one keep-alive connection pool. Use ``async with``."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        concurrency: int = 32,
        initial_concurrency: int | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.settings = settings
        self.base_url = check_base_url(settings.base_url, insecure=settings.insecure)
        self.retry = retry or RetryPolicy()
        self.limits = limits
        self.on_retry = on_retry
        self.stats = ClientStats()
        self.limiter = AdaptiveLimiter(initial_concurrency or max(1, concurrency // 2), concurrency)
        self.budget = ByteBudget(limits.max_inflight_bytes)
        self._answered = False  # has the server ever answered (with anything)?
        self._resume_at = 0.0  # monotonic time before which no request is sent (after a 429)
        self._rate_waited = 0.0  # wall-clock seconds of rate-limit pauses so far
        self._pause_notice: RetryNotice | None = None  # the retry behind the current pause
        self._waiting: dict[int, tuple[str, float, int]] = {}  # request -> (what, started, attempt)
        self._ticket = 0
        self._watchdog: asyncio.Task[None] | None = None
        self._params: dict[str, str] = {}
        if settings.flavor == "azure" and settings.api_version and not self.base_url.endswith("/v1"):
            self._params["api-version"] = settings.api_version
        headers = self._headers()
        if (
            ("Authorization" in headers or "api-key" in headers)
            and urlsplit(self.base_url).scheme == "http"
            and not is_loopback(self.base_url)
            and settings.insecure is not True
        ):
            # Defence in depth: Settings built by hand (or a truthy string) skip the config checks.
            raise UsageError(
                f"refusing to send the API key over plain http to {urlsplit(self.base_url).hostname}: use https"
            )
        # Several small connection pools instead of one big one: httpcore scans every connection
        # of a pool (a few syscalls each) for every request, so one pool of 20 costs ~2x the CPU
        # per request of five pools of 4. Each request goes to the least busy pool.
        # One TLS context for all of them: building one (loading the CA bundle) costs ~0.1 s.
        tls = httpx.create_ssl_context()
        self._pools = [
            httpx.AsyncClient(
                headers=headers,
                verify=tls,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
                limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
                transport=transport,
                follow_redirects=False,  # a redirect could carry the key to another host
            )
            for _ in range(max(1, -(-(concurrency + 2) // POOL_SIZE)))
        ]
        self._busy = [0] * len(self._pools)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, flavor={self.settings.flavor!r}, profile={self.settings.profile!r})"

    def _headers(self) -> dict[str, str]:
        s = self.settings
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",  # the only encoding inflated within bounds (api.body)
            "User-Agent": f"ccbrowser/{__version__}",
        }
        key = s.api_key.reveal() if s.api_key is not None else None
        if s.flavor == "azure":
            if key:
                headers["api-key"] = key
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        if s.flavor in ("openai", "router"):
            if s.organization:
                headers["OpenAI-Organization"] = s.organization
            if s.project:
                headers["OpenAI-Project"] = s.project
        return headers

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for pool in self._pools:
            await pool.aclose()

    # -- operations ---------------------------------------------------------------------------

    async def list_page(
        self,
        *,
        order: str = "desc",
        limit: int = PAGE_LIMIT,
        after: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Page:
        """One page of ``GET /chat/completions``; items stay raw dicts (stored verbatim)."""
        params: dict[str, Any] = {"order": order, "limit": limit}
        if after:
            params["after"] = after
        if model:
            params["model"] = model
        for key, value in (metadata or {}).items():
            params[f"metadata[{key}]"] = value
        body, nbytes, _ = await self._request("GET", "/chat/completions", params=params)
        page = self._page(body, limit, "/chat/completions")
        page.nbytes = nbytes
        return page

    async def retrieve(self, completion_id: str) -> dict[str, Any]:
        path = f"/chat/completions/{segment(completion_id)}"
        body, _, _ = await self._request("GET", path)
        if not isinstance(body, dict):
            raise APIError(f"unexpected answer to GET {path}: not a JSON object")
        return body

    async def messages(self, completion_id: str, *, limited: bool = True) -> list[Any] | None:
        """All input messages of a completion in order (paged); None when the server says 404.

        ``limited``: go through the adaptive concurrency limiter (what the sync's fan-out uses).
        A walk that comes back to a cursor or an item id it has seen, or passes
        ``limits.max_message_pages`` pages, ``max_message_bytes`` bytes or ``max_json_values``
        values, raises :class:`PaginationError` (that completion stays pending).
        """
        if self.settings.flavor == "llama-stack":
            try:
                obj = await self.retrieve(completion_id)
            except NotFoundError:
                return None
            inputs = obj.get("input_messages")
            return inputs if isinstance(inputs, list) else []
        path = f"/chat/completions/{segment(completion_id)}/messages"
        lim = self.limits
        out: list[Any] = []
        seen: set[str] = set()  # item ids of this walk
        cursors: set[str] = set()
        after: str | None = None
        pages = nbytes = 0
        values_left = lim.max_json_values
        while True:
            if pages >= lim.max_message_pages:
                raise PaginationError(
                    f"GET {path}: more than {lim.max_message_pages} pages, stopped (limits.max_message_pages)"
                )
            params: dict[str, Any] = {"limit": PAGE_LIMIT, "order": "asc"}
            if after:
                params["after"] = after
            try:
                body, size, values = await self._request(
                    "GET", path, params=params, limited=limited, values_left=values_left
                )
            except NotFoundError:
                if after is None:
                    return None
                raise
            except ResponseTooLarge as exc:
                if pages == 0:
                    raise
                raise PaginationError(f"{exc} (all pages of one completion's messages)") from None
            pages += 1
            nbytes += size
            values_left -= values
            if nbytes > lim.max_message_bytes:
                raise PaginationError(
                    f"GET {path}: messages larger than {_size(lim.max_message_bytes)} in total, "
                    "stopped (limits.max_message_bytes)"
                )
            page = self._page(body, PAGE_LIMIT, path)
            for item in page.data:
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, str):
                    if item_id in seen:
                        raise PaginationError(
                            f"GET {path}: message {_short(item_id)} came twice, the pages cycle"
                        )
                    seen.add(item_id)
            out.extend(page.data)
            if not page.has_more or not page.data or page.last_id is None:
                return out
            if page.last_id in cursors:
                raise PaginationError(
                    f"GET {path}: cursor {_short(page.last_id)} came twice, the pages cycle"
                )
            cursors.add(page.last_id)
            after = page.last_id

    async def update(self, completion_id: str, metadata: Mapping[str, str]) -> dict[str, Any]:
        path = f"/chat/completions/{segment(completion_id)}"
        body, _ = await self._unsupported_guard("update", "POST", path, {"metadata": dict(metadata)})
        return body if isinstance(body, dict) else {}

    async def delete(self, completion_id: str) -> dict[str, Any]:
        path = f"/chat/completions/{segment(completion_id)}"
        body, _ = await self._unsupported_guard("delete", "DELETE", path, None)
        return body if isinstance(body, dict) else {}

    async def _unsupported_guard(self, what: str, method: str, path: str, payload: Any) -> tuple[Any, int]:
        try:
            body, nbytes, _ = await self._request(method, path, json_body=payload)
            return body, nbytes
        except APIError as exc:
            if exc.status in (405, 501) or (exc.status == 404 and self.settings.flavor == "router"):
                raise UnsupportedError(
                    f"{self.base_url} does not support {what} of stored completions ({exc.status})",
                    status=exc.status,
                ) from None
            raise

    # -- plumbing -----------------------------------------------------------------------------

    def _page(self, body: Any, limit: int, path: str) -> Page:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise APIError(
                f"unexpected answer to GET {path}: no `data` list (is {self.base_url} the right base URL?)"
            )
        data = body["data"]
        has_more = body.get("has_more")
        if not isinstance(has_more, bool):
            has_more = len(data) >= limit
        # The cursor: the server's own `last_id` when it names an item of this page (an item
        # repeated at the end of a page must not move the cursor back), else the last item's id.
        ids = {it.get("id") for it in data if isinstance(it, dict) and isinstance(it.get("id"), str)}
        declared = body.get("last_id")
        last = data[-1] if data else None
        last_id = declared if isinstance(declared, str) and declared in ids else None
        if last_id is None:
            last_id = last.get("id") if isinstance(last, dict) else None
        if not isinstance(last_id, str):
            last_id = declared if isinstance(declared, str) else None
        total = body.get("total")
        return Page(data, has_more, last_id, total if isinstance(total, int) else None)

    async def _pause(self) -> None:
        while (delay := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def _start_watchdog(self) -> None:
        if self._watchdog is None and self.on_retry is not None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """At least every ``heartbeat`` seconds while something waits: one notice (not one per request)."""
        beat = max(0.05, self.limits.heartbeat)
        while True:
            await asyncio.sleep(beat)
            now = time.monotonic()
            notice = self._pause_notice
            if notice is not None and self._resume_at > now:
                self._notify(
                    RetryNotice(
                        notice.reason,
                        notice.attempt,
                        notice.delay,
                        notice.rate_limited,
                        notice.max_attempts,
                        remaining=self._resume_at - now,
                        heartbeat=True,
                    )
                )
                continue
            oldest = min(self._waiting.values(), key=lambda w: w[1], default=None)
            if oldest is not None and now - oldest[1] >= beat:
                what, started, attempt = oldest
                others = len(self._waiting) - 1
                reason = f"{what}, {now - started:.0f} s so far" + (
                    f" ({others} more in flight)" if others else ""
                )
                self._notify(
                    RetryNotice(
                        reason,
                        attempt,
                        0.0,
                        False,
                        self.retry.max_retries + 1,
                        remaining=max(0.0, started + self.limits.request_deadline - now),
                        heartbeat=True,
                        waiting_for_answer=True,
                    )
                )

    def _notify(self, notice: RetryNotice) -> None:
        if self.on_retry is not None:
            self.on_retry(notice)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        limited: bool = False,
        values_left: int | None = None,
    ) -> tuple[Any, int, int]:
        """(decoded JSON, body size, values counted or 0); retries what can be retried, raises the rest."""
        # A ready URL string: httpx's own params merging costs ~3x more CPU per request.
        query = {**self._params, **(params or {})}
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        self._start_watchdog()
        lim = self.limits
        attempt = malformed = 0
        while True:
            await self._pause()
            if limited:
                await self.limiter.acquire()
            try:
                self.stats.requests += 1
                sent = time.monotonic()
                answer = await self._attempt(method, url, path, json_body, attempt)
                status = answer.status
                self._answered = True
                if status < 300:
                    body, values = self._decode(answer.body, method, path, status, values_left)
                    if limited:
                        self.limiter.success(time.monotonic() - sent)
                    return body, len(answer.body), values
                if status < 400:
                    raise RedirectError(_redirect_line(answer, method, path, self._redact), status=status)
                if status in RETRY_STATUS and not _quota_exhausted(answer, lim.max_json_depth):
                    wait = retry_after(answer.headers, self.retry)
                    if wait is not None:
                        wait = min(wait, lim.max_retry_wait)
                    if status == 429:
                        self.stats.rate_limited += 1
                        self.limiter.throttled()
                    raise _Retry(f"HTTP {status}", wait, status == 429, self._error(answer, method, path))
                raise self._error(answer, method, path)
            except _Retry as retry:
                allowed = self.retry.max_retries
                if retry.retries is not None:  # counted on their own: a 500 before is no reason
                    malformed += 1
                    allowed = min(allowed, attempt + retry.retries + 1 - malformed)
                if attempt >= allowed:
                    if isinstance(retry.final, CCBrowserError):
                        raise retry.final from None
                    raise NetworkError(
                        f"{method} {self.base_url}{path} failed after {attempt + 1} attempts: {retry.reason}"
                    ) from None
                delay = retry.wait if retry.wait is not None else self.retry.backoff(attempt)
                attempt += 1
                notice = RetryNotice(
                    retry.reason, attempt, delay, retry.rate_limited, allowed, remaining=delay
                )
                if retry.rate_limited:
                    now = time.monotonic()
                    added = max(0.0, now + delay - max(self._resume_at, now))
                    if self._rate_waited + added > lim.max_total_wait:
                        raise RateLimitedTooLong(
                            f"rate limited for more than {_duration(lim.max_total_wait)} in total: try again later"
                        ) from None
                    self._rate_waited += added
                    if added > 0:
                        self._resume_at = now + delay
                        self._pause_notice = notice
                self.stats.retries += 1
                self.stats.waited += delay
                self._notify(notice)
            finally:
                if limited:
                    self.limiter.release()
            await asyncio.sleep(delay)

    async def _attempt(self, method: str, url: str, path: str, json_body: Any, attempt: int) -> _Answer:
        """One HTTP exchange within the deadline and the byte caps; transport failures become _Retry."""
        lim = self.limits
        busy = self._busy
        k = busy.index(min(busy))
        busy[k] += 1
        self._ticket += 1
        ticket = self._ticket
        self._waiting[ticket] = (f"{method} {path}", time.monotonic(), attempt + 1)
        try:
            async with asyncio.timeout(lim.request_deadline):
                async with self._pools[k].stream(method, url, json=json_body) as response:
                    status = response.status_code
                    cap = lim.max_response_bytes if status < 300 else ERROR_BODY_BYTES
                    if 300 <= status < 400:
                        return _Answer(status, response.headers, b"", response.reason_phrase)
                    try:
                        body = await read_body(
                            response.aiter_raw(),
                            response.headers.get("content-encoding", ""),
                            limit=cap,
                            budget=self.budget,
                        )
                    except BodyTooLarge:
                        if status < 300:
                            raise ResponseTooLarge(
                                f"{method} {path}: response larger than {_size(cap)}, stopped reading "
                                "(limits.max_response_bytes)",
                                status=status,
                            ) from None
                        body = b""  # an error body: its status says enough
                    return _Answer(status, response.headers, body, response.reason_phrase)
        except TimeoutError:
            raise _Retry(
                f"no complete answer within {_duration(lim.request_deadline)} (limits.request_deadline)"
            ) from None
        except UnsupportedEncoding as exc:
            raise _Retry(
                f"body in an unsupported or broken content-encoding: {self._redact(str(exc))}",
                final=MalformedResponse(f"{method} {path}: body in an unusable content-encoding"),
                retries=MALFORMED_RETRIES,
            ) from None
        except httpx.ConnectError as exc:
            # Nothing ever answered: most likely a wrong base URL, not a blip; fail fast.
            if not self._answered and attempt >= min(2, self.retry.max_retries):
                raise NetworkError(f"cannot connect to {self.base_url}: {_describe(exc)}") from None
            raise _Retry(_describe(exc), final=exc) from None
        except (
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            httpx.DecodingError,
        ) as exc:
            raise _Retry(_describe(exc), final=exc) from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach {self.base_url}: {_describe(exc)}") from None
        except (OSError, ValueError, OverflowError, UnicodeError, RecursionError, MemoryError) as exc:
            # Anything else a response can raise inside httpx/h11: one line, retried like a network error.
            raise _Retry(_describe(exc), final=NetworkError(f"{method} {path}: {_describe(exc)}")) from None
        finally:
            busy[k] -= 1
            self._waiting.pop(ticket, None)

    def _decode(
        self, raw: bytes, method: str, path: str, status: int, values_left: int | None
    ) -> tuple[Any, int]:
        """The decoded body and its counted values (0 when not counted); too many values: not decoded."""
        lim = self.limits
        cap = lim.max_json_values if values_left is None else min(values_left, lim.max_json_values)
        values = 0
        if values_left is not None or len(raw) // 2 + 1 > cap:
            values = jsonio.count_values(raw)
            if values > cap:
                raise ResponseTooLarge(
                    f"{method} {path}: response with more than {cap:,} JSON values, not decoded "
                    "(limits.max_json_values)",
                    status=status,
                )
        try:
            return jsonio.decode(raw, max_depth=lim.max_json_depth), values
        except jsonio.BadJSON as exc:
            if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # a portal or a web page: no retry
                raise MalformedResponse(
                    f"{method} {path}: the server answered HTML, not JSON (is the base URL right? {self.base_url})",
                    status=status,
                ) from None
            final = MalformedResponse(f"{method} {path}: unusable response ({status}): {exc}", status=status)
            raise _Retry(
                f"{exc} in the answer to {method} {path} ({status})", final=final, retries=MALFORMED_RETRIES
            ) from None

    def _error(self, response: _Answer, method: str, path: str) -> APIError:
        """The error to raise for a response: a line that says what to do about it."""
        status = response.status
        code, message = _error_fields(response, self.limits.max_json_depth)
        message = self._redact(message)
        s = self.settings
        where = f"profile {s.profile!r}"
        key_var = f"${s.api_key_env}" if s.api_key_env else "the key variable"
        if status == 401:
            if s.api_key is None:
                return AuthError(
                    f"no API key: {s.base_url} needs one; set {key_var} ({where})", status=status, code=code
                )
            return AuthError(
                f"the API rejected the key (401{' ' + code if code else ''}): check {key_var} ({where}, {s.base_url})",
                status=status,
                code=code,
            )
        if status == 403:
            scope = ", ".join(
                x
                for x in (
                    f"project {s.project}" if s.project else "",
                    f"organization {s.organization}" if s.organization else "",
                )
                if x
            )
            hint = (
                f"check that the key in {key_var} may read stored completions"
                f"{' of ' + scope if scope else ''} ({where}; OPENAI_PROJECT_ID / OPENAI_ORG_ID or the profile's project/organization)"
            )
            return AuthError(
                f"access denied (403{' ' + code if code else ''}): {hint}{': ' + message if message else ''}",
                status=status,
                code=code,
            )
        if status == 404 or (status == 400 and s.flavor == "llama-stack" and "not found" in message.lower()):
            # Llama Stack answers a missing id with 400 "... not found".
            return NotFoundError(
                f"not found: {method} {path}{': ' + message if message else ''}{self._v1_hint(path)}",
                status=status,
                code=code,
            )
        if status == 429:
            return APIError(
                f"rate limited or out of quota (429{' ' + code if code else ''}): {message or 'check the plan and billing of the account'}",
                status=status,
                code=code,
            )
        detail = message or self._redact(response.reason_phrase)
        return APIError(
            f"{method} {path} failed with HTTP {status}{': ' + detail if detail else ''}",
            status=status,
            code=code,
        )

    def _v1_hint(self, path: str) -> str:
        """A 404 on the list route itself: the route is missing, most often the base URL's `/v1`."""
        if path != "/chat/completions" or "api-version" in self._params:  # Azure's classic paths
            return ""
        base = self.base_url.rstrip("/")
        if "v1" in urlsplit(base).path.split("/"):
            return f" (is {base} the right base URL?)"
        return f" (did you mean {base}/v1?)"

    def _redact(self, text: str) -> str:
        """A server's message, made safe to print: no key (whole or masked), no control chars, one line."""
        if not text:
            return ""
        key = self.settings.api_key.reveal() if self.settings.api_key is not None else None
        if key:
            text = text.replace(key, "***")
        cut = len(text) > 1000
        text = _WORD.sub(_mask_word, _KEYLIKE.sub("***", text[:1000]))
        text = _CONTROL.sub(" ", text).strip()
        return text[:300] + ("…" if cut or len(text) > 300 else "")


def _redirect_line(answer: _Answer, method: str, path: str, redact: Callable[[str], str]) -> str:
    location = redact(answer.headers.get("location", ""))
    where = f" (redirect to {location[:120]})" if location else ""
    return f"{method} {path}: server answered {answer.status}{where}: not followed"


def _quota_exhausted(response: _Answer, max_depth: int) -> bool:
    """OpenAI answers 429 `insufficient_quota` when billing stops: no point retrying that."""
    if response.status != 429:
        return False
    code, _ = _error_fields(response, max_depth)
    return code == "insufficient_quota"


def _error_fields(response: _Answer, max_depth: int) -> tuple[str | None, str]:
    try:
        body = jsonio.decode(response.body, max_depth=max_depth)
    except jsonio.BadJSON:
        return None, ""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, str):
        return None, err
    if not isinstance(err, dict):
        detail = body.get("detail") if isinstance(body, dict) else None  # FastAPI-style servers
        return None, detail if isinstance(detail, str) else ""
    code = err.get("code")
    message = err.get("message")
    return (str(code)[:100] if code is not None else None), (message if isinstance(message, str) else "")


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n / 1024:g} KiB" if n >= 1024 else f"{n} bytes"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


def _short(value: str) -> str:
    text = _CONTROL.sub(" ", value)
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


def _describe(exc: Exception) -> str:
    """A short reason without the request repr (which carries the URL only, but keep it short)."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name
