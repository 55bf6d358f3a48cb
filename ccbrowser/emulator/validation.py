"""Request checks: query parameters, metadata limits and the JSON body, answered as the API does."""

from __future__ import annotations

import json

from starlette.requests import Request

from ccbrowser.emulator.corpus import JSON
from ccbrowser.emulator.responses import ApiError


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            f"Invalid '{name}': expected an integer, but got '{raw}' instead.",
            param=name,
            code="invalid_type",
        ) from None
    if value < lo:
        raise ApiError(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= {lo}, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if value > hi:
        raise ApiError(
            400,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {hi}, "
            f"but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


def order_param(request: Request, default: str) -> str:
    order = request.query_params.get("order") or default
    if order not in ("asc", "desc"):
        raise ApiError(
            400,
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    return order


def check_metadata(md: object) -> None:
    """``metadata`` as the API takes it at create and update: null, or an object of strings within
    the limits."""
    if md is not None and not (
        isinstance(md, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in md.items())
    ):
        raise ApiError(
            400,
            "Invalid type for 'metadata': expected an object with string values.",
            param="metadata",
            code="invalid_type",
        )
    check_metadata_limits(md)


def check_metadata_limits(md: JSON | None) -> None:
    """The API's limits on ``metadata``: 16 keys, keys up to 64 characters, values up to 512."""
    if not md:
        return
    if len(md) > 16:
        raise ApiError(
            400,
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(md)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for k, v in md.items():
        if len(k) > 64:
            raise ApiError(
                400,
                f"Invalid 'metadata': key too long. Expected a key of at most 64 characters, "
                f"but got a key of {len(k)} characters instead.",
                param="metadata",
                code="invalid_value",
            )
        if len(v) > 512:
            raise ApiError(
                400,
                f"Invalid 'metadata.{k}': string too long. Expected a string with maximum length "
                f"512, but got a string with length {len(v)} instead.",
                param=f"metadata.{k}",
                code="string_above_max_length",
            )


async def json_body(request: Request) -> JSON:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
        )
    return body
