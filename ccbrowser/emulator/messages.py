"""``GET /chat/completions/{id}/messages``: a stored completion's input messages, paged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ccbrowser.emulator.corpus import store_messages
from ccbrowser.emulator.handlers import Handlers
from ccbrowser.emulator.options import DEFAULT_LIMIT, MAX_LIMIT
from ccbrowser.emulator.responses import ApiError, json_response, not_found_error
from ccbrowser.emulator.validation import int_param, order_param


class MessageRoutes(Handlers):
    """The input messages route (absent from Llama Stack)."""

    async def messages(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        rec = self.state.get(cid)
        if rec is None:
            raise not_found_error(cid)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        order = order_param(request, "asc")
        items = store_messages(cid, rec[1])
        after = request.query_params.get("after") or None
        if order == "desc":
            items.reverse()
        start = 0
        if after:
            pos = next((k for k, m in enumerate(items) if m["id"] == after), None)
            if pos is None:
                raise ApiError(400, f"Invalid 'after': no message found with id '{after}'.", param="after")
            start = pos + 1
        page = items[start : start + limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": start + limit < len(items),
            }
        )
