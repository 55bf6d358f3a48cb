"""Threading over purpose-built corpora whose true structure is known: every link checked.

Each scenario plays a client: it sends a history, gets the output back as the API returns it
(`refusal`/`annotations` and all), and sends that output again in the next request the way SDKs
do (nulls gone, tool arguments re-encoded, text sometimes as a list of parts). Input messages
reach the threader in the `/messages` item form the API and the store give back. The true parent
of a call is the call whose output the client appended: no threading rule computes it.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccbrowser.emulator.corpus import store_messages
from ccbrowser.store import open_db, reader
from ccbrowser.store.writer import Record, Writer
from ccbrowser.threads import (
    Assignment,
    Completion,
    MemoryIndex,
    Options,
    SystemMode,
    Threader,
    from_api,
    keys_of,
)

JSON = dict[str, Any]
T0 = 1_780_000_000


def output(text: str | None = None, calls: list[JSON] | None = None) -> JSON:
    """An output message exactly as `choices[i].message` comes back."""
    msg: JSON = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    if calls:
        msg["tool_calls"] = calls
    return msg


def sent_back(msg: JSON) -> JSON:
    """The output as a client sends it in the next request: nulls and output-only fields gone,
    tool arguments re-encoded with other spacing and key order."""
    out = {k: v for k, v in msg.items() if k not in ("refusal", "annotations") and v is not None}
    if "tool_calls" in out:
        calls = []
        for call in out["tool_calls"]:
            args = json.loads(call["function"]["arguments"])
            reencoded = json.dumps(dict(reversed(list(args.items()))), indent=1)
            calls.append(
                {
                    "type": "function",
                    "id": call["id"],
                    "function": {**call["function"], "arguments": reencoded},
                }
            )
        out["tool_calls"] = calls
    return out


@dataclass
class Truth:
    parent: str | None = None
    choice: int | None = None
    continues: str | None = None
    tool_step: bool = False
    group: str | None = None


@dataclass
class Corpus:
    """Calls in creation order and the truth about each."""

    calls: list[Completion] = field(default_factory=list)
    truth: dict[str, Truth] = field(default_factory=dict)
    clock: int = T0

    def call(
        self, history: list[JSON], outputs: list[JSON], truth: Truth, metadata: JSON | None = None
    ) -> Completion:
        cid = f"chatcmpl-{len(self.calls):04d}"
        self.clock += 7
        history = [m(self.clock) if callable(m) else m for m in history]
        comp = Completion(cid, self.clock, store_messages(cid, history), outputs, metadata or {})
        self.calls.append(comp)
        self.truth[cid] = truth
        return comp

    def chat(self, system: str | Callable[[int], str] | None = None, metadata: JSON | None = None) -> Chat:
        return Chat(self, [], None, 0, system, metadata)

    # -- the truth, derived from the recorded parents only -------------------------------------

    def thread_of(self, cid: str) -> str:
        t = self.truth[cid]
        if t.group is not None:
            return t.group
        return self.thread_of(t.parent) if t.parent else cid

    def turn_of(self, cid: str) -> int:
        t = self.truth[cid]
        return 0 if t.parent is None else self.turn_of(t.parent) + (0 if t.tool_step else 1)


@dataclass
class Chat:
    """One line of conversation; `fork` to branch it (regenerate, edit, another choice)."""

    corpus: Corpus
    history: list[Any]
    last: Completion | None
    last_choice: int
    system: str | Callable[[int], str] | None
    metadata: JSON | None
    parts: bool = False  # send user text as a list of parts
    cut_from: str | None = None  # the call the next one continues, after a truncation
    sent: tuple[list[Any], Completion | None, int, list[JSON], bool] | None = None  # before the last call

    def fork(self) -> Chat:
        return Chat(
            self.corpus,
            list(self.history),
            self.last,
            self.last_choice,
            self.system,
            self.metadata,
            self.parts,
        )

    def _head(self) -> list[Any]:
        if self.system is None:
            return []
        system = self.system
        if callable(system):
            return [lambda t: {"role": "system", "content": system(t)}]
        return [{"role": "system", "content": system}]

    def _send(self, appended: list[JSON], outputs: list[JSON], *, tool_step: bool) -> Completion:
        self.sent = (list(self.history), self.last, self.last_choice, appended, tool_step)
        self.history.extend(appended)
        parent = self.last.id if self.last is not None and self._has_assistant() else None
        truth = Truth(
            parent,
            self.last_choice if parent else None,
            self.cut_from,
            tool_step,
            f"conversation_id:{self.metadata['conversation_id']}"
            if self.metadata and "conversation_id" in self.metadata
            else None,
        )
        comp = self.corpus.call(self._head() + self.history, outputs, truth, self.metadata)
        self.last, self.last_choice, self.cut_from = comp, 0, None
        return comp

    def regenerate(self) -> Completion:
        """The last call again, same history, another output: a sibling of it."""
        assert self.sent is not None
        history, last, choice, appended, tool_step = self.sent
        fork = Chat(self.corpus, list(history), last, choice, self.system, self.metadata, self.parts)
        fork.cut_from = self.corpus.truth[self.last.id].continues if self.last else None
        n = len(self.corpus.calls)
        return fork._send(
            appended,
            [output(f"Regenerated answer {n}, in the few sentences a model writes, no fewer.")],
            tool_step=tool_step,
        )

    def _has_assistant(self) -> bool:
        return any(m.get("role") == "assistant" for m in self.history)

    def take(self, choice: int = 0) -> Chat:
        """Append the last call's output `choice` to the history, as the client would."""
        assert self.last is not None
        self.history.append(sent_back(self.last.outputs[choice]))
        self.last_choice = choice
        return self

    def say(self, text: str, answers: int = 1, *, calls: list[JSON] | None = None) -> Completion:
        if self.last is not None and (not self.history or self.history[-1].get("role") != "assistant"):
            self.take(self.last_choice)
        user: JSON = {"role": "user", "content": [{"type": "text", "text": text}] if self.parts else text}
        n = len(self.corpus.calls)
        outs = (
            [output(calls=calls)]
            if calls
            else [
                output(f"Answer {n}.{j} to {text!r}, in the few sentences a model writes, no fewer.")
                for j in range(answers)
            ]
        )
        return self._send([user], outs, tool_step=False)

    def tool_results(self, answer: str | None = None, *, calls: list[JSON] | None = None) -> Completion:
        """Send the results of the last call's tool calls; the model answers, or calls `calls`."""
        assert self.last is not None
        self.take(0)
        results = [
            {"role": "tool", "tool_call_id": call["id"], "content": f"result of {call['function']['name']}"}
            for call in self.last.outputs[0]["tool_calls"]
        ]
        n = len(self.corpus.calls)
        out = (
            output(calls=calls)
            if calls
            else output(
                answer or f"Answer {n} from the tools, in the few sentences a model writes, no fewer."
            )
        )
        return self._send(results, [out], tool_step=True)

    def truncate(self, keep: int, summary: str | None = None) -> Chat:
        """Drop all but the last `keep` messages (after appending the last output); the next call
        continues the last one."""
        assert self.last is not None
        if not self.history or self.history[-1].get("role") != "assistant":
            self.take(self.last_choice)
        if keep >= len(self.history) and not summary:
            return self  # nothing to cut
        self.history = ([{"role": "user", "content": summary}] if summary else []) + self.history[-keep:]
        self.cut_from = self.last.id
        self.last = None
        return self


