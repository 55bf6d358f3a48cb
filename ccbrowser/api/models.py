"""Pydantic models of the stored chat completions API.

Lenient on purpose: real servers (Azure, routers, Llama Stack) send nulls where the spec has
objects, loosely typed fields and fields that do not exist yet. Unknown fields are kept
(`extra="allow"`), and a nested value of the wrong shape becomes `None` instead of failing the
whole object: the verbatim JSON is stored separately, so nothing is lost either way.

:class:`ListedCompletion` is the schema the sync checks every listed object against before the
store sees it: lenient about shapes, strict about the few values that the store puts in typed
columns or uses as a key (see its docstring). The full models below describe the rest of the API.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

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


# -- the boundary schema: what the store extracts from a listed completion -------------------------

SQLITE_MIN, SQLITE_MAX = -(2**63), 2**63 - 1  # SQLite's INTEGER: a signed 64-bit value
MAX_ID_LENGTH = 512  # real ids are ~40 characters; an id is a key, a URL segment and a CLI argument
_ID_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _column_int(value: Any, *, strict: bool) -> int | None:
    """An integer column as the store reads it (ints, integral floats; bools for counts), in range.

    Out of SQLite's range is always an error (binding it would raise ``OverflowError`` deep in
    the writer); another type is an error when ``strict``, else NULL (the raw JSON keeps it).
    """
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, bool):
        if strict:
            raise ValueError("must be an integer, not a boolean")
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif strict:
        raise ValueError(f"must be an integer, not {type(value).__name__}")
    if number is not None and not SQLITE_MIN <= number <= SQLITE_MAX:
        raise ValueError("is outside SQLite's 64-bit INTEGER range")
    return number


def _count(value: Any) -> int | None:
    return _column_int(value, strict=False)


def _timestamp(value: Any) -> int | None:
    return _column_int(value, strict=True)


def _usable_id(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError("is empty")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"is {len(value):,} characters long (at most {MAX_ID_LENGTH})")
    if _ID_FORBIDDEN.search(value):
        raise ValueError("holds a control character or a lone surrogate")
    if value in (".", ".."):
        raise ValueError("is a relative path segment")
    return value


def _object_or_none(value: Any) -> Any:
    """A nested object of another shape is treated as absent; one of the right shape is checked."""
    return value if isinstance(value, dict) else None


def _list_or_none(value: Any) -> Any:
    return value if isinstance(value, list) else None


def _text_or_none(value: Any) -> Any:
    return value if isinstance(value, str) else None


CompletionId = Annotated[str, BeforeValidator(_usable_id)]
Created = Annotated[int | None, BeforeValidator(_timestamp)]
Count = Annotated[int | None, BeforeValidator(_count)]
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
T_obj = TypeVar("T_obj", bound=BaseModel)
Nested = Annotated[T_obj | None, BeforeValidator(_object_or_none)]


class _Checked(BaseModel):
    model_config = ConfigDict(extra="allow")


class _TokenDetails(_Checked):
    reasoning_tokens: Count = None
    cached_tokens: Count = None


class _UsageCounts(_Checked):
    prompt_tokens: Count = None
    completion_tokens: Count = None
    total_tokens: Count = None
    completion_tokens_details: Nested[_TokenDetails] = None
    prompt_tokens_details: Nested[_TokenDetails] = None


class _ListedChoice(_Checked):
    index: Count = None  # the output message's position
    finish_reason: Text = None


class ListedCompletion(_Checked):
    """A listed completion as the store will index it; anything else about it is kept verbatim.

    Rejected (the object goes to ``rejects`` with the reason, the page goes on):

    - ``id`` not a usable key: not a string, empty, longer than ``MAX_ID_LENGTH``, holding a
      control character (C0, DEL, C1: such an id cannot be printed on one line, typed or passed
      to ``ccbrowser show``) or a lone surrogate (not UTF-8, so not storable as SQLite TEXT), or
      ``.``/``..`` (a URL path segment that would name another endpoint);
    - ``created`` not an integer in SQLite's INTEGER range (null or absent is accepted);
    - a token count or a choice ``index`` outside SQLite's INTEGER range.

    Lenient (stored as NULL, the raw JSON keeps the value): ``model``, ``service_tier``,
    ``finish_reason`` of another type, token counts of another type, ``usage``/``choices`` of
    another shape.
    """

    id: CompletionId
    created: Created = None
    model: Text = None
    service_tier: Text = None
    usage: Nested[_UsageCounts] = None
    choices: Annotated[list[Nested[_ListedChoice]] | None, BeforeValidator(_list_or_none)] = None


class ImportedCompletion(ListedCompletion):
    """A completion read from a file (`ccbrowser import`): a listed item may lack `created` or
    `choices` (a server's odd page), but an object in a file without them is not a completion a
    sync stored (a request body, a message, another tool's record): it goes to ``rejects``."""

    @model_validator(mode="before")
    @classmethod
    def _answered(cls, data: Any) -> Any:
        # Absent or null only: a `choices` of another shape is a completion stored leniently.
        missing = [
            f"`{name}`"
            for name in ("created", "choices")
            if isinstance(data, dict) and data.get(name) is None
        ]
        if missing:
            raise ValueError(f"no {' and no '.join(missing)}")
        return data


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
