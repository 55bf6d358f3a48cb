"""Bounds on what a server can make a sync spend: bytes, time, depth, pages.

A server is untrusted: it can send an endless body, drip a byte a second, ask for a 16-minute
``retry-after`` or nest JSON 100k deep. Every such cost is capped here, with defaults that a real
account never reaches, and each cap ends the request (or the walk) with one clear line instead of a
hang, a traceback or gigabytes of memory. Config and CLI options override them.

How the memory defaults were chosen (a child process reading from a hostile loopback server,
peak RSS, ``tests/test_client.py``): decoding costs up to ~25x a body's bytes when it is made of
tiny values (``[{},{},...]``: 64 bytes per empty dict), ~5x for ``[0,0,...]``, so a body is capped
in bytes *and* in values, and the bodies being read at once share one byte budget. Measured with
these defaults: a 300 MB body, an endless chunked body or 32 of them at once stop at 32 MiB
(76 / 69 / 149 MB); 31 MiB of ``{},`` is refused before decoding (105 MB); 32 requests in flight
each answered with a 31 MiB string (read, budgeted, decoded one after another) peak at 240 MB,
32 x 499k empty dicts at 107 MB: under 300 MB whatever the server sends. A real page of 100
completions is ~1 MiB and ~50k values (logprobs included): the caps sit ~30x above it.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_response_bytes: int = 32 * MiB  # one response body (after gzip), read streamed, cut here
    max_json_values: int = 1_000_000  # values in one body, and in one completion's /messages
    max_inflight_bytes: int = 64 * MiB  # body bytes held by all the requests in flight together
    request_deadline: float = 120.0  # one request, wall clock: connect + headers + the whole body
    max_retry_wait: float = 120.0  # one `retry-after` longer than this is cut to it
    max_total_wait: float = 900.0  # all rate-limit waits of one client (one sync); past it: stop
    max_json_depth: int = 128  # nesting of a decoded body (real objects stay under 20)
    max_pages: int = 1_000_000  # pages of one list walk (a cycle or an endless list ends here)
    max_message_pages: int = 10_000  # pages of one completion's /messages
    max_message_bytes: int = 64 * MiB  # body bytes of one completion's /messages, all pages
    heartbeat: float = 10.0  # a notice at least this often while waiting (answer or retry-after)
