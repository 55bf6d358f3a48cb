"""Access to the official OpenAPI description of the stored completions endpoints."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

_CANDIDATES = [
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "spec"
    / "openai-chat-completions.openapi.json",
    Path(__file__).resolve().parent / "data" / "openai-chat-completions.openapi.json",
]


@cache
def spec() -> dict[str, Any]:
    for path in _CANDIDATES:
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    pytest.skip("the OpenAPI spec is not available")


def validator(schema_name: str) -> Any:
    """A jsonschema validator for `#/components/schemas/<name>` with refs resolved in the spec."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource(contents=spec(), specification=DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)
    return Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{schema_name}"}, registry=registry)


def response_examples() -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, example response object) for every non-streaming example in the spec."""
    out = []
    for path, methods in spec()["paths"].items():
        for method, op in methods.items():
            examples = op.get("x-oaiMeta", {}).get("examples")
            if isinstance(examples, dict):
                examples = [examples]
            for ex in examples or []:
                text = ex.get("response")
                if not isinstance(text, str):
                    continue
                try:
                    obj = json.loads(text)
                except ValueError:
                    continue  # a stream of chunks
                if obj.get("object") == "chat.completion.chunk":
                    continue
                out.append((path, method, obj))
    return out
