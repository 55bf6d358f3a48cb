"""Pydantic models of the stored chat completions API.

Lenient on purpose: real servers (Azure, routers, Llama Stack) send nulls where the spec has
objects, loosely typed fields and fields that do not exist yet. Unknown fields are kept
(`extra="allow"`), and a nested value of the wrong shape becomes `None` instead of failing the
whole object: the verbatim JSON is stored separately, so nothing is lost either way.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

T = TypeVar("T")


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


Lenient = Annotated[T | None, WrapValidator(_or_none)]
"""A field that degrades to None when the server sends something of another shape."""


class APIModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FunctionCall(APIModel):
    name: Lenient[str] = None
    arguments: Lenient[str] = None


class CustomCall(APIModel):
    name: Lenient[str] = None
    input: Lenient[str] = None


class ToolCall(APIModel):
    """A function or custom tool call; `type` says which."""

    id: Lenient[str] = None
    type: Lenient[str] = None
    function: Lenient[FunctionCall] = None
    custom: Lenient[CustomCall] = None

    @property
    def name(self) -> str:
        if self.function is not None and self.function.name:
            return self.function.name
        if self.custom is not None and self.custom.name:
            return self.custom.name
        return ""

    @property
    def arguments(self) -> str:
        if self.function is not None and self.function.arguments is not None:
            return self.function.arguments
        if self.custom is not None and self.custom.input is not None:
            return self.custom.input
        return ""


class URLCitation(APIModel):
    start_index: Lenient[int] = None
    end_index: Lenient[int] = None
    url: Lenient[str] = None
    title: Lenient[str] = None


class Annotation(APIModel):
    type: Lenient[str] = None
    url_citation: Lenient[URLCitation] = None


class Audio(APIModel):
    id: Lenient[str] = None
    expires_at: Lenient[int] = None
    data: Lenient[str] = None
    transcript: Lenient[str] = None


class TopLogprob(APIModel):
    token: Lenient[str] = None
    logprob: Lenient[float] = None
    bytes: Lenient[list[int]] = None


class TokenLogprob(APIModel):
    token: Lenient[str] = None
    logprob: Lenient[float] = None
    bytes: Lenient[list[int]] = None
    top_logprobs: Lenient[list[TopLogprob]] = None


class ChoiceLogprobs(APIModel):
    content: Lenient[list[TokenLogprob]] = None
    refusal: Lenient[list[TokenLogprob]] = None


class ResponseMessage(APIModel):
    role: Lenient[str] = None
    content: Lenient[str] = None
    refusal: Lenient[str] = None
    tool_calls: Lenient[list[ToolCall]] = None
    function_call: Lenient[FunctionCall] = None
    annotations: Lenient[list[Annotation]] = None
    audio: Lenient[Audio] = None


class Choice(APIModel):
    index: Lenient[int] = None
    finish_reason: Lenient[str] = None
    message: Lenient[ResponseMessage] = None
    logprobs: Lenient[ChoiceLogprobs] = None


class CompletionTokensDetails(APIModel):
    accepted_prediction_tokens: Lenient[int] = None
    audio_tokens: Lenient[int] = None
    reasoning_tokens: Lenient[int] = None
    rejected_prediction_tokens: Lenient[int] = None
    text_tokens: Lenient[int] = None


class PromptTokensDetails(APIModel):
    audio_tokens: Lenient[int] = None
    cached_tokens: Lenient[int] = None
    text_tokens: Lenient[int] = None
    image_tokens: Lenient[int] = None
    cache_write_tokens: Lenient[int] = None


class Usage(APIModel):
    prompt_tokens: Lenient[int] = None
    completion_tokens: Lenient[int] = None
    total_tokens: Lenient[int] = None
    completion_tokens_details: Lenient[CompletionTokensDetails] = None
    prompt_tokens_details: Lenient[PromptTokensDetails] = None


class ContentPart(APIModel):
    """A text, image, audio, file or refusal part of a request message."""

    type: Lenient[str] = None
    text: Lenient[str] = None
    refusal: Lenient[str] = None
    image_url: Lenient[dict[str, Any]] = None


class InputMessage(APIModel):
    """An item of `GET /chat/completions/{id}/messages`: one message of the request."""

    id: Lenient[str] = None
    role: Lenient[str] = None
    content: Any = None  # a string, a list of parts, or null
    content_parts: Lenient[list[ContentPart]] = None
    name: Lenient[str] = None
    refusal: Lenient[str] = None
    tool_calls: Lenient[list[ToolCall]] = None
    tool_call_id: Lenient[str] = None
    function_call: Lenient[FunctionCall] = None
    audio: Any = None


class ChatCompletion(APIModel):
    id: str
    object: Lenient[str] = None
    created: Lenient[int] = None
    model: Lenient[str] = None
    choices: Lenient[list[Choice]] = None
    usage: Lenient[Usage] = None
    metadata: Lenient[dict[str, Any]] = None
    service_tier: Lenient[str] = None
    system_fingerprint: Lenient[str] = None
    input_messages: Lenient[list[InputMessage]] = None  # Llama Stack embeds them


class CompletionList(APIModel):
    """The list envelope. `data` stays raw dicts: they are stored verbatim."""

    object: Lenient[str] = None
    data: list[dict[str, Any]]
    first_id: Lenient[str] = None
    last_id: Lenient[str] = None
    has_more: Lenient[bool] = None
    total: Lenient[int] = None  # Azure


class MessageList(APIModel):
    object: Lenient[str] = None
    data: list[dict[str, Any]]
    first_id: Lenient[str] = None
    last_id: Lenient[str] = None
    has_more: Lenient[bool] = None


class Deleted(APIModel):
    id: Lenient[str] = None
    object: Lenient[str] = None
    deleted: Lenient[bool] = None


class ErrorBody(APIModel):
    message: Lenient[str] = None
    type: Lenient[str] = None
    param: Lenient[str] = None
    code: Lenient[str] = None


class ErrorResponse(APIModel):
    error: Lenient[ErrorBody] = None
