"""The API client: flavours, retries, rate limits, errors, and the key that never shows.

Fault cases use a scripted HTTP server on a real socket (responses cut at an exact byte, 429s
with retry-after, 401/403 bodies); normal operations run against the emulator.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ccbrowser.api.client import (
    AdaptiveLimiter,
    APIError,
    AuthError,
    Client,
    MalformedResponse,
    NetworkError,
    NotFoundError,
    PaginationError,
    RateLimitedTooLong,
    RedirectError,
    ResponseTooLarge,
    RetryNotice,
    RetryPolicy,
    retry_after,
)
from ccbrowser.api.limits import Limits
from ccbrowser.config import Secret, Settings, check_base_url
from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.corpus import store_messages
from ccbrowser.emulator.server import run_in_thread
from ccbrowser.errors import UsageError

KEY = "sk-proj-CLIENTtest" + "a1b2c3d4e5f6" * 3
FAST = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.02)
PAGE = json.dumps(
    {"object": "list", "data": [{"id": "chatcmpl-1", "created": 1}], "has_more": False}
).encode()


def response(
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    cut: int | None = None,
    close: bool = False,
) -> bytes:
    """Raw HTTP/1.1 bytes. `cut`: send only the first `cut` body bytes (with the full content-length)."""
    lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close or cut is not None:
        lines.append("connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + (body if cut is None else body[:cut])


Handler = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Scripted:
    """A real HTTP server that answers each request with the next scripted response.

    A script entry is raw bytes, or a coroutine function given the writer (drips, endless bodies,
    silence); after one of those the connection is closed.
    """

    script: list[bytes | Handler]
    requests: list[str] = field(default_factory=list)
    port: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                text = head.decode("latin-1")
                length = next(
                    (
                        int(line.split(":")[1])
                        for line in text.split("\r\n")
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                if length:
                    await reader.readexactly(length)
                self.requests.append(text)
                raw = self.script.pop(0) if self.script else response(200, PAGE)
                if callable(raw):
                    await raw(writer)
                    break
                writer.write(raw)
                await writer.drain()
                if b"connection: close" in raw.split(b"\r\n\r\n")[0]:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the fixture ends a handler that never answers
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    s = Scripted([])
    srv = await asyncio.start_server(s.handle, "127.0.0.1", 0)
    s.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield s
        srv.close()
        for task in s.tasks:
            task.cancel()


def settings(url: str, **kw: object) -> Settings:
    base = {"base_url": url, "api_key": Secret(KEY), "api_key_env": "OPENAI_API_KEY"}
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


# -- pure parts ----------------------------------------------------------------------------------


def test_retry_after_headers() -> None:
    import httpx

    policy = RetryPolicy(max_retry_after=60)
    assert retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"}), policy) == 0.25
    assert retry_after(httpx.Headers({"retry-after": "3"}), policy) == 3.0
    assert retry_after(httpx.Headers({"retry-after": "100000"}), policy) == 60.0
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 5))
    assert 3.0 < (retry_after(httpx.Headers({"retry-after": date}), policy) or 0) <= 5.0
    assert retry_after(httpx.Headers({"retry-after": "soon"}), policy) is None
    assert retry_after(httpx.Headers({}), policy) is None
    delays = [RetryPolicy().backoff(n) for n in range(8)]
    assert 0.37 <= delays[0] <= 0.5 and max(delays) <= 8.0


async def test_limiter_halves_once_per_burst_and_grows_back_slowly() -> None:
    lim = AdaptiveLimiter(initial=16, maximum=16)
    for _ in range(10):  # a burst of 429s from the requests already in flight
        lim.throttled()
    assert lim.limit == 8
    for _ in range(8):
        lim.success()
    assert 8.9 < lim.limit < 9.1  # about +1 per window of `limit` successes


async def test_limiter_sizes_in_flight_from_latency_and_hands_over_slots() -> None:
    near = AdaptiveLimiter(initial=32, maximum=32)
    near.success(0.0008)  # a server next door: more than a few in flight only queues
    assert near.ceiling == 4 and near.limit == 4
    far = AdaptiveLimiter(initial=32, maximum=32)
    far.success(0.25)  # the real API: latency-bound, keep them all
    assert far.limit == 32
    for _ in range(4):
        await near.acquire()
    waiting = asyncio.ensure_future(near.acquire())
    await asyncio.sleep(0)
    assert not waiting.done() and near.in_flight == 4
    near.release()
    await asyncio.sleep(0)
    assert waiting.done() and near.in_flight == 4
    cancelled = asyncio.ensure_future(near.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    assert near.in_flight == 4 and not near._waiters


def test_secret_and_settings_never_show_the_key() -> None:
    s = settings("https://api.openai.com/v1")
    for text in (repr(s), str(s), f"{s}", f"{s.api_key}", str(s.api_key), repr(Client(s))):
        assert KEY not in text
    with pytest.raises(TypeError):
        pickle.dumps(s.api_key)
    assert s.api_key is not None and s.api_key.reveal() == KEY


def test_plain_http_only_to_loopback_unless_insecure() -> None:
    for url in (
        "http://127.0.0.1:8000/v1",
        "http://localhost/v1",
        "http://[::1]:1/v1",
        "https://api.openai.com/v1/",
    ):
        assert check_base_url(url) == url.rstrip("/")
    for url in ("http://api.example.com/v1", "http://10.0.0.5/v1", "ftp://x/v1", "https://user:pw@x.com/v1"):
        with pytest.raises(UsageError):
            check_base_url(url)
    assert check_base_url("http://10.0.0.5/v1", insecure=True)
    with pytest.raises(UsageError):
        Client(settings("http://api.example.com/v1"))


# -- against the emulator -----------------------------------------------------------------------


async def test_operations_against_the_emulator() -> None:
    with run_in_thread(EmulatorOptions(count=400, seed=8, now=1_767_225_600, api_key=KEY)) as emu:
        state = emu.state
        async with Client(settings(emu.base_url)) as client:
            first = await client.list_page(order="desc")
            ids = list(reversed(state.snapshot_ids()))
            assert [c["id"] for c in first.data] == ids[:100] and first.has_more
            second = await client.list_page(order="desc", after=first.last_id, limit=50)
            assert [c["id"] for c in second.data] == ids[100:150]
            model = first.data[0]["model"]
            by_model = await client.list_page(model=model)
            assert by_model.data and all(c["model"] == model for c in by_model.data)
            env = first.data[0]["metadata"].get("env")
            if env:
                tagged = await client.list_page(metadata={"env": env})
                assert all(c["metadata"]["env"] == env for c in tagged.data)
            assert await client.retrieve(ids[0]) == state.get(ids[0])[0]
            long_id = max(ids, key=lambda c: len(state.get(c)[1]))
            assert len(state.get(long_id)[1]) > 100
            assert await client.messages(long_id) == store_messages(long_id, state.get(long_id)[1])
            updated = await client.update(ids[1], {"reviewed": "yes"})
            assert updated["metadata"] == {"reviewed": "yes"} == state.get(ids[1])[0]["metadata"]
            assert (await client.delete(ids[2]))["deleted"] is True
            assert not state.exists(ids[2])
            assert await client.messages(ids[2]) is None  # 404 on messages: None, not an error
            with pytest.raises(NotFoundError):
                await client.delete(ids[2])
            assert client.stats.retries == 0


async def test_wrong_key_against_the_emulator_names_the_variable_not_the_key() -> None:
    wrong = "sk-proj-WRONG" + "0f1e2d3c4b5a" * 3
    with run_in_thread(EmulatorOptions(count=10, seed=8, api_key=KEY)) as emu:
        async with Client(
            settings(emu.base_url, api_key=Secret(wrong), profile="work", api_key_env="WORK_KEY")
        ) as client:
            with pytest.raises(AuthError) as info:
                await client.list_page()
    text = str(info.value)
    assert "WORK_KEY" in text and "work" in text and "401" in text
    assert wrong not in text and wrong[-4:] not in text and wrong[:12] not in text
    assert wrong not in repr(info.value) and wrong not in str(info.value.args)


# -- scripted faults -----------------------------------------------------------------------------


async def test_retries_429_with_retry_after_ms(server: Scripted) -> None:
    body = json.dumps(
        {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    ).encode()
    server.script += [response(429, body, {"retry-after-ms": "150", "retry-after": "1"})]
    notices: list[RetryNotice] = []
    async with Client(settings(server.url), retry=FAST, on_retry=notices.append) as client:
        t0 = time.monotonic()
        page = await client.list_page()
        elapsed = time.monotonic() - t0
    assert page.data[0]["id"] == "chatcmpl-1"
    assert elapsed >= 0.15 and len(server.requests) == 2
    assert notices == [RetryNotice("HTTP 429", 1, 0.15, True, max_attempts=4, remaining=0.15)]
    assert notices[0].line() == "rate limited: waiting 0.1 s (retry 1 of 4)"
    assert client.stats.rate_limited == 1 and client.limiter.limit < 16


async def test_body_cut_at_an_exact_byte_is_retried(server: Scripted) -> None:
    server.script += [
        response(200, PAGE[:37]),  # complete HTTP, JSON cut at byte 37 (a truncated body)
        response(200, PAGE, cut=41),  # content-length promises more than is sent: connection dropped
        response(503, b"<html>503</html>"),
        response(500, b'{"error": {"message": "boom", "type": "server_error"}}'),
    ]
    reasons: list[str] = []
    async with Client(
        settings(server.url),
        retry=RetryPolicy(max_retries=6, base_delay=0.01, max_delay=0.02),
        on_retry=lambda n: reasons.append(n.reason),
    ) as client:
        page = await client.list_page()
    assert page.data == json.loads(PAGE)["data"]
    assert len(server.requests) == 5
    assert "JSON" in reasons[0] and "Protocol" in reasons[1] and reasons[2:] == ["HTTP 503", "HTTP 500"]


async def test_gives_up_after_the_retries_with_one_line(server: Scripted) -> None:
    server.script += [response(502, b"<html>bad gateway</html>")] * 5
    async with Client(settings(server.url), retry=FAST) as client:
        with pytest.raises(APIError) as info:
            await client.list_page()
    assert "502" in str(info.value) and "\n" not in str(info.value)
    assert len(server.requests) == 5


async def test_not_retried_errors(server: Scripted) -> None:
    quota = json.dumps(
        {
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        }
    ).encode()
    bad = json.dumps({"error": {"message": "Invalid 'limit'", "type": "invalid_request_error"}}).encode()
    server.script += [response(429, quota), response(400, bad)]
    async with Client(settings(server.url), retry=FAST) as client:
        with pytest.raises(APIError, match="quota"):
            await client.list_page()
        with pytest.raises(APIError, match="Invalid 'limit'"):
            await client.list_page()
    assert len(server.requests) == 2


async def test_401_and_403_say_what_to_check_and_redact_the_key(server: Scripted) -> None:
    masked = f"Incorrect API key provided: {KEY[:8]}****{KEY[-4:]}. You can find your API key at ..."
    e401 = json.dumps(
        {"error": {"message": masked, "type": "invalid_request_error", "code": "invalid_api_key"}}
    ).encode()
    e403 = json.dumps(
        {"error": {"message": f"key {KEY} is not allowed in project proj_x", "type": "x"}}
    ).encode()
    server.script += [response(401, e401), response(403, e403)]
    s = settings(server.url, project="proj_x", organization="org-y", profile="team")
    async with Client(s, retry=FAST) as client:
        with pytest.raises(AuthError) as first:
            await client.list_page()
        with pytest.raises(AuthError) as second:
            await client.list_page()
    one, two = str(first.value), str(second.value)
    assert "OPENAI_API_KEY" in one and "team" in one and KEY[-4:] not in one
    assert "proj_x" in two and "org-y" in two and KEY not in two and KEY[:12] not in two


async def test_flavour_headers_and_azure_api_version(server: Scripted) -> None:
    async with Client(settings(server.url, organization="org-1", project="proj-2"), retry=FAST) as client:
        await client.list_page(order="desc", after="chatcmpl-9", metadata={"env": "prod"})
    req = server.requests[-1].lower()
    assert f"authorization: bearer {KEY.lower()}" in req
    assert "openai-organization: org-1" in req and "openai-project: proj-2" in req
    first_line = server.requests[-1].split("\r\n")[0]
    assert "order=desc" in first_line and "limit=100" in first_line and "after=chatcmpl-9" in first_line
    assert "metadata%5Benv%5D=prod" in first_line

    azure = settings(server.url.replace("/v1", "/openai"), flavor="azure", api_version="2025-02-01-preview")
    async with Client(azure, retry=FAST) as client:
        await client.list_page()
    req = server.requests[-1]
    assert f"api-key: {KEY}" in req and "authorization" not in req.lower()
    assert "api-version=2025-02-01-preview" in req.split("\r\n")[0]

    azure_v1 = settings(
        server.url.replace("/v1", "/openai/v1"), flavor="azure", api_version="2025-02-01-preview"
    )
    async with Client(azure_v1, retry=FAST) as client:
        await client.list_page()
    assert "api-version" not in server.requests[-1].split("\r\n")[0]

    async with Client(settings(server.url, flavor="llama-stack", api_key=None), retry=FAST) as client:
        await client.list_page()
    assert "authorization" not in server.requests[-1].lower()


async def test_unreachable_server_fails_fast_with_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with Client(settings(f"http://127.0.0.1:{port}/v1"), retry=RetryPolicy(base_delay=0.01)) as client:
        with pytest.raises(NetworkError, match="cannot connect"):
            await client.list_page()


# -- hostile servers: bounded bytes, time, depth, pages -------------------------------------------

SMALL = Limits(
    max_response_bytes=256 << 10,
    max_json_values=20_000,
    max_inflight_bytes=1 << 20,
    request_deadline=0.6,
    max_retry_wait=0.2,
    max_total_wait=0.7,
    max_message_pages=5,
    max_message_bytes=1 << 20,
    heartbeat=0.1,
)
ONE_RETRY = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02)


def head(status: int = 200, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "content-type: application/json", "connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def sized(status: int, total: int, unit: bytes = b"0,") -> Handler:
    """A body of `total` bytes of `[0,0,...]` (generated on the fly) with its content-length."""

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, content_length=str(total)) + b"[")
        sent, block = 1, unit * (65536 // len(unit))
        while sent < total:
            chunk = block[: total - sent]
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()

    return send


def endless(status: int = 200) -> Handler:
    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, transfer_encoding="chunked") + b"1\r\n[\r\n")
        chunk = b"0," * 32768
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()

    return send


def drip(interval: float) -> Handler:
    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, content_length=str(len(PAGE))))
        for byte in PAGE:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)

    return send


async def silent(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)  # accepts, reads the request, never answers (cancelled at teardown)


def page_of(items: list[Any], has_more: bool) -> bytes:
    return json.dumps({"object": "list", "data": items, "has_more": has_more}).encode()


async def test_a_huge_body_stops_at_the_cap_with_one_line(server: Scripted) -> None:
    server.script += [sized(200, 300 << 20)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(ResponseTooLarge) as info:
            await client.list_page()
    assert str(info.value) == (
        "GET /chat/completions: response larger than 256 KiB, stopped reading (limits.max_response_bytes)"
    )
    assert len(server.requests) == 1  # not retried: the same request gets the same answer


async def test_an_endless_chunked_body_stops_at_the_cap(server: Scripted) -> None:
    server.script += [endless()]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(ResponseTooLarge, match="larger than 256 KiB"):
            await client.list_page()


async def test_gzip_is_inflated_within_the_cap(server: Scripted) -> None:
    bomb = gzip.compress(b"[" + b"0," * (50 << 20) + b"0]")  # 100 MB of JSON in ~100 KB
    ok = gzip.compress(PAGE)
    server.script += [
        response(200, ok, {"content-encoding": "gzip"}),
        response(200, bomb, {"content-encoding": "gzip"}),
        response(200, b"not gzip at all", {"content-encoding": "gzip"}),
        response(200, b"x", {"content-encoding": "br"}),
    ]
    async with Client(settings(server.url), retry=ONE_RETRY, limits=SMALL) as client:
        assert (await client.list_page()).data == json.loads(PAGE)["data"]
        with pytest.raises(ResponseTooLarge, match="larger than 256 KiB"):
            await client.list_page()
        with pytest.raises(MalformedResponse, match="content-encoding"):
            await client.list_page()
    assert "accept-encoding: gzip\r\n" in server.requests[0].lower()


async def test_too_many_tiny_values_are_refused_before_decoding(server: Scripted) -> None:
    body = b"[" + b"{}," * 30_000 + b"{}]"  # 90 KB, under the byte cap, over the value cap
    server.script += [response(200, body)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(ResponseTooLarge, match=r"more than 20,000 JSON values.*max_json_values"):
            await client.list_page()


async def test_a_drip_is_cut_at_the_deadline_and_retried_a_bounded_number_of_times(server: Scripted) -> None:
    server.script += [drip(0.05), drip(0.05)]
    async with Client(settings(server.url), retry=ONE_RETRY, limits=SMALL) as client:
        t0 = time.monotonic()
        with pytest.raises(NetworkError) as info:
            await client.list_page()
        elapsed = time.monotonic() - t0
    assert "failed after 2 attempts: no complete answer within 0.6 s (limits.request_deadline)" in str(
        info.value
    )
    assert len(server.requests) == 2 and elapsed < 2 * 0.6 + 1.0


async def test_a_silent_server_is_bounded_and_heard_about_every_heartbeat(server: Scripted) -> None:
    server.script += [silent, silent]
    notices: list[tuple[float, RetryNotice]] = []
    async with Client(
        settings(server.url),
        retry=ONE_RETRY,
        limits=SMALL,
        on_retry=lambda n: notices.append((time.monotonic() - t0, n)),
    ) as client:
        t0 = time.monotonic()
        with pytest.raises(NetworkError, match="limits.request_deadline"):
            await client.list_page()
        elapsed = time.monotonic() - t0
    assert elapsed < 2 * 0.6 + 1.0
    beats = [n for _, n in notices if n.waiting_for_answer]
    assert len(beats) >= 6 and all(n.heartbeat for n in beats)
    assert beats[0].line().startswith("waiting for an answer: GET /chat/completions, ")
    assert "attempt 1 of 2" in beats[0].line() and "attempt 2 of 2" in beats[-1].line()
    times = [0.0] + [t for t, _ in notices] + [elapsed]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < 0.1 * 3  # never long silence


async def test_retry_after_is_clamped_and_the_total_wait_bounded(server: Scripted) -> None:
    slow = response(429, b'{"error": {"message": "slow down"}}', {"retry-after": "1000"})
    server.script += [slow] + [slow] * 10
    notices: list[RetryNotice] = []
    async with Client(
        settings(server.url), retry=RetryPolicy(max_retries=8), limits=SMALL, on_retry=notices.append
    ) as client:
        t0 = time.monotonic()
        with pytest.raises(RateLimitedTooLong) as info:
            await client.list_page()
        elapsed = time.monotonic() - t0
    assert str(info.value) == "rate limited for more than 0.7 s in total: try again later"
    assert 0.6 <= elapsed < 0.7 + 1.0
    first = notices[0]
    assert first.delay == 0.2 and first.rate_limited and first.max_attempts == 8
    assert first.line() == "rate limited: waiting 0.2 s (retry 1 of 8)"
    assert len(server.requests) == 4  # 3 waits of 0.2 s fit in 0.7 s; the 4th would not


async def test_a_long_rate_limit_wait_is_told_every_heartbeat_with_the_time_left(server: Scripted) -> None:
    server.script += [response(429, b"{}", {"retry-after": "1000"})]
    notices: list[RetryNotice] = []
    limits = Limits(max_retry_wait=0.65, heartbeat=0.1)
    async with Client(settings(server.url), retry=FAST, limits=limits, on_retry=notices.append) as client:
        assert (await client.list_page()).data
    beats = [n for n in notices if n.heartbeat]
    assert notices[0].delay == 0.65 and len(beats) >= 3
    assert all(n.rate_limited and not n.waiting_for_answer for n in beats)
    remaining = [n.remaining for n in beats]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] < 0.65
    assert beats[0].line().startswith("rate limited: waiting 0.") and beats[0].line().endswith(
        "(retry 1 of 4)"
    )


async def test_huge_and_deep_error_bodies_cost_nothing(server: Scripted) -> None:
    deep = b'{"error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    server.script += [sized(500, 300 << 20), response(503, deep), response(400, deep)]
    async with Client(settings(server.url), retry=ONE_RETRY, limits=SMALL) as client:
        with pytest.raises(APIError) as info:
            await client.list_page()
        with pytest.raises(APIError) as second:
            await client.list_page()
    assert str(info.value) == "GET /chat/completions failed with HTTP 503: X"
    assert str(second.value) == "GET /chat/completions failed with HTTP 400: X"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"object": "list", "data": [{"id": "caf\xe9"}], "has_more": false}', "invalid UTF-8 at byte 39"),
        (b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON nested deeper than 128 levels"),
        (b"{200 but not JSON}", "invalid JSON at byte 1: Expecting property name enclosed in double quotes"),
    ],
)
async def test_a_body_that_is_not_json_is_retried_twice_then_one_line(
    server: Scripted, body: bytes, reason: str
) -> None:
    server.script += [response(200, body)] * 3
    async with Client(settings(server.url), retry=RetryPolicy(max_retries=8, base_delay=0.01)) as client:
        with pytest.raises(MalformedResponse) as info:
            await client.list_page()
    assert str(info.value) == f"GET /chat/completions: unusable response (200): {reason}"
    assert len(server.requests) == 3


@pytest.mark.parametrize("body", [b"<html>200 but HTML</html>", b"\xef\xbb\xbf\n  <!DOCTYPE html><p>portal"])
async def test_an_html_page_with_200_says_so_at_once(server: Scripted, body: bytes) -> None:
    """A captive portal or a web server's page: not a truncated answer, so not retried."""
    server.script += [response(200, body)] * 3
    async with Client(settings(server.url), retry=RetryPolicy(max_retries=8, base_delay=0.01)) as client:
        with pytest.raises(MalformedResponse) as info:
            await client.list_page()
    assert str(info.value) == (
        f"GET /chat/completions: the server answered HTML, not JSON (is the base URL right? {server.url})"
    )
    assert len(server.requests) == 1


