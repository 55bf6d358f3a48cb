"""Error types and JSON responses, in OpenAI's shape or exactly as another server answers."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from ccbrowser.emulator.corpus import JSON


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


def dumps(obj: Any) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # lone surrogates: send them escaped, as valid JSON
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json")


class BareError(Exception):
    """An error answered with exactly ``body`` (servers that do not speak OpenAI's error shape)."""

    def __init__(self, status: int, body: JSON):
        super().__init__(status)
        self.status = status
        self.body = body


def not_found_error(completion_id: str, flavor: str = "openai") -> Exception:
    if flavor == "llama-stack":  # what Llama Stack 0.7.x answers for an unknown id: a 400
        return BareError(400, {"error": {"message": f"Chat completion with id '{completion_id}' not found"}})
    return ApiError(404, f"No chat completion found with id '{completion_id}'.", param=None, code=None)
