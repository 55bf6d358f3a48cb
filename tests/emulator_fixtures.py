"""Helpers for the emulator tests: spec validation of every body seen, and SDK clients that capture them."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed so that data never depends on the clock
KEY = "sk-emulator-test-0123456789abcdef"

_SPEC_CANDIDATES = [
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "spec"
    / "openai-chat-completions.openapi.json",
    Path(__file__).resolve().parent / "data" / "openai-chat-completions.openapi.json",
]


@cache
def relaxed_spec() -> dict[str, Any]:
    """The official spec with the two places where the real API (and the spec's own examples) differ.

    1. ``ChatCompletionMessageList`` items reuse ``ChatCompletionResponseMessage``, whose ``role`` enum
       is only ``assistant``; input messages are user/system/developer/tool too (the spec's example
       for this endpoint has ``"role": "user"``). Handled in ``validate_body``: the role is checked
       against the input roles, then the item is validated as if it were the assistant's.
    2. ``first_id``/``last_id`` are typed string, but an empty list carries ``null`` there.
    """
    for path in _SPEC_CANDIDATES:
        if path.exists():
            spec = json.loads(path.read_text(encoding="utf-8"))
            break
    else:
        pytest.skip("the OpenAPI spec is not available")
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for name in ("ChatCompletionList", "ChatCompletionMessageList"):
        props = schemas[name]["properties"]
        for key in ("first_id", "last_id"):
            props[key] = {"type": ["string", "null"]}
    return spec


@cache
def validator(schema_name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    resource = DRAFT202012.create_resource(relaxed_spec())
    registry = Registry().with_resource("urn:spec", resource)
    return Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{schema_name}"}, registry=registry)


INPUT_ROLES = {"user", "system", "developer", "assistant", "tool", "function"}


def validate_body(schema_name: str, body: Any) -> None:
    """Raise if ``body`` does not validate against the (relaxed) spec schema ``schema_name``."""
    if schema_name == "ChatCompletionMessageList" and isinstance(body, dict):
        body = copy.deepcopy(body)
        for m in body.get("data") or []:
            assert m.get("role") in INPUT_ROLES, m.get("role")
            m["role"] = "assistant"  # see relaxed_spec(): the spec's enum only knows the output role
    errors = sorted(validator(schema_name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise AssertionError(f"{schema_name}: {e.message} at {list(e.absolute_path)} ({len(errors)} errors)")


def schema_for(method: str, path: str, status: int) -> str | None:
    """Which spec schema a response of this request must match (None: not an API response)."""
    if status >= 400:
        return "ErrorResponse"
    parts = [p for p in path.split("/") if p]
    if "completions" not in parts:
        return None
    rest = parts[parts.index("completions") + 1 :]
    if not rest:
        return "ChatCompletionList" if method == "GET" else "CreateChatCompletionResponse"
    if len(rest) == 2 and rest[1] == "messages":
        return "ChatCompletionMessageList"
    if method == "DELETE":
        return "ChatCompletionDeleted"
    return "CreateChatCompletionResponse"


@dataclass
class Capture:
    """Every response body a client saw, with what it should validate against."""

    seen: list[tuple[str, str, int, Any]] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        response.read()
        try:
            body = response.json()
        except ValueError:
            body = response.text
        self.seen.append((response.request.method, response.request.url.path, response.status_code, body))

    def client(self, **kwargs: Any) -> Any:
        """An ``httpx.Client`` that records every response (typed Any: the SDK's stubs name another httpx)."""
        return httpx.Client(event_hooks={"response": [self.hook]}, **kwargs)

    def validate_all(self) -> int:
        """Validate every captured body against the spec; returns how many were checked."""
        checked = 0
        for method, path, status, body in self.seen:
            name = schema_for(method, path, status)
            if name is None:
                continue
            try:
                validate_body(name, body)
            except AssertionError as exc:
                raise AssertionError(f"{method} {path} -> {status}: {exc}") from None
            checked += 1
        return checked


def openai_client(base_url: str, capture: Capture, api_key: str = KEY, **kwargs: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=base_url, api_key=api_key, http_client=capture.client(), **kwargs)
