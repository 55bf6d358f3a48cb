"""The outer ASGI layers: request counts, latency, auth and injected faults; Azure's dated routes."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccbrowser.emulator.faults import FaultInjector
from ccbrowser.emulator.options import EmulatorOptions
from ccbrowser.emulator.responses import json_response
from ccbrowser.emulator.state import EmulatorState, RequestRecord


def _classify(path: str, method: str) -> str:
    """The kind of API request, for counters and fault decisions."""
    parts = [p for p in path.split("/") if p]
    try:
        k = parts.index("completions")
    except ValueError:
        return "other"
    if k == 0 or parts[k - 1] != "chat":
        return "other"
    rest = parts[k + 1 :]
    if not rest:
        return "list" if method == "GET" else ("create" if method == "POST" else "other")
    if len(rest) == 1:
        return {"GET": "retrieve", "POST": "update", "DELETE": "delete"}.get(method, "other")
    if len(rest) == 2 and rest[1] == "messages":
        return "messages" if method == "GET" else "other"
    return "other"


class Gate:
    """Outer ASGI layer: counts, latency, auth, injected faults, then the routes."""

    def __init__(self, app: ASGIApp, state: EmulatorState, options: EmulatorOptions):
        self.app = app
        self.state = state
        self.flavor = options.flavor
        self.api_key = options.api_key
        self.faults = FaultInjector(options.faults) if options.faults.active() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = scope["path"]
        kind = _classify(path, method)
        record = RequestRecord(method, path, scope.get("query_string", b"").decode("latin-1"), kind)
        state = self.state
        with state.lock:
            state.counters["total"] += 1
            state.counters[kind] += 1
            state.request_log.append(record)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if self.faults is not None and kind != "other":
            await self.faults.delay()
        denied = self._auth(scope)
        if denied is not None:
            await denied(scope, receive, recording_send)
            return
        out_send: Send = recording_send
        if self.faults is not None and kind != "other":
            canned = self.faults.before()
            if canned is not None:
                record.fault = canned.fault
                with state.lock:
                    state.counters["fault:" + canned.fault] += 1
                await recording_send(
                    {
                        "type": "http.response.start",
                        "status": canned.status,
                        "headers": [*canned.headers, (b"content-length", str(len(canned.body)).encode())],
                    }
                )
                await recording_send({"type": "http.response.body", "body": canned.body})
                return
            mode = self.faults.body_fault(method)
            if mode is not None:
                record.fault = mode
                with state.lock:
                    state.counters["fault:" + mode] += 1
                out_send = self.faults.wrap_send(recording_send, mode)
        await self.app(scope, receive, out_send)

    def _auth(self, scope: Scope) -> Response | None:
        if not self.api_key:
            return None
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if self.flavor == "azure":  # the key goes in `api-key`; a Bearer there is an Entra token, not a key
            given = headers[b"api-key"].decode("latin-1") if b"api-key" in headers else None
        if given == self.api_key:
            return None
        if self.flavor == "azure":
            return json_response(
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                        "provide a valid key for an active subscription and use a correct regional API "
                        "endpoint for your resource.",
                    }
                },
                401,
            )
        if not given:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
                "field (with blank username) if you're accessing the API from your browser and are "
                "prompted for a username and password. You can obtain an API key from "
                "https://platform.openai.com/account/api-keys."
            )
            code = None
        else:
            masked = f"{given[:3]}*{given[-4:]}" if len(given) > 8 else "***"
            message = (
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            code = "invalid_api_key"
        return json_response(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}, 401
        )


class RequireVersion:
    """Marks requests under Azure's dated ``/openai`` routes: they need ``?api-version=``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path_requires_version": True}
        await self.app(scope, receive, send)
