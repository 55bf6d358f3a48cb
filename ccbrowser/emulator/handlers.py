"""What every route handler shares: the state, the flavour and its list limits and order."""

from __future__ import annotations

from starlette.requests import Request

from ccbrowser.emulator.corpus import JSON, mix64
from ccbrowser.emulator.generate import digest
from ccbrowser.emulator.options import LLAMA_MAX_LIMIT, MAX_LIMIT, EmulatorOptions
from ccbrowser.emulator.responses import ApiError
from ccbrowser.emulator.state import EmulatorState


class Handlers:
    """Route handlers; one instance per app, bound to the state and flavour."""

    def __init__(self, state: EmulatorState, options: EmulatorOptions):
        self.state = state
        self.flavor = options.flavor
        self.default_order = "desc" if options.flavor == "llama-stack" else "asc"
        self.max_limit = LLAMA_MAX_LIMIT if options.flavor == "llama-stack" else MAX_LIMIT

    def _check_version(self, request: Request) -> None:
        if request.scope.get("root_path_requires_version") and not request.query_params.get("api-version"):
            raise ApiError(
                400,
                "Missing required query parameter 'api-version'.",
                param="api-version",
                code="missing_api_version",
            )

    def _item(self, comp: JSON, msgs: list[JSON], in_list: bool) -> JSON:
        if self.flavor == "llama-stack":  # embedded as sent: request form, no message ids
            return {**comp, "input_messages": msgs}
        if self.flavor == "azure" and in_list and mix64(digest(comp["id"])) % 7 == 0:
            return {
                **comp,
                "object": None,
                "choices": [{**c, "finish_reason": None} for c in comp.get("choices") or []],
            }
        return comp
