"""A scriptable hostile HTTP server over real loopback sockets, for the hostile-server tests.

A raw asyncio server (no framework between the script and the bytes) in a background thread. Each
request goes to ``behaviour``, a coroutine that may answer it any way it likes (drip a byte a
second, never answer, stream forever, send HTML, redirect, ...) or return False to pass it through
to an upstream emulator, whose answer it can also fetch, edit and send (reorder a page, duplicate
ids, poison one item). ``fixed = True`` turns the script off: the server then behaves like its
upstream, which is what "after the server is fixed" means in the tests.

List pages are capped at ``page_cap`` items (servers may answer fewer than asked), so a small
corpus still gives a walk of several pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    @property
    def kind(self) -> str:
        """list, retrieve, messages or other (as the emulator counts them)."""
        parts = [p for p in self.path.split("/") if p]
        if "completions" not in parts:
            return "other"
        rest = parts[parts.index("completions") + 1 :]
        if not rest:
            return "list"
        if len(rest) == 2 and rest[1] == "messages":
            return "messages"
        return "retrieve" if len(rest) == 1 else "other"


class Conn:
    """The client's connection: write raw bytes, or whole responses."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.keep_alive = False  # relayed answers keep the connection; scripted ones close it

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def head(
        self, status: int, headers: dict[str, str] | None = None, length: int | None = None
    ) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        if not self.keep_alive:
            lines.append("Connection: close")
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if length is not None:
            hdrs["Content-Length"] = str(length)
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        await self.head(status, headers, len(body))
        await self.write(body)

    async def send_json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        await self.send(status, json.dumps(obj).encode(), headers)


Behaviour = Callable[[Request, Conn, "HostileServer"], Awaitable[bool]]


@dataclass
class HostileServer:
    upstream: str | None = None  # root URL of an emulator (scheme://host:port)
    behaviour: Behaviour | None = None
    page_cap: int | None = 10
    host: str = "127.0.0.1"
    fixed: bool = False
    seen: list[Request] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # scripts keep their counters here
    port: int = 0
    _client: httpx.AsyncClient | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def count(self, kind: str) -> int:
        return sum(1 for r in self.seen if r.kind == kind)

    # -- upstream --------------------------------------------------------------------------------

    async def fetch(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        """The upstream's answer to ``req`` (list pages capped at ``page_cap``)."""
        assert self.upstream is not None, "no upstream to pass through to"
        split = urlsplit(req.target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if req.kind == "list" and self.page_cap is not None:
            query["limit"] = str(min(int(query.get("limit") or 20), self.page_cap))
        url = self.upstream + split.path + ("?" + urlencode(query) if query else "")
        headers = {k: v for k, v in req.headers.items() if k in ("authorization", "api-key", "content-type")}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        r = await self._client.request(req.method, url, headers=headers, content=req.body or None)
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "retry-after")}
        return r.status_code, keep, r.content

    async def fetch_json(self, req: Request) -> tuple[int, Any]:
        status, _, body = await self.fetch(req)
        return status, json.loads(body)

    async def relay(self, req: Request, conn: Conn) -> None:
        status, headers, body = await self.fetch(req)
        conn.keep_alive = True
        await conn.send(status, body, headers)

    # -- serving ---------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client gave up on us: that is what a deadline looks like from here
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; True when the connection stays open for the next."""
        conn = Conn(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        line, *rest = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ", 2)
        headers = {}
        for h in rest:
            if ":" in h:
                k, v = h.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = b""
        if int(headers.get("content-length") or 0):
            body = await reader.readexactly(int(headers["content-length"]))
        req = Request(method, target, headers, body)
        self.seen.append(req)
        handled = False
        if self.behaviour is not None and not self.fixed:
            handled = await self.behaviour(req, conn, self)
        if not handled:
            await self.relay(req, conn)
        return conn.keep_alive

    @contextlib.contextmanager
    def running(self) -> Iterator[HostileServer]:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        async def main() -> None:
            server = await asyncio.start_server(self._handle, self.host, self.port)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            try:
                async with server:
                    await server.serve_forever()
            finally:
                if self._client is not None:
                    await self._client.aclose()

        def target() -> None:
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main())
            finally:
                loop.close()

        thread = threading.Thread(target=target, name="hostile-server", daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("hostile server did not start")
        try:
            yield self
        finally:

            def stop() -> None:
                for task in asyncio.all_tasks(loop):
                    task.cancel()

            loop.call_soon_threadsafe(stop)
            thread.join(5)
