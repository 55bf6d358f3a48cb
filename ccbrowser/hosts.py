"""Whether a host is this machine: the one rule for where plain http (and a key) may go."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """`localhost`, `*.localhost` or a loopback address (127.0.0.0/8, ::1); anything else is another host."""
    host = (host or "").lower().strip("[]")
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)