async def test_invalid_utf8_in_one_completions_messages_does_not_fail_the_others(server: Scripted) -> None:
    bad = b'{"object": "list", "data": [{"id": "a-1", "content": "\xff"}], "has_more": false}'
    good = page_of([{"id": "b-1", "role": "user", "content": "hi"}], False)
    server.script += [response(200, bad), response(200, good), response(200, bad), response(200, bad)]
    async with Client(settings(server.url), retry=RetryPolicy(max_retries=8, base_delay=0.01)) as client:
        results = await asyncio.gather(client.messages("a"), client.messages("b"), return_exceptions=True)
    assert isinstance(results[0], MalformedResponse) and "invalid UTF-8" in str(results[0])
    assert results[1] == [{"id": "b-1", "role": "user", "content": "hi"}]


async def test_non_finite_numbers_arrive_as_their_literal_text(server: Scripted) -> None:
    body = (
        b'{"object":"list","data":[{"id":"c","created":1,"temperature":NaN,"top_p":1e999}],"has_more":false}'
    )
    server.script += [response(200, body)]
    async with Client(settings(server.url), retry=FAST) as client:
        page = await client.list_page()
    assert page.data == [{"id": "c", "created": 1, "temperature": "NaN", "top_p": "1e999"}]


async def test_messages_pages_that_cycle_end_the_walk(server: Scripted) -> None:
    a = page_of([{"id": "c-1"}, {"id": "c-2"}], True)
    b = page_of([{"id": "c-3"}], True)
    server.script += [response(200, a), response(200, b), response(200, a)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(PaginationError) as info:
            await client.messages("c")
    assert str(info.value) == "GET /chat/completions/c/messages: message 'c-1' came twice, the pages cycle"
    assert "after=c-3" in server.requests[-1].split("\r\n")[0]


async def test_a_cursor_seen_before_ends_the_walk(server: Scripted) -> None:
    # Items without ids, the cursor comes from `last_id`: the same cursor twice is a cycle.
    one = json.dumps({"data": [{"role": "user"}], "has_more": True, "last_id": "k"}).encode()
    server.script += [response(200, one), response(200, one)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(PaginationError, match="cursor 'k' came twice"):
            await client.messages("c")


async def test_endless_new_message_ids_end_at_the_page_cap(server: Scripted) -> None:
    server.script += [response(200, page_of([{"id": f"c-{i}"}], True)) for i in range(20)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(PaginationError) as info:
            await client.messages("c")
    assert (
        str(info.value)
        == "GET /chat/completions/c/messages: more than 5 pages, stopped (limits.max_message_pages)"
    )
    assert len(server.requests) == 5


async def test_endless_big_message_pages_end_at_the_byte_cap(server: Scripted) -> None:
    filler = "x" * (250 << 10)
    server.script += [response(200, page_of([{"id": f"c-{i}", "content": filler}], True)) for i in range(5)]
    async with Client(settings(server.url), retry=FAST, limits=SMALL) as client:
        with pytest.raises(
            PaginationError, match=r"larger than 1 MiB in total, stopped \(limits.max_message_bytes\)"
        ):
            await client.messages("c")
    assert len(server.requests) == 5


@pytest.mark.parametrize(
    ("cid", "raw"),
    [
        (".", "/v1/chat/completions/%2E"),
        ("..", "/v1/chat/completions/%2E%2E"),
        ("../../files", "/v1/chat/completions/%2E%2E%2F%2E%2E%2Ffiles"),
        ("a?b#c d", "/v1/chat/completions/a%3Fb%23c%20d"),
        ("chatcmpl-1.2", "/v1/chat/completions/chatcmpl-1%2E2"),
    ],
)
async def test_ids_are_single_path_segments_on_the_wire(server: Scripted, cid: str, raw: str) -> None:
    server.script += [response(200, b'{"id": "x"}'), response(200, page_of([], False))]
    async with Client(settings(server.url), retry=FAST) as client:
        await client.retrieve(cid)
        await client.messages(cid)
    assert server.requests[0].split(" ")[1] == raw
    assert server.requests[1].split(" ")[1].split("?")[0] == raw + "/messages"


async def test_an_empty_id_is_refused_not_sent_to_the_list_endpoint(server: Scripted) -> None:
    async with Client(settings(server.url), retry=FAST) as client:
        with pytest.raises(APIError, match="empty completion id"):
            await client.retrieve("")
    assert server.requests == []


async def test_a_redirect_to_another_host_is_not_followed_and_never_gets_the_key(server: Scripted) -> None:
    other = Scripted([])
    srv = await asyncio.start_server(other.handle, "127.0.0.1", 0)
    other_url = f"http://localhost:{srv.sockets[0].getsockname()[1]}/v1/chat/completions"
    async with srv:
        server.script += [
            response(302, b"", {"location": other_url}),
            response(307, b"", {"location": other_url}),
        ]
        async with Client(settings(server.url), retry=FAST) as client:
            with pytest.raises(RedirectError) as info:
                await client.list_page()
            with pytest.raises(RedirectError):
                await client.delete("chatcmpl-1")
        srv.close()
    assert (
        str(info.value)
        == f"GET /chat/completions: server answered 302 (redirect to {other_url}): not followed"
    )
    assert other.requests == [] and len(server.requests) == 2


def test_the_key_never_goes_over_plain_http_to_another_host_even_with_hand_made_settings() -> None:
    with pytest.raises(UsageError, match="refusing to send the API key over plain http to 10.0.0.5"):
        Client(settings("http://10.0.0.5/v1", insecure="false"))  # a string, not True
    Client(settings("http://10.0.0.5/v1", insecure=True))  # the user said so
    Client(settings("http://10.0.0.5/v1", insecure="yes", api_key=None))  # no key, nothing to leak
    Client(settings("http://127.0.0.1:9/v1"))


async def test_llama_stack_400_not_found_means_missing(server: Scripted) -> None:
    missing = b'{"error": {"message": "Chat completion with id \'c-9\' not found"}}'
    server.script += [
        response(400, missing),
        response(400, missing),
        response(400, b'{"error": {"message": "bad"}}'),
    ]
    async with Client(settings(server.url, flavor="llama-stack"), retry=FAST) as client:
        with pytest.raises(NotFoundError, match="not found: GET /chat/completions/c-9"):
            await client.retrieve("c-9")
        assert await client.messages("c-9") is None
        with pytest.raises(APIError) as info:
            await client.retrieve("c-9")
    assert not isinstance(info.value, NotFoundError)


# -- peak memory of a child process reading from a hostile server --------------------------------

CHILD = """
import asyncio, json, sys
from ccbrowser.api.client import Client
from ccbrowser.api.limits import Limits
from ccbrowser.config import Secret, Settings
from ccbrowser.errors import CCBrowserError

async def main(url, n):
    s = Settings(base_url=url, api_key=Secret("sk-test-child"))
    async with Client(s, concurrency=n) as client:
        async def one(i):
            try:
                await client.messages(f"c{i}")
                return "ok"
            except CCBrowserError as exc:
                return type(exc).__name__ + ": " + str(exc)
        lines = await asyncio.gather(*(one(i) for i in range(n)))
    # VmHWM, not ru_maxrss: getrusage keeps the forking parent's peak across exec.
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"lines": lines, "rss_mb": int(hwm.split()[1]) / 1024}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def child_peak(url: str, n: int) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        url,
        str(n),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out)
    return result


def tiny_values(total: int) -> Handler:
    """`total` bytes of `[{},{},...]`: the most Python objects per byte (64 bytes per `{},`)."""
    return sized(200, total, b"{},")


def streamed_page(prefix: bytes, fill: bytes, count: int, suffix: bytes) -> Handler:
    """A valid 200 page `prefix + fill * count + suffix`, generated while it is sent."""

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, content_length=str(len(prefix) + len(fill) * count + len(suffix))) + prefix)
        per = max(1, 65536 // len(fill))
        for start in range(0, count, per):
            writer.write(fill * min(per, count - start))
            await writer.drain()
        writer.write(suffix)
        await writer.drain()

    return send


def big_string_page() -> Handler:
    # One message of 31 MiB: under the byte cap, so it is read, budgeted and decoded.
    return streamed_page(b'{"has_more": false, "data": [{"id": "m-1", "content": "', b"x", 31 << 20, b'"}]}')


def many_dicts_page() -> Handler:
    # 499,000 empty objects: just under the value cap, the worst decoded size per byte.
    return streamed_page(b'{"has_more": false, "data": [', b"{},", 499_000, b"{}]}")


@pytest.mark.parametrize(
    ("name", "handler", "n", "expect"),
    [
        ("huge", lambda: sized(200, 300 << 20), 1, "response larger than 32 MiB"),
        ("endless", endless, 1, "response larger than 32 MiB"),
        ("deep", lambda: response(200, b"[" * 100_000 + b"]" * 100_000), 1, "nested deeper than 128"),
        ("tiny values", lambda: tiny_values(31 << 20), 1, "more than 1,000,000 JSON values"),
        ("32 x huge", lambda: sized(200, 300 << 20), 32, "response larger than 32 MiB"),
        ("32 x 31 MiB strings", big_string_page, 32, "ok"),
        ("32 x 499k dicts", many_dicts_page, 32, "ok"),
    ],
)
async def test_peak_memory_of_a_child_stays_bounded(
    server: Scripted, name: str, handler: Callable[[], Any], n: int, expect: str
) -> None:
    server.script += [handler() for _ in range(n * 3)]  # each request retried up to twice
    result = await child_peak(server.url, n)
    print(f"peak RSS {name}: {result['rss_mb']:.0f} MB")
    assert result["rss_mb"] < 300, f"{name}: {result['rss_mb']:.0f} MB"
    assert all(expect in line and "\n" not in line for line in result["lines"]), result["lines"][:3]


async def test_a_long_error_message_is_cut_not_scanned_quadratically(server: Scripted) -> None:
    # One 60 KB word: the old masking regex (`\S*\*{2,}\S*`) took minutes on it.
    word = "a" * 60_000
    masked = "x" * 500 + " sk-live-" + "b" * 40 + " " + "c" * 10 + "**" + "d" * 10
    server.script += [
        response(400, json.dumps({"error": {"message": word}}).encode()),
        response(400, json.dumps({"error": {"message": masked}}).encode()),
    ]
    async with Client(settings(server.url), retry=FAST) as client:
        with pytest.raises(APIError) as first:
            await client.list_page()
        with pytest.raises(APIError) as second:
            await client.list_page()
    assert str(first.value) == f"GET /chat/completions failed with HTTP 400: {'a' * 300}…"
    assert "sk-live" not in str(second.value) and "**" not in str(second.value)


def test_literal_dots_would_be_resolved_by_url_handling() -> None:
    # Why ids are encoded with %2E: httpx resolves `..` and `.` segments into another endpoint.
    import httpx

    assert httpx.URL("http://h/v1/chat/completions/../messages").raw_path == b"/v1/chat/messages"
    assert httpx.URL("http://h/v1/chat/completions/%2E%2E/messages").raw_path.endswith(b"/%2E%2E/messages")
