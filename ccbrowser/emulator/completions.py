"""The stored-completion routes: list, retrieve, update metadata, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ccbrowser.emulator.corpus import JSON
from ccbrowser.emulator.handlers import Handlers
from ccbrowser.emulator.options import DEFAULT_LIMIT
from ccbrowser.emulator.responses import ApiError, BareError, json_response, not_found_error
from ccbrowser.emulator.validation import check_metadata, int_param, json_body, order_param


class CompletionRoutes(Handlers):
    """``GET /chat/completions``, ``GET|POST|DELETE /chat/completions/{id}``."""

    async def list_completions(self, request: Request) -> Response:
        self._check_version(request)
        qp = request.query_params
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, self.max_limit)
        order = order_param(request, self.default_order)
        model = qp.get("model") or None
        metadata: dict[str, str] = {}
        llama = self.flavor == "llama-stack"
        for k, v in qp.multi_items():
            if k.startswith("metadata[") and k.endswith("]") and not llama:  # Llama Stack: no such filter
                metadata[k[len("metadata[") : -1]] = v
        after = qp.get("after") or None
        try:
            page, has_more = self.state.list_page(order, after, limit, model, metadata, created_cursor=llama)
        except KeyError:
            if llama:
                raise BareError(
                    400,
                    {"error": {"message": f"Record with id='{after}' not found in table 'chat_completions'"}},
                ) from None
            raise ApiError(
                400, f"Invalid 'after': no chat completion found with id '{after}'.", param="after", code=None
            ) from None
        data = [self._item(c, m, True) for c, m in page]
        body: JSON = {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
        if self.flavor == "azure":
            body["total"] = self.state.total(model, metadata)
        return json_response(body)

    async def retrieve(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        rec = self.state.get(cid)
        if rec is None:
            raise not_found_error(cid, self.flavor)
        return json_response(self._item(rec[0], rec[1], False))

    async def update(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        body = await json_body(request)
        if "metadata" not in body:
            raise ApiError(
                400,
                "Missing required parameter: 'metadata'.",
                param="metadata",
                code="missing_required_parameter",
            )
        md = body["metadata"]
        check_metadata(md)
        try:
            comp = self.state.update_metadata(cid, md)
        except KeyError:
            raise not_found_error(cid) from None
        rec = self.state.get(cid)
        return json_response(self._item(comp, rec[1] if rec else [], False))

    async def delete(self, request: Request) -> Response:
        self._check_version(request)
        cid = request.path_params["completion_id"]
        if not self.state.delete(cid):
            raise not_found_error(cid)
        return json_response({"object": "chat.completion.deleted", "id": cid, "deleted": True})