def call_tool(name: str, **args: Any) -> JSON:
    return {
        "id": f"call_{name}_{random.Random(json.dumps(args)).randrange(10**9)}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def date_prompt(t: int) -> str:
    d = datetime.fromtimestamp(t, UTC)
    return f"You are a helpful assistant. Today is {d:%A, %d %B %Y}, the time is {d:%H:%M:%S}. Working directory: /home/u{t % 97}/proj{t % 13}."


# -- scenarios ------------------------------------------------------------------------------------


def linear(corpus: Corpus, turns: int = 5, system: Any = "Be brief.") -> Chat:
    chat = corpus.chat(system)
    for i in range(turns):
        chat.say(f"linear question {i} ({len(corpus.calls)})")
    return chat


def full_corpus() -> Corpus:
    """Every scenario at once, interleaved in time the way one account's traffic is."""
    c = Corpus()
    # multi-turn chat, with the date and time in its system prompt, user text sometimes as parts
    dated = c.chat(date_prompt)
    for i in range(4):
        dated.parts = i % 2 == 1
        dated.say(f"dated question {i}")
    # regenerate and edit: three children of one parent
    base = c.chat("You write haiku.")
    base.say("a haiku about rain")
    fork = base.fork()
    fork.take()
    fork_a, fork_b, fork_c = fork.fork(), fork.fork(), fork.fork()
    fork_a.say("now about snow")
    fork_b.say("now about snow")  # regenerated: same input, other output
    fork_c.say("now about hail")  # edited
    fork_a.say("and about fog")
    # a tool loop of two steps inside one turn
    tools = c.chat("You are a support agent.")
    tools.say("refund order A-1", calls=[call_tool("lookup", order="A-1")])
    tools.tool_results(calls=[call_tool("refund", order="A-1", amount=12.5)])
    tools.tool_results("refunded")
    tools.say("thanks")
    # two unrelated chats that open with the same user message
    for _ in range(2):
        same = c.chat("Be brief.")
        same.say("Hello")
        same.say(f"tell me about topic {len(c.calls)}")
    # n > 1: the client continues choice 2, and another client choice 1
    multi = c.chat()
    multi.say("three names for a cat", answers=3)
    second = multi.fork()
    multi.take(2).say("more like the third")
    second.take(1).say("more like the second")
    # a truncated history (sliding window) and a summarised one
    window = linear(c, 3, system="You summarise.")
    last = window.last
    window.truncate(3)
    comp = window.say("after the window")
    assert c.truth[comp.id] == Truth(None, None, last.id if last else None)
    window.say("and once more")
    summed = linear(c, 3, system="You are a tutor.")
    last = summed.last
    summed.truncate(2, summary="Summary of the conversation so far: rain, snow.")
    comp = summed.say("after the summary")
    assert c.truth[comp.id] == Truth(None, None, last.id if last else None)
    # explicit ids: a client that rewrites the whole history each call still makes one thread,
    # and two identical transcripts with different ids are not merged
    for conv in ("conv-a", "conv-b"):
        ex = c.chat("Be brief.", metadata={"conversation_id": conv})
        ex.say("Hello")
        ex.say("explicit follow-up")
    rewriting = c.chat("Be brief.", metadata={"conversation_id": "conv-r"})
    rewriting.say("draft one")
    rewriting.history = [{"role": "user", "content": "draft one, rewritten"}]
    rewriting.last = None
    rewriting.say("draft two")
    return c


def run(
    calls: Iterable[Completion], options: Options | None = None, batch: int = 1
) -> tuple[dict[str, Assignment], Threader]:
    """Thread `calls` in batches, applying the changed rows to a view as a store would."""
    threader = Threader(MemoryIndex(), options)
    view: dict[str, Assignment] = {}
    items = list(calls)
    for start in range(0, len(items), batch):
        for row in threader.add_completions(items[start : start + batch]):
            view[row.id] = row
    index = threader.index
    assert isinstance(index, MemoryIndex)
    assert view == index.assignments()  # the changed rows were all the store needed
    return view, threader


def check(corpus: Corpus, got: dict[str, Assignment]) -> None:
    assert set(got) == set(corpus.truth)
    for cid, truth in corpus.truth.items():
        a = got[cid]
        assert (a.parent, a.parent_choice, a.continues) == (truth.parent, truth.choice, truth.continues), cid
        assert a.thread == corpus.thread_of(cid), cid
        assert a.turn == corpus.turn_of(cid), cid
    families: dict[Any, list[Assignment]] = {}
    for a in got.values():
        if a.parent is not None:
            key = ("children of", a.parent)
        else:
            key = ("roots of", a.thread if a.thread.startswith("conversation_id:") else a.id)
        families.setdefault(key, []).append(a)
    for members in families.values():  # branches: 0..k-1 by (choice, created, id)
        ordered = sorted(
            members, key=lambda a: (a.parent_choice or 0, corpus.calls[int(a.id[-4:])].created, a.id)
        )
        assert [a.branch for a in ordered] == list(range(len(members)))


# -- the tests --------------------------------------------------------------------------------------


def test_full_corpus_in_order_every_link_exact() -> None:
    corpus = full_corpus()
    got, _ = run(corpus.calls)
    check(corpus, got)


def test_full_corpus_newest_first_and_in_one_batch() -> None:
    corpus = full_corpus()
    in_order, _ = run(corpus.calls)
    assert run(reversed(corpus.calls))[0] == in_order
    assert run(corpus.calls, batch=len(corpus.calls))[0] == in_order


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 9))
def test_full_corpus_any_order_any_batches(rng: random.Random, batch: int) -> None:
    corpus = full_corpus()
    shuffled = list(corpus.calls)
    rng.shuffle(shuffled)
    got, _ = run(shuffled, batch=batch)
    check(corpus, got)


