"""An async client for the stored chat completions API (list, retrieve, messages, update, delete).

One ``httpx.AsyncClient`` (HTTP/1.1 keep-alive) per sync. What it takes care of, so the engine
does not have to:

- **Flavours** (DESIGN section 1): OpenAI (Bearer + organisation/project headers), Azure (``api-key``
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

Responses are decoded with ``json.loads`` into plain dicts (no pydantic on the hot path): the
engine stores them verbatim.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ccbrowser import __version__
from ccbrowser.config import Settings, check_base_url
from ccbrowser.errors import CCBrowserError, NetworkError

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})
PAGE_LIMIT = 100
POOL_SIZE = 4  # connections per httpx pool


# -- errors ------------------------------------------------------------------------------------


class APIError(CCBrowserError):
    """The server answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthError(APIError):
    """401/403: the key, project or organisation is wrong. Fatal for a sync."""


class NotFoundError(APIError):
    """404: the completion (or its messages) does not exist (any more)."""


class UnsupportedError(APIError):
    """The server does not implement this operation (some routers lack update/delete)."""


# -- retry and rate-limit bookkeeping -----------------------------------------------------------


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait: why, which attempt, how long."""

    reason: str
    attempt: int
    delay: float
    rate_limited: bool


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
    """Seconds the server asks us to wait: ``retry-after-ms`` first, then ``retry-after``."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return min(max(float(value) / 1000.0, 0.0), policy.max_retry_after)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if parsed.tzinfo is None:
                return None
            seconds = parsed.timestamp() - time.time()
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
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.rate_limited = rate_limited
        self.final = final


