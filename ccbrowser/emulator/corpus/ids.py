"""Hashing and ids: a keyed, reversible permutation of the index, so an id decodes without a table."""

from __future__ import annotations

import random

# --------------------------------------------------------------------------------------------
# Hashing and ids

_M64 = (1 << 64) - 1
_M32 = 0xFFFFFFFF
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_INDEX = {c: n for n, c in enumerate(_B62)}
ID_PREFIX = "chatcmpl-"
ID_BODY_LEN = 29


def mix64(x: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _feistel(x: int, key: int) -> int:
    """A keyed permutation of 64-bit integers (4 Feistel rounds): reversible, looks random."""
    hi, lo = x >> 32, x & _M32
    for rnd in range(4):
        hi, lo = lo, hi ^ (mix64(lo ^ key ^ (rnd << 40)) & _M32)
    return (hi << 32) | lo


def _unfeistel(y: int, key: int) -> int:
    hi, lo = y >> 32, y & _M32
    for rnd in (3, 2, 1, 0):
        hi, lo = lo ^ (mix64(hi ^ key ^ (rnd << 40)) & _M32), hi
    return (hi << 32) | lo


def b62(x: int, width: int) -> str:
    chars = []
    for _ in range(width):
        x, r = divmod(x, 62)
        chars.append(_B62[r])
    return "".join(reversed(chars))


def _unb62(s: str) -> int | None:
    x = 0
    for c in s:
        n = _B62_INDEX.get(c)
        if n is None:
            return None
        x = x * 62 + n
    return x


def random_id(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choices(_B62, k=length))
