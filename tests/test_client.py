"""The API client: flavours, retries, rate limits, errors, and the key that never shows.

Fault cases use a scripted HTTP server on a real socket (responses cut at an exact byte, 429s
with retry-after, 401/403 bodies); normal operations run against the emulator.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ccbrowser.api.client import (
    AdaptiveLimiter,
    APIError,
    AuthError,
    Client,
    NetworkError,
    NotFoundError,
    RetryNotice,
    RetryPolicy,
    retry_after,
)
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


@dataclass
class Scripted:
    """A real HTTP server that answers each request with the next scripted response."""

    script: list[bytes]
    requests: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                writer.write(raw)
                await writer.drain()
                if b"connection: close" in raw.split(b"\r\n\r\n")[0]:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
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
    assert notices == [RetryNotice("HTTP 429", 1, 0.15, True)]
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