def test_multi_turn_chat_is_one_thread_with_turns() -> None:
    corpus = Corpus()
    chat = linear(corpus, 4)
    got, _ = run(corpus.calls)
    ids = [c.id for c in corpus.calls]
    assert [got[i].parent for i in ids] == [None, *ids[:3]]
    assert [got[i].turn for i in ids] == [0, 1, 2, 3]
    assert {got[i].thread for i in ids} == {ids[0]}
    assert chat.last is not None and chat.last.id == ids[-1]


def test_every_permutation_of_a_small_tree() -> None:
    """Root, its child, two regenerations of the grandchild and a tool step: 120 orders."""
    corpus = Corpus()
    chat = corpus.chat("Be brief.")
    chat.say("q1")
    chat.say("q2")
    regen = chat.fork()
    regen.last = corpus.calls[0]
    regen.history = regen.history[:2]
    regen.say("q2")
    chat.say("use the tool", calls=[call_tool("search", q="x")])
    chat.tool_results()
    reference, _ = run(corpus.calls)
    check(corpus, reference)
    assert sorted(a.branch for a in reference.values() if a.parent == corpus.calls[0].id) == [0, 1]
    for order in itertools.permutations(corpus.calls):
        assert run(order)[0] == reference


def test_every_permutation_of_a_truncation_and_unrelated_openers() -> None:
    corpus = Corpus()
    a = corpus.chat("Be brief.")
    a.say("Hello")
    a.say("first")
    last = a.last
    a.truncate(2)
    cont = a.say("after truncation")
    assert corpus.truth[cont.id] == Truth(None, None, last.id if last else None)
    b = corpus.chat("Be brief.")
    b.say("Hello")
    reference, _ = run(corpus.calls)
    check(corpus, reference)
    for order in itertools.permutations(corpus.calls):
        assert run(order)[0] == reference


