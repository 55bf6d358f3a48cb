"""Conversations inferred from stored completions: which completion continues which.

A ten-turn chat is ten stored completions, each repeating the history before it. A completion's
*parent* is the completion whose input messages plus one output choice are exactly this one's
input messages up to its last assistant message (compared in the canonical form of
`threads.canon`, through a chain of 16-byte BLAKE2b keys, `threads.keys`). Children of one parent
are *branches* (regenerations, edits, other choices of an `n > 1` call): a thread is a tree rooted
at a completion without an assistant message in its history. A child that only adds tool results
stays in its parent's *turn* (the tool loop). Explicit ids win: a completion whose metadata holds
one of `Options.id_keys` (`conversation_id`, `session_id`, `thread_id`) belongs to the thread of
that value, and only links to parents with the same value.

Pitfalls, and what is done about them:

- A system prompt that changes every call (a date, a time, a path in it) is compared after
  masking those (`SystemMode.MASK`, default), or left out of matching (`SystemMode.IGNORE`).
- Unrelated chats that open with the same user message are never merged: a link needs an
  assistant message in the child's history, and that message must be the parent's own output.
- A truncated or summarised history (early messages dropped or replaced by a summary, the last
  exchange kept) has no parent; it opens a new thread whose `continues` names the latest earlier
  completion whose last input and output are the child's last assistant message and the
  non-system message before it. A pair shorter than `keys.PAIR_MIN_BYTES` ("hi" / "Hello! How
  can I help?") recurs across unrelated chats and never links. A history that also rewrote that
  last exchange, or a sliding window of fewer than two messages, is a thread of its own.
- `n > 1`: each choice has its own key; `Assignment.parent_choice` records the one continued.
- Identical histories are indistinguishable: of two completions with the same inputs and output,
  the earlier (`created`, then id) is the parent; only explicit ids can separate them.
- A completion whose input messages are unknown (not fetched yet) is its own thread until its
  keys are added again with them (`Threader.add` replaces keys by id).

What the store keeps (`store/threads.py`, tables `thread_nodes` and `thread_keys`): per completion the `Keys` columns `prefix_key`,
`anchor_key` (BLOB, 16 bytes, nullable), `grp` (TEXT), `created`, `length`, `tool_step`, and the
`Assignment` columns `thread`, `parent`, `parent_choice`, `turn`, `branch`, `continues`; per
(completion, choice) `full_key` and `tail_key` (nullable). Indexed: `full_key`, `tail_key`, `prefix_key`,
`anchor_key`, `parent`, `(grp) WHERE parent IS NULL`, `thread`. Those are the lookups of
`threader.Index`, so a sync touches only the rows near what it adds, never every message:
`keys_of` reads one completion's messages while its page is prepared, `Threader.add` then needs
only keys. `Threader.add` returns the rows whose assignment changed, to be written back.
"""

from ccbrowser.threads.canon import SystemMode, canonical
from ccbrowser.threads.keys import DEFAULT_ID_KEYS, Completion, Keys, Options, from_api, keys_of
from ccbrowser.threads.threader import Assignment, Index, MemoryIndex, Threader

__all__ = [
    "DEFAULT_ID_KEYS",
    "Assignment",
    "Completion",
    "Index",
    "Keys",
    "MemoryIndex",
    "Options",
    "SystemMode",
    "Threader",
    "canonical",
    "from_api",
    "keys_of",
]
