"""Number types for argparse options: one clear line (exit 2) for a bad value."""

from __future__ import annotations

import argparse
from collections.abc import Callable

INT_HIGH = 1_000_000_000


def number(
    cast: Callable[[str], float] = float,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> Callable[[str], float]:
    """A parser for `cast` values in [low, high] (and > `above`); `1_000` is accepted. An integer
    with no `high` stops at `INT_HIGH`: a count or a number of days past that is a typo, and past
    2**63 SQLite cannot bind it at all."""
    kind = "an integer" if cast is int else "a number"
    ceiling = INT_HIGH if cast is int and high is None else None

    def parse(text: str) -> float:
        try:
            value = cast(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if low is not None and high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {_shown(low)} and {_shown(high)}, got {text}")
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"must be >= {_shown(low)}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {_shown(high)}, got {text}")
        if ceiling is not None and value > ceiling:
            raise argparse.ArgumentTypeError(f"must be <= {_shown(ceiling)}, got {text}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"must be > {_shown(above)}, got {text}")
        return value

    return parse


def _shown(value: float) -> str:
    """A bound as people read it: `1,000,000,000`, not `1e+09`."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1e6 else f"{value:g}"