def test_same_opening_line_is_never_merged() -> None:
    corpus = Corpus()
    chats = [corpus.chat("Be brief.") for _ in range(3)]
    for chat in chats:
        chat.say("Hello")
    for chat in chats:
        chat.say("next")
    got, _ = run(corpus.calls)
    check(corpus, got)
    assert len({a.thread for a in got.values()}) == 3


def test_identical_outputs_of_two_openers_go_to_the_earlier() -> None:
    """Same input and same output: indistinguishable; the child goes to the earlier, the later is a
    root of its own (it has no assistant message to link by)."""
    corpus = Corpus()
    first = corpus.call([{"role": "user", "content": "Hello"}], [output("Hi!")], Truth())
    corpus.call([{"role": "user", "content": "Hello"}], [output("Hi!")], Truth())
    corpus.call(
        [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "user", "content": "x"},
        ],
        [output("y")],
        Truth(first.id, 0),
    )
    for order in itertools.permutations(corpus.calls):
        check(corpus, run(order)[0])


def test_n_choices_record_the_choice_continued() -> None:
    corpus = Corpus()
    chat = corpus.chat()
    root = chat.say("names", answers=3)
    other = chat.fork()
    chat.take(2).say("third")
    other.take(0).say("first")
    got, _ = run(reversed(corpus.calls))
    check(corpus, got)
    kids = sorted((a for a in got.values() if a.parent == root.id), key=lambda a: a.branch)
    assert [(a.parent_choice, a.branch) for a in kids] == [(0, 0), (2, 1)]


def test_changing_system_prompt_needs_masking_or_ignoring() -> None:
    corpus = Corpus()
    chat = corpus.chat(date_prompt)
    for i in range(3):
        corpus.clock += 86_400 + 3_601  # another day, another hour, another working directory
        chat.say(f"q{i}")
    for mode in (SystemMode.MASK, SystemMode.IGNORE):
        check(corpus, run(corpus.calls, Options(system=mode))[0])
    exact, _ = run(corpus.calls, Options(system=SystemMode.EXACT))
    assert all(a.parent is None for a in exact.values())  # what the masking prevents


