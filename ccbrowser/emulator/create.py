"""``POST /chat/completions``: a fake completion, stored when ``store`` is true, streamed on request."""

from __future__ import annotations

import random

from starlette.requests import Request
from starlette.responses import Response

from ccbrowser.emulator.corpus import random_id
from ccbrowser.emulator.generate import digest, fake_completion
from ccbrowser.emulator.handlers import Handlers
from ccbrowser.emulator.responses import ApiError, json_response
from ccbrowser.emulator.streaming import sse, stream_chunks
from ccbrowser.emulator.validation import check_metadata, json_body


class CreateRoute(Handlers):
    """Creating a completion, as the API and Azure's deployment route do."""

    async def create(self, request: Request) -> Response:
        self._check_version(request)
        body = await json_body(request)
        deployment = request.path_params.get("deployment")
        if deployment and not body.get("model"):
            body["model"] = deployment
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise ApiError(400, "you must provide a model parameter", param="model")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
            raise ApiError(
                400,
                "Invalid 'messages': expected a non-empty array of message objects.",
                param="messages",
                code="invalid_type" if not isinstance(msgs, list) else "empty_array",
            )
        stream_options = body.get("stream_options")
        if stream_options is not None and not body.get("stream"):
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
                code="invalid_value",
            )
        if stream_options is not None and not isinstance(stream_options, dict):
            raise ApiError(
                400,
                "Invalid type for 'stream_options': expected an object.",
                param="stream_options",
                code="invalid_type",
            )
        n = body.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 8:
            raise ApiError(400, "Invalid 'n': expected an integer between 1 and 8.", param="n")
        md = body.get("metadata")
        check_metadata(md)
        state = self.state
        cid = state.create_id()
        created = state._now() if body.get("store") else max(int(state.clock()), 0)
        comp = fake_completion(body, cid, created)
        if body.get("store"):
            stored = {
                **comp,
                "metadata": dict(md or {}),
                "request_id": "req_" + random_id(random.Random(digest(cid)), "", 32).lower(),
                "seed": body.get("seed") if isinstance(body.get("seed"), int) else digest(cid) >> 1,
                "temperature": body.get("temperature", 1.0),
                "top_p": body.get("top_p", 1.0),
                "presence_penalty": body.get("presence_penalty", 0.0),
                "frequency_penalty": body.get("frequency_penalty", 0.0),
                "input_user": body.get("user"),
                "tools": body.get("tools"),
                "tool_choice": body.get("tool_choice"),
                "response_format": body.get("response_format"),
            }
            state.add_completion(stored, msgs)
            comp = {**comp, "metadata": dict(md or {})}
        if body.get("stream"):
            return sse(stream_chunks(comp, bool((stream_options or {}).get("include_usage"))))
        return json_response(comp)
