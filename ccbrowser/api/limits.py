"""Bounds on what a server can make a sync spend: bytes, time, depth, pages.

A server is untrusted: it can send an endless body, drip a byte a second, ask for a 16-minute
``retry-after`` or nest JSON 100k deep. Every such cost is capped here, with defaults that a real
account never reaches, and each cap ends the request (or the walk) with one clear line instead of a
hang, a traceback or gigabytes of memory. Config and CLI options override them.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_response_bytes: int = 32 * MiB  # one response body, read streamed and cut at this size
    request_deadline: float = 120.0  # one request, wall clock: connect + headers + the whole body
    max_retry_wait: float = 120.0  # one `retry-after` longer than this is cut to it
    max_total_wait: float = 900.0  # all rate-limit waits of one sync; past it the sync stops
    max_json_depth: int = 128  # nesting of a decoded body (real objects stay under 20)
    max_pages: int = 1_000_000  # pages of one list walk (a cycle or an endless list ends here)
    max_message_pages: int = 10_000  # pages of one completion's /messages
    heartbeat: float = 10.0  # a progress line at least this often while waiting
