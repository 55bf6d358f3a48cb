"""The emulated stored-completions API: a Starlette app over the emulator's store (`state`).

This module assembles the flavour's routes (`completions`, `messages`, `create`) behind the outer
layers (`gate`: counts, auth, faults) and the drift loop; the other jobs have a module each.

Flavours differ the way the real servers do (docs/architecture.md section 6):

- ``openai``: the reference behaviour (Bearer, ``order=asc``, ``limit`` 1..100).
- ``azure``: the key in ``api-key`` only; ``/openai/...`` needs ``?api-version=`` (``/openai/v1``
  does not); lists add ``total``; some listed items carry ``object: null`` and ``finish_reason: null``.
- ``router``: loosely typed fields (``logprobs: "unknown"``, ``annotations``/``audio`` null); no
  update or delete route (a 404, as routers answer a route they lack).
- ``llama-stack`` (0.7.x): ``order=desc`` by default, no limit cap, no metadata filter (ignored),
  ``metadata``/``usage`` null, ``input_messages`` embedded in list and retrieve items; its cursor is
  ``created < created(after)`` (``>`` ascending), so with ``burst`` > 1 (many completions a second)
  a normal client skips completions sharing a page's last second; a missing id is ``400
  {"error": {"message": "Chat completion with id '...' not found"}}``. It has no ``/messages``,
  update or delete route, answered as its FastAPI server answers an unknown route: ``404
  {"detail": "Not Found"}``, or ``405 {"detail": "Method Not Allowed"}`` where only the method is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from ccbrowser.emulator.completions import CompletionRoutes
from ccbrowser.emulator.corpus import Corpus, mix64
from ccbrowser.emulator.corpus.chats import chats
from ccbrowser.emulator.create import CreateRoute
from ccbrowser.emulator.gate import Gate, RequireVersion
from ccbrowser.emulator.generate import fake_completion
from ccbrowser.emulator.messages import MessageRoutes
from ccbrowser.emulator.options import AZURE_API_VERSION, FLAVORS, EmulatorOptions
from ccbrowser.emulator.responses import ApiError, BareError, json_response
from ccbrowser.emulator.state import EmulatorState

__all__ = [
    "AZURE_API_VERSION",
    "FLAVORS",
    "EmulatorOptions",
    "EmulatorState",
    "base_path",
    "create_app",
    "fake_completion",
    "make_state",
]


class _Api(CompletionRoutes, MessageRoutes, CreateRoute):
    """Route handlers; one instance per app, bound to the state and flavour."""


def _routes(api: _Api) -> list[Route]:
    """The flavour's routes. Llama Stack has no /messages, update or delete; routers may lack the writes."""
    routes = [
        Route("/chat/completions", api.list_completions, methods=["GET"]),
        Route("/chat/completions", api.create, methods=["POST"]),
        Route("/chat/completions/{completion_id}", api.retrieve, methods=["GET"]),
    ]
    if api.flavor not in ("llama-stack", "router"):
        routes += [
            Route("/chat/completions/{completion_id}", api.update, methods=["POST"]),
            Route("/chat/completions/{completion_id}", api.delete, methods=["DELETE"]),
        ]
    if api.flavor != "llama-stack":
        routes.append(Route("/chat/completions/{completion_id}/messages", api.messages, methods=["GET"]))
    return routes


def base_path(flavor: str) -> str:
    """The path clients put in their base URL: ``/v1`` or, for Azure, ``/openai/v1``."""
    return "/openai/v1" if flavor == "azure" else "/v1"


def create_app(state: EmulatorState, options: EmulatorOptions) -> ASGIApp:
    """The ASGI app serving ``state`` the way ``options.flavor`` does."""
    options.validate()
    api = _Api(state, options)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return json_response(exc.body, exc.status)

    async def bare_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BareError)
        return json_response(exc.body, exc.status)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if options.flavor == "llama-stack":  # FastAPI's own answers for an unknown route or method
            return json_response({"detail": "Not Found" if status == 404 else "Method Not Allowed"}, status)
        if options.flavor == "router" and status == 405:  # routers answer a route they lack with a 404
            status = 404
        return json_response(
            {
                "error": {
                    "message": f"Invalid URL ({request.method} {request.url.path})",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            404 if status == 404 else status,
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        return json_response(
            {
                "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
            500,
        )

    routes: list[Route | Mount]
    if options.flavor == "azure":
        versioned = Starlette(
            routes=[
                *_routes(api),
                Route("/deployments/{deployment}/chat/completions", api.create, methods=["POST"]),
            ],
            exception_handlers={ApiError: api_error, BareError: bare_error, 404: not_found, 405: not_found},
        )
        routes = [Mount("/openai/v1", routes=_routes(api)), Mount("/openai", app=RequireVersion(versioned))]
    else:
        routes = [Mount("/v1", routes=_routes(api))]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_drift_loop(state, options.drift_every)) if options.drift_every else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: api_error,
            BareError: bare_error,
            404: not_found,
            405: not_found,
            500: server_error,
        },
        lifespan=lifespan,
    )
    return Gate(app, state, options)


async def _drift_loop(state: EmulatorState, every: float) -> None:
    """Keep the upstream moving for demos: new completions, a late one, a deletion, an update."""
    rng = random.Random(mix64(state.corpus.seed ^ 0xD21F7))
    while True:
        await asyncio.sleep(every)
        state.drift(
            new=rng.randint(1, 3),
            late=int(rng.random() < 0.3),
            deleted=int(rng.random() < 0.2),
            updated=int(rng.random() < 0.3),
        )


def make_state(options: EmulatorOptions) -> EmulatorState:
    """The state for ``options``: a corpus of ``count`` completions from ``seed`` at ``now``."""
    corpus = Corpus(options.count, seed=options.seed, now=options.now)
    state = EmulatorState(corpus, flavor=options.flavor, burst=options.burst)
    if options.chats:
        for call in chats(corpus.now, options.seed):
            state.add_completion(call.completion, call.messages)
    return state