# Whole or masked keys in a server's message ("Incorrect API key provided: sk-*abcd").
_KEYLIKE = re.compile(r"\b(?:sk|ak|key|pk|rk)-[A-Za-z0-9_\-*]{3,}|\S*\*{2,}\S*|\S+\*\S+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


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
    ) -> None:
        self.settings = settings
        self.base_url = check_base_url(settings.base_url, insecure=settings.insecure)
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.stats = ClientStats()
        self.limiter = AdaptiveLimiter(initial_concurrency or max(1, concurrency // 2), concurrency)
        self._answered = False  # has the server ever answered (with anything)?
        self._resume_at = 0.0  # monotonic time before which no request is sent (after a 429)
        self._params: dict[str, str] = {}
        if settings.flavor == "azure" and settings.api_version and not self.base_url.endswith("/v1"):
            self._params["api-version"] = settings.api_version
        # Several small connection pools instead of one big one: httpcore scans every connection
        # of a pool (a few syscalls each) for every request, so one pool of 20 costs ~2x the CPU
        # per request of five pools of 4. Each request goes to the least busy pool.
        self._pools = [
            httpx.AsyncClient(
                headers=self._headers(),
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
        headers = {"Accept": "application/json", "User-Agent": f"ccbrowser/{__version__}"}
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
        body, nbytes = await self._request("GET", "/chat/completions", params=params)
        page = self._page(body, limit, "/chat/completions")
        page.nbytes = nbytes
        return page

    async def retrieve(self, completion_id: str) -> dict[str, Any]:
        body, _ = await self._request("GET", f"/chat/completions/{quote(completion_id, safe='')}")
        if not isinstance(body, dict):
            raise APIError(f"unexpected answer to GET /chat/completions/{completion_id}: not a JSON object")
        return body

    async def messages(self, completion_id: str, *, limited: bool = True) -> list[Any] | None:
        """All input messages of a completion in order (paged); None when the server says 404.

        ``limited``: go through the adaptive concurrency limiter (what the sync's fan-out uses).
        """
        if self.settings.flavor == "llama-stack":
            try:
                obj = await self.retrieve(completion_id)
            except NotFoundError:
                return None
            inputs = obj.get("input_messages")
            return inputs if isinstance(inputs, list) else []
        path = f"/chat/completions/{quote(completion_id, safe='')}/messages"
        out: list[Any] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_LIMIT, "order": "asc"}
            if after:
                params["after"] = after
            try:
                body, _ = await self._request("GET", path, params=params, limited=limited)
            except NotFoundError:
                if after is None:
                    return None
                raise
            page = self._page(body, PAGE_LIMIT, path)
            out.extend(page.data)
            if not page.has_more or not page.data or page.last_id in (None, after):
                return out
            after = page.last_id

    async def update(self, completion_id: str, metadata: Mapping[str, str]) -> dict[str, Any]:
        path = f"/chat/completions/{quote(completion_id, safe='')}"
        body, _ = await self._unsupported_guard("update", "POST", path, {"metadata": dict(metadata)})
        return body if isinstance(body, dict) else {}

    async def delete(self, completion_id: str) -> dict[str, Any]:
        path = f"/chat/completions/{quote(completion_id, safe='')}"
        body, _ = await self._unsupported_guard("delete", "DELETE", path, None)
        return body if isinstance(body, dict) else {}

    async def _unsupported_guard(self, what: str, method: str, path: str, payload: Any) -> tuple[Any, int]:
        try:
            return await self._request(method, path, json_body=payload)
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
        last = data[-1] if data else None
        last_id = last.get("id") if isinstance(last, dict) else None
        if not isinstance(last_id, str):
            last_id = body.get("last_id") if isinstance(body.get("last_id"), str) else None
        total = body.get("total")
        return Page(data, has_more, last_id, total if isinstance(total, int) else None)

    async def _pause(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        limited: bool = False,
    ) -> tuple[Any, int]:
        """(decoded JSON, body size); retries what can be retried, raises the rest."""
        # A ready URL string: httpx's own params merging costs ~3x more CPU per request.
        query = {**self._params, **(params or {})}
        url = self.base_url + path + ("?" + urlencode(query) if query else "")
        attempt = 0
        while True:
            await self._pause()
            if limited:
                await self.limiter.acquire()
            try:
                self.stats.requests += 1
                try:
                    busy = self._busy
                    k = busy.index(min(busy))
                    busy[k] += 1
                    sent = time.monotonic()
                    try:
                        response = await self._pools[k].request(method, url, json=json_body)
                    finally:
                        busy[k] -= 1
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
                status = response.status_code
                self._answered = True
                if status < 300:
                    try:
                        body = json.loads(response.content)
                    except ValueError:
                        raise _Retry(f"incomplete or invalid JSON from {method} {path} ({status})") from None
                    if limited:
                        self.limiter.success(time.monotonic() - sent)
                    return body, len(response.content)
                if status in RETRY_STATUS and not _quota_exhausted(response):
                    wait = retry_after(response.headers, self.retry)
                    if status == 429:
                        self.stats.rate_limited += 1
                        self.limiter.throttled()
                    raise _Retry(f"HTTP {status}", wait, status == 429, self._error(response, method, path))
                raise self._error(response, method, path)
            except _Retry as retry:
                if attempt >= self.retry.max_retries:
                    if isinstance(retry.final, APIError):
                        raise retry.final from None
                    raise NetworkError(
                        f"{method} {self.base_url}{path} failed after {attempt + 1} attempts: {retry.reason}"
                    ) from None
                delay = retry.wait if retry.wait is not None else self.retry.backoff(attempt)
                if retry.rate_limited:
                    self._resume_at = max(self._resume_at, time.monotonic() + delay)
                attempt += 1
                self.stats.retries += 1
                self.stats.waited += delay
                if self.on_retry is not None:
                    self.on_retry(RetryNotice(retry.reason, attempt, delay, retry.rate_limited))
            finally:
                if limited:
                    self.limiter.release()
            await asyncio.sleep(delay)

    def _error(self, response: httpx.Response, method: str, path: str) -> APIError:
        """The error to raise for a response: a line that says what to do about it."""
        status = response.status_code
        code, message = _error_fields(response)
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
        if status == 404:
            return NotFoundError(
                f"not found: {method} {path}{': ' + message if message else ''}", status=status, code=code
            )
        if status == 429:
            return APIError(
                f"rate limited or out of quota (429{' ' + code if code else ''}): {message or 'check the plan and billing of the account'}",
                status=status,
                code=code,
            )
        detail = message or (response.reason_phrase or "")
        return APIError(
            f"{method} {path} failed with HTTP {status}{': ' + detail if detail else ''}",
            status=status,
            code=code,
        )

    def _redact(self, text: str) -> str:
        """A server's message, made safe to print: no key (whole or masked), no control chars, one line."""
        if not text:
            return ""
        key = self.settings.api_key.reveal() if self.settings.api_key is not None else None
        if key:
            text = text.replace(key, "***")
        text = _KEYLIKE.sub("***", text)
        text = _CONTROL.sub(" ", text).strip()
        return text[:300] + ("…" if len(text) > 300 else "")


def _quota_exhausted(response: httpx.Response) -> bool:
    """OpenAI answers 429 `insufficient_quota` when billing stops: no point retrying that."""
    if response.status_code != 429:
        return False
    code, _ = _error_fields(response)
    return code == "insufficient_quota"


def _error_fields(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None, ""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, str):
        return None, err
    if not isinstance(err, dict):
        detail = body.get("detail") if isinstance(body, dict) else None  # FastAPI-style servers
        return None, detail if isinstance(detail, str) else ""
    code = err.get("code")
    message = err.get("message")
    return (str(code) if code is not None else None), (message if isinstance(message, str) else "")


def _describe(exc: Exception) -> str:
    """A short reason without the request repr (which carries the URL only, but keep it short)."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name
