"""Reading one response body within bounds: a byte cap per body and a byte budget across bodies.

``response.content`` reads a whole body whatever its size, and httpx's gzip decoder inflates a
64 KiB chunk into as much as the server packed into it. Here the raw stream is read chunk by
chunk and inflated with a bounded ``max_length``, so a body stops at ``limit`` bytes *after*
decompression, and the bytes held by every body being read at once stay within one shared
:class:`ByteBudget` (the sync runs dozens of requests in flight).
"""

from __future__ import annotations

import asyncio
import itertools
import zlib
from collections.abc import AsyncIterator

__all__ = ["BodyTooLarge", "ByteBudget", "UnsupportedEncoding", "read_body"]

_INFLATE_STEP = 1 << 20  # at most this much inflated output per call


class BodyTooLarge(Exception):
    """The body passed its cap; reading stopped there."""


class UnsupportedEncoding(Exception):
    """A ``content-encoding`` that was not asked for and cannot be inflated within bounds."""


class ByteBudget:
    """Bytes that bodies being read may hold in total; a reader past it waits for others to finish.

    The oldest reader never waits (so there is no deadlock when every reader holds a part of the
    budget): the total stays under ``total`` plus one body's cap.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._tickets = itertools.count()
        self._active: dict[int, int] = {}  # ticket -> bytes held, in start order
        self._waiters: list[asyncio.Future[None]] = []

    def open(self) -> int:
        ticket = next(self._tickets)
        self._active[ticket] = 0
        return ticket

    async def take(self, ticket: int, n: int) -> None:
        while self.used + n > self.total and ticket != next(iter(self._active)):
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)
        self._active[ticket] += n
        self.used += n

    def close(self, ticket: int) -> None:
        self.used -= self._active.pop(ticket, 0)
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


class _Inflate:
    """gzip or zlib (``deflate``) inflation that never produces more than asked for per call."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected

    def feed(self, data: bytes, room: int) -> list[bytes]:
        out: list[bytes] = []
        while data:
            piece = self._z.decompress(data, max(1, min(room + 1, _INFLATE_STEP)))
            out.append(piece)
            room -= len(piece)
            if room < 0:
                return out
            if self._z.eof:
                data = self._z.unused_data  # a second gzip member
                self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)
            else:
                data = self._z.unconsumed_tail
        return out

    def finish(self) -> bytes:
        return self._z.flush()  # output still pending inside the decompressor (one match at most)


async def read_body(
    chunks: AsyncIterator[bytes], encoding: str, *, limit: int, budget: ByteBudget | None
) -> bytes:
    """The whole body (inflated), or BodyTooLarge once it passes ``limit`` bytes."""
    encoding = encoding.strip().lower()
    inflate: _Inflate | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflate = _Inflate()
    elif encoding not in ("", "identity"):
        raise UnsupportedEncoding(encoding)
    parts: list[bytes] = []
    size = 0
    ticket = budget.open() if budget is not None else 0
    try:
        async for raw in chunks:
            pieces = inflate.feed(raw, limit - size) if inflate is not None else [raw]
            for piece in pieces:
                size += len(piece)
                if size > limit:
                    raise BodyTooLarge()
                if budget is not None:
                    await budget.take(ticket, len(piece))
                parts.append(piece)
        if inflate is not None:
            tail = inflate.finish()
            size += len(tail)
            if size > limit:
                raise BodyTooLarge()
            parts.append(tail)
        return b"".join(parts)
    except zlib.error as exc:
        raise UnsupportedEncoding(f"{encoding} ({exc})") from None
    finally:
        parts.clear()
        if budget is not None:
            budget.close(ticket)
