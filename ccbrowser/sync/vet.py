"""The boundary between a server's list items and the store: each item is checked on its own.

A malformed item never fails its page: it is set aside with a one-line reason (the page's other
items are stored, the item's raw JSON goes to ``rejects``). The check is one declared schema,
:class:`ccbrowser.api.models.ListedCompletion`; any other exception an item can cause here
(``RecursionError`` on absurd nesting, ...) is caught and reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from ccbrowser.api.models import ListedCompletion
from ccbrowser.safe import one_line
from ccbrowser.store.extract import dumps

Reject = tuple[str, str]  # (reason, raw JSON)


def vet(items: Iterable[Any]) -> tuple[list[dict[str, Any]], list[Reject]]:
    """(items the store can index, rejects); order kept."""
    good: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for item in items:
        reason = problem(item)
        if reason is None:
            good.append(item)
        else:
            rejects.append((reason, raw_of(item)))
    return good, rejects


def problem(item: Any, schema: type[ListedCompletion] = ListedCompletion) -> str | None:
    """None for a usable item, else why not, in one line (`schema`: `ImportedCompletion` for a file)."""
    if not isinstance(item, dict):
        return f"expected a JSON object, got {_kind(item)}"
    try:
        schema.model_validate(item)
    except ValidationError as exc:
        return f"{_label(item)}: {_summary(exc)}"
    except Exception as exc:  # noqa: BLE001 - whatever an item causes stays with the item
        return f"{_label(item)}: {type(exc).__name__}"
    return None


def raw_of(item: Any) -> str:
    """The item's JSON for `rejects`; an item too deep to encode is recorded as such."""
    try:
        return dumps(item)
    except (RecursionError, ValueError, TypeError) as exc:
        return dumps({"unencodable": type(exc).__name__})


def _label(item: dict[str, Any]) -> str:
    cid = item.get("id")
    if isinstance(cid, str) and cid:
        return f"completion {one_line(cid, 60)!s}"
    return "completion"


def _summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"]) or "object"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"`{loc}` {msg}" if err["loc"] else msg)
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
