"""The few keys a completion contributes to threading, computed from that completion alone.

Pure and independent of every other completion, so the store can compute them while it prepares
a page (off the database thread) and keep them as plain columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ccbrowser.threads.canon import SYSTEM_ROLES, TOOL_ROLES, SystemMode, encoding

DEFAULT_ID_KEYS = ("conversation_id", "session_id", "thread_id")
_ROOT = bytes(16)
# A pair of messages shorter than this, in bytes of their encodings (`canon.encoding`: the text
# and about 15 bytes of role and lengths), recurs across unrelated chats ("hi" / "Hello! How can
# I help you today?" is 61), so it never makes a "continues" link.
PAIR_MIN_BYTES = 80


@dataclass(frozen=True, slots=True)
class Options:
    """What the caller can choose: which metadata keys are explicit thread ids, how system messages match."""

    id_keys: tuple[str, ...] = DEFAULT_ID_KEYS
    system: SystemMode = SystemMode.MASK

    @classmethod
    def of(cls, table: Any) -> Options:
        """From the config's `[threads]` table (`config.ThreadsTable`: `id_keys`, `system`)."""
        return cls(tuple(table.id_keys), SystemMode(table.system))


_DEFAULT = Options()


@dataclass(frozen=True, slots=True)
class Completion:
    """What threading reads from a stored completion (see `from_api`)."""

    id: str
    created: int
    inputs: Sequence[Any] | None  # None: the input messages are not known (yet)
    outputs: Sequence[Any] = ()  # the message of each choice, in choice order
    metadata: Mapping[str, Any] = field(default_factory=dict)


def from_api(completion: Mapping[str, Any], input_messages: Sequence[Any] | None) -> Completion:
    """A `Completion` from an API object and its input messages (any form the API or the store gives)."""
    choices = [c for c in completion.get("choices") or () if isinstance(c, dict)]
    ordered = sorted(enumerate(choices), key=lambda nc: (_int(nc[1].get("index"), nc[0]), nc[0]))
    created = completion.get("created")
    metadata = completion.get("metadata")
    return Completion(
        id=str(completion.get("id")),
        created=created if isinstance(created, int) and not isinstance(created, bool) else 0,
        inputs=input_messages,
        outputs=[c.get("message") for _, c in ordered],
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True, slots=True)
class Keys:
    """One completion's threading keys: 16-byte BLAKE2b digests, and a few small values.

    The chain key of messages m1..mk is h_k, with h_0 = 16 zero bytes and
    h_i = BLAKE2b-128(h_(i-1) + encoding(m_i)) (`canon.encoding`; messages it drops are skipped).

    - `prefix_key`: the chain key of the inputs up to and including the last assistant message
      (None without one: such a completion opens a thread and never has a parent);
    - `full_keys[j]`: the chain key of all inputs followed by choice `j`'s message;
      a child's `prefix_key` equals its parent's `full_keys[j]`;
    - `tail_keys[j]`: the pair key of the last non-system input and choice `j`'s message
      (None for a pair shorter than `PAIR_MIN_BYTES`);
    - `anchor_key`: the pair key of the last assistant input and the non-system message before
      it; a root whose `anchor_key` equals an earlier completion's tail key continues it
      (its history was truncated or summarised but kept the last exchange verbatim);
    - `group`: the explicit thread id from metadata (`"<key>:<value>"`), or None;
    - `tool_step`: every input after the last assistant message is a tool result (the tool loop);
    - `length`: the number of matched inputs; a parent is always shorter than its child.
    """

    id: str
    created: int
    group: str | None
    prefix_key: bytes | None
    full_keys: tuple[bytes, ...]
    tail_keys: tuple[bytes | None, ...]
    anchor_key: bytes | None
    tool_step: bool
    length: int


def _step(chain: bytes, enc: bytes) -> bytes:
    return hashlib.blake2b(chain + enc, digest_size=16).digest()


def _pair(first: bytes, second: bytes) -> bytes:
    return hashlib.blake2b(
        len(first).to_bytes(8, "little") + first + second, digest_size=16, person=b"ccb-pair"
    ).digest()


def group_of(metadata: Mapping[str, Any], id_keys: Sequence[str]) -> str | None:
    """The first of `id_keys` present with a non-empty value: explicit ids win over inference."""
    for key in id_keys:
        value = metadata.get(key)
        if value is not None and value != "":
            return f"{key}:{value}"
    return None


def keys_of(completion: Completion, options: Options | None = None) -> Keys:
    options = options if options is not None else _DEFAULT
    group = group_of(completion.metadata, options.id_keys)
    if completion.inputs is None:
        return Keys(completion.id, completion.created, group, None, (), (), None, False, 0)
    system = options.system
    inputs = [
        (msg.get("role") if type(msg) is dict else None, encoding(msg, system)) for msg in completion.inputs
    ]
    return keys_from(
        completion.id, completion.created, group, inputs, output_encodings(completion.outputs, system)
    )


def output_encodings(outputs: Sequence[Any], system: SystemMode = SystemMode.MASK) -> list[bytes]:
    """The encoding of each choice's message, as the caller will send it back (an assistant's)."""
    out = []
    for item in outputs:
        msg = item if isinstance(item, dict) else {}
        if not isinstance(msg.get("role"), str):
            msg = {**msg, "role": "assistant"}
        out.append(encoding(msg, system) or b"")
    return out


def keys_from(
    cid: str,
    created: int,
    group: str | None,
    inputs: Sequence[tuple[Any, bytes | None]],
    outputs: Sequence[bytes],
) -> Keys:
    """`keys_of` from (role, `canon.encoding`) of each input and the encoding of each choice.

    The store's backfill calls it with encodings cached per stored body: a system prompt shared
    by thousands of completions is encoded once."""
    chain = _ROOT
    prefix: bytes | None = None
    anchor: tuple[bytes, bytes] | None = None  # (before, assistant) encodings, hashed at the end
    before: bytes | None = None  # encoding of the last non-system input so far
    after, tools_only = 0, True  # inputs since the last assistant message; all tool results?
    length = 0
    blake2b = hashlib.blake2b
    for role, enc in inputs:
        if enc is None:
            continue
        chain = blake2b(chain + enc, digest_size=16).digest()
        length += 1
        if role == "assistant":
            prefix = chain
            anchor = (before, enc) if before is not None else None
            after, tools_only = 0, True
            before = enc
        else:
            after += 1
            tools_only = tools_only and role in TOOL_ROLES
            if role not in SYSTEM_ROLES:
                before = enc
    full: list[bytes] = []
    tail: list[bytes | None] = []
    for enc in outputs:
        full.append(_step(chain, enc))
        big = before is not None and len(before) + len(enc) >= PAIR_MIN_BYTES
        tail.append(_pair(before, enc) if big and before is not None else None)
    if anchor is not None and len(anchor[0]) + len(anchor[1]) < PAIR_MIN_BYTES:
        anchor = None
    tool_step = prefix is not None and after > 0 and tools_only
    return Keys(
        cid,
        created,
        group,
        prefix,
        tuple(full),
        tuple(tail),
        _pair(*anchor) if anchor is not None else None,
        tool_step,
        length,
    )