def test_system_prompts_that_differ_in_words_split_when_masked() -> None:
    corpus = Corpus()
    opener = [{"role": "user", "content": "Tell me about the sea, in a few sentences please."}]
    reply = "The sea covers most of the planet and holds most of its water."
    old = corpus.call([{"role": "system", "content": "You are a pirate."}, *opener], [output(reply)], Truth())
    history = [
        {"role": "system", "content": "You are a lawyer."},
        *opener,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": "x"},
    ]
    new = corpus.call(
        history, [output("y")], Truth(continues=old.id)
    )  # not the same thread, the same exchange
    check(corpus, run(corpus.calls)[0])
    ignored, _ = run(corpus.calls, Options(system=SystemMode.IGNORE))
    assert ignored[new.id].parent == old.id


def test_a_short_generic_exchange_never_makes_a_continues_link() -> None:
    corpus = Corpus()
    corpus.call([{"role": "user", "content": "hi"}], [output("Hello! How can I help you today?")], Truth())
    corpus.call(
        [
            {"role": "system", "content": "Another app."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello! How can I help you today?"},
            {"role": "user", "content": "what is 2+2"},
        ],
        [output("4")],
        Truth(),
    )
    for order in itertools.permutations(corpus.calls):
        check(corpus, run(order)[0])


def test_tool_loop_is_one_turn() -> None:
    corpus = Corpus()
    chat = corpus.chat("agent")
    chat.say("do it", calls=[call_tool("a", x=1), call_tool("b", y=[1, 2])])
    chat.tool_results()
    chat.say("thanks")
    got, _ = run(corpus.calls)
    check(corpus, got)
    assert [got[c.id].turn for c in corpus.calls] == [0, 0, 1]


def test_explicit_ids_group_what_inference_cannot_and_split_what_it_would_merge() -> None:
    corpus = Corpus()
    for conv in ("x", "y"):
        chat = corpus.chat("Be brief.", metadata={"conversation_id": conv, "env": "prod"})
        chat.say("Hello")
    # the same transcript continued under x: its parent must be x's opener, not y's
    got, _ = run(corpus.calls)
    assert {a.thread for a in got.values()} == {"conversation_id:x", "conversation_id:y"}
    corpus2 = Corpus()
    x = corpus2.call(
        [{"role": "user", "content": "Hello"}],
        [output("Hi")],
        Truth(group="session_id:x"),
        {"session_id": "x"},
    )
    y = corpus2.call(
        [{"role": "user", "content": "Hello"}],
        [output("Hi")],
        Truth(group="session_id:y"),
        {"session_id": "y"},
    )
    follow = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi"},
        {"role": "user", "content": "more"},
    ]
    corpus2.call(follow, [output("ok")], Truth(y.id, 0, group="session_id:y"), {"session_id": "y"})
    for order in itertools.permutations(corpus2.calls):
        got2, _ = run(order)
        assert got2[corpus2.calls[2].id].parent == y.id != x.id
        assert got2[corpus2.calls[2].id].thread == "session_id:y"
    custom, _ = run(corpus2.calls, Options(id_keys=("nothing",)))
    assert custom[corpus2.calls[2].id].parent == x.id  # without the ids: the earlier opener


def test_inputs_arriving_later_relink() -> None:
    """A completion first known without its messages, then again with them."""
    corpus = Corpus()
    linear(corpus, 3)
    first, second, third = corpus.calls
    threader = Threader()
    threader.add_completions([first, Completion(second.id, second.created, None, second.outputs), third])
    assert threader.index.assignment(third.id).parent is None  # type: ignore[union-attr]
    changed = threader.add_completions([second])
    assert {a.id for a in changed} == {second.id, third.id}
    assert threader.index.assignment(third.id).parent == second.id  # type: ignore[union-attr]
    assert threader.index.assignment(third.id).thread == first.id  # type: ignore[union-attr]


