"""Seeded fault injection for the emulator: latency, 5xx, 429, rate limits, resets, truncated bodies.

Faults are decided per request *around* the handler, never inside it: an error or a 429 is sent
before the handler runs (so nothing changes), and resets/truncations only hit GET responses (so a
retried update, delete or create never sees a half-applied change). The state is therefore never
corrupted and a retried request gets the correct answer.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

# Uvicorn logs this when a response is deliberately left incomplete (our "reset" fault).
RESET_LOG_MESSAGE = "ASGI callable returned without completing response."


@dataclass
class FaultOptions:
    """What can go wrong, and how often. Rates are probabilities per request (0..1)."""

    latency_ms: float = 0.0  # added to every API request
    jitter_ms: float = 0.0  # uniform 0..jitter added on top
    spike_rate: float = 0.0  # probability of a latency spike
    spike_ms: float = 1000.0  # size of a spike
    error_rate: float = 0.0  # 500 / 502 / 503
    error_retry_after_ms: float | None = None  # also send retry-after(-ms) on 5xx (speeds up SDK retries)
    rate_limit_rate: float = 0.0  # random 429s
    rate_limit_rps: float | None = None  # a real token bucket: more than this per second -> 429
    retry_after_ms: float = 200.0  # advertised wait on random 429s
    reset_rate: float = 0.0  # GET only: connection dropped mid-body
    truncate_rate: float = 0.0  # GET only: 200 with a cut JSON body (consistent content-length)
    seed: int = 0

    def active(self) -> bool:
        return any(
            (
                self.latency_ms,
                self.jitter_ms,
                self.spike_rate,
                self.error_rate,
                self.rate_limit_rate,
                self.rate_limit_rps,
                self.reset_rate,
                self.truncate_rate,
            )
        )

    def validate(self) -> None:
        for name in ("spike_rate", "error_rate", "rate_limit_rate", "reset_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1, got {value}")
        for name in ("latency_ms", "jitter_ms", "spike_ms", "retry_after_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', '-')} must be >= 0")
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise ValueError("rate-limit-rps must be > 0")


@dataclass
class CannedResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    fault: str


def _error_body(message: str, type_: str, code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}}).encode()


class FaultInjector:
    """Decides, per request, which fault (if any) to inject. Thread-safe; seeded."""

    def __init__(self, options: FaultOptions):
        options.validate()
        self.options = options
        self._rng = random.Random(options.seed)
        self._lock = threading.Lock()
        self._tokens = float(options.rate_limit_rps or 0.0)
        self._last = time.monotonic()

    def _random(self) -> float:
        with self._lock:
            return self._rng.random()

    async def delay(self) -> None:
        o = self.options
        ms = o.latency_ms
        if o.jitter_ms or o.spike_rate:
            with self._lock:
                ms += self._rng.uniform(0, o.jitter_ms) if o.jitter_ms else 0.0
                if o.spike_rate and self._rng.random() < o.spike_rate:
                    ms += o.spike_ms
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)

    def _bucket_wait(self) -> float:
        """Token bucket (burst = one second of traffic): seconds to wait, 0 when a token is free."""
        rps = self.options.rate_limit_rps
        if not rps:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(rps, self._tokens + (now - self._last) * rps)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / rps

    def before(self) -> CannedResponse | None:
        """An error or 429 to send instead of running the handler, or None."""
        o = self.options
        wait = self._bucket_wait()
        if wait > 0:
            return self._rate_limited(wait * 1000.0, "rate_limit")
        if o.rate_limit_rate and self._random() < o.rate_limit_rate:
            return self._rate_limited(o.retry_after_ms, "rate_limit_random")
        if o.error_rate and self._random() < o.error_rate:
            return self._server_error()
        return None

    def _rate_limited(self, wait_ms: float, fault: str) -> CannedResponse:
        wait_ms = max(1.0, wait_ms)
        message = (
            "Rate limit reached for requests in organization org-emulator on requests per min (RPM): "
            f"Limit 500, Used 500, Requested 1. Please try again in {int(wait_ms)}ms. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(max(1, math.ceil(wait_ms / 1000.0))).encode()),
            (b"retry-after-ms", str(int(math.ceil(wait_ms))).encode()),
            (b"x-ratelimit-limit-requests", b"500"),
            (b"x-ratelimit-remaining-requests", b"0"),
            (b"x-ratelimit-reset-requests", f"{int(wait_ms)}ms".encode()),
        ]
        return CannedResponse(429, headers, _error_body(message, "requests", "rate_limit_exceeded"), fault)

    def _server_error(self) -> CannedResponse:
        with self._lock:
            status = self._rng.choice((500, 502, 503))
        headers: list[tuple[bytes, bytes]] = []
        if self.options.error_retry_after_ms is not None:
            ms = max(1.0, self.options.error_retry_after_ms)
            headers += [
                (b"retry-after-ms", str(int(ms)).encode()),
                (b"retry-after", str(max(1, math.ceil(ms / 1000.0))).encode()),
            ]
        if status == 502:  # what a proxy in front of the API sends: HTML, not JSON
            body = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
            return CannedResponse(502, [(b"content-type", b"text/html"), *headers], body, "error_502")
        if status == 503:
            body = _error_body("The engine is currently overloaded, please try again later", "server_error")
        else:
            body = _error_body(
                "The server had an error while processing your request. Sorry about that!", "server_error"
            )
        return CannedResponse(
            status, [(b"content-type", b"application/json"), *headers], body, f"error_{status}"
        )

    def body_fault(self, method: str) -> str | None:
        """'reset' or 'truncate' for this response (GET only), or None."""
        o = self.options
        if method != "GET" or not (o.reset_rate or o.truncate_rate):
            return None
        r = self._random()
        if r < o.reset_rate:
            return "reset"
        if r < o.reset_rate + o.truncate_rate:
            return "truncate"
        return None

    def wrap_send(self, send: Send, mode: str) -> Send:
        """A ``send`` that cuts the body: 'truncate' keeps HTTP valid, 'reset' leaves it incomplete."""
        with self._lock:
            fraction = self._rng.uniform(0.2, 0.8)
        start: list[Message] = []

        async def faulty_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
                return
            if message["type"] != "http.response.body" or not start:
                await send(message)
                return
            body = bytes(message.get("body", b""))
            cut = max(1, int(len(body) * fraction)) if len(body) > 1 else 0
            head = start.pop()
            if mode == "truncate":
                headers = [(k, v) for k, v in head.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(cut).encode()))
                await send({**head, "headers": headers})
                await send({"type": "http.response.body", "body": body[:cut], "more_body": False})
            else:  # reset: promise the whole body, send part of it, then return (the server closes)
                await send(head)
                await send({"type": "http.response.body", "body": body[:cut], "more_body": True})

        return faulty_send