def test_late_parent_reports_the_whole_subtree_that_moved() -> None:
    corpus = Corpus()
    linear(corpus, 5)
    threader = Threader()
    threader.add_completions(corpus.calls[1:])
    changed = threader.add_completions(corpus.calls[:1])
    assert {a.id for a in changed} == {c.id for c in corpus.calls}
    assert {a.thread for a in changed} == {corpus.calls[0].id}
    assert threader.add_completions(corpus.calls[:1]) == []  # the same again changes nothing


def test_through_a_real_store_gives_the_same_threads(db_path: Path) -> None:
    """Written by the store's writer, read back by its reader: the same assignments."""
    corpus = full_corpus()
    expected, _ = run(corpus.calls)
    conn = open_db(db_path)
    records = []
    for c in corpus.calls:
        api = {
            "id": c.id,
            "object": "chat.completion",
            "created": c.created,
            "model": "gpt-4o-mini",
            "metadata": dict(c.metadata),
            "choices": [
                {"index": j, "message": m, "finish_reason": "stop", "logprobs": None}
                for j, m in enumerate(c.outputs)
            ],
        }
        records.append(Record(api, list(c.inputs or [])))
    Writer(conn).write(records)
    back = []
    for (cid,) in conn.execute("SELECT id FROM completions ORDER BY id DESC"):
        raw = json.loads(reader.detail(conn, cid).raw_text)  # type: ignore[union-attr]
        back.append(from_api(raw, reader.input_messages(conn, cid)))
    conn.close()
    got, _ = run(back)
    assert got == expected
    check(corpus, got)


def test_keys_are_plain_bytes_of_fixed_size() -> None:
    corpus = full_corpus()
    for c in corpus.calls:
        k = keys_of(c)
        for key in (k.prefix_key, k.anchor_key, *k.full_keys, *k.tail_keys):
            assert key is None or (isinstance(key, bytes) and len(key) == 16)
        assert len(k.full_keys) == len(c.outputs)


@pytest.mark.parametrize("size", [1, 2])
def test_empty_and_odd_completions_do_not_break_threading(size: int) -> None:
    odd = [
        Completion("a", T0, [], []),
        Completion("b", T0, ["not a message", 3, None], [None]),
        Completion("c", T0, [{"role": None, "content": {"weird": 1}}], [{"content": "x"}]),
        Completion("d", T0, [{"role": "assistant", "content": "x"}], [output("y")]),
    ]
    got, _ = run(odd, batch=size)
    assert all(a.thread for a in got.values())


_OPENERS = ["Hello", "Hello", "Can you help me with something?", "hi"]
_SYSTEMS: list[Any] = [None, "Be brief.", date_prompt]
_ops = st.lists(
    st.tuples(
        st.sampled_from(["new", "new", "say", "say", "say", "regenerate", "tool", "truncate", "n"]),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(_ops, st.randoms(use_true_random=False), st.integers(1, 12))
def test_random_conversations_in_any_order(
    ops: list[tuple[str, int]], rng: random.Random, batch: int
) -> None:
    """Random forests of chats (some under explicit ids, openers shared), threaded shuffled."""
    corpus = Corpus()
    chats: list[Chat] = []
    for op, k in ops:
        if op == "new" or not chats:
            meta = {"conversation_id": f"conv-{k % 3}"} if k % 4 == 0 else None
            chat = corpus.chat(_SYSTEMS[k % len(_SYSTEMS)], metadata=meta)
            chat.parts = k % 5 == 1
            chat.say(_OPENERS[k % len(_OPENERS)])
            chats.append(chat)
            continue
        chat = chats[k % len(chats)]
        if op == "say":
            chat.say(f"question {len(corpus.calls)}")
        elif op == "regenerate":
            chat.regenerate()
        elif op == "tool":
            chat.say("look it up", calls=[call_tool("lookup", n=len(corpus.calls))])
            chat.tool_results()
        elif op == "truncate":
            chat.truncate(2 + k % 3)
            chat.say(f"after the cut {len(corpus.calls)}")
        elif op == "n":
            chat.say(f"options {len(corpus.calls)}", answers=3)
            other = chat.fork()
            chat.take(k % 3)
            other.take((k + 1) % 3).say(f"the other option {len(corpus.calls)}")
    shuffled = list(corpus.calls)
    rng.shuffle(shuffled)
    got, _ = run(shuffled, batch=batch)
    check(corpus, got)
    assert run(corpus.calls)[0] == got
