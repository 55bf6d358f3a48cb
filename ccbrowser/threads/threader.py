"""Incremental threading: completions arrive in any order, in batches; links follow the data.

The result after any sequence of `Threader.add` calls is a function of the set of completions
added so far, never of their order: every rule picks among candidates by a total order
(`created`, then id, then choice), and a batch re-examines exactly the completions whose
candidates it can have changed (those waiting on one of its keys).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from ccbrowser.threads.keys import Completion, Keys, Options, keys_of


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one completion sits: what the store keeps per row (see the package docstring)."""

    id: str
    thread: str  # the root's id, or the explicit `"<key>:<value>"` group
    parent: str | None = None
    parent_choice: int | None = None  # which of the parent's choices the history continues
    turn: int = 0  # user turns since the root; a tool step stays in its parent's turn
    branch: int = 0  # position among the parent's children (regenerations, edits, n > 1)
    continues: str | None = None  # a parentless completion whose history continues that one's


class Index(Protocol):
    """The lookups threading needs; `MemoryIndex` here, the store's tables later."""

    def keys(self, cid: str) -> Keys | None: ...
    def assignment(self, cid: str) -> Assignment | None: ...
    def put_keys(self, keys: Keys) -> None: ...
    def put_assignment(self, assignment: Assignment) -> None: ...
    def with_full_key(self, key: bytes) -> Iterable[tuple[str, int]]: ...
    def with_tail_key(self, key: bytes) -> Iterable[str]: ...
    def with_prefix_key(self, key: bytes) -> Iterable[str]: ...
    def with_anchor_key(self, key: bytes) -> Iterable[str]: ...
    def children(self, cid: str) -> Iterable[str]: ...
    def group_roots(self, group: str) -> Iterable[str]: ...


class MemoryIndex:
    """An `Index` in dicts: for tests, benchmarks and one-off runs over a corpus."""

    def __init__(self) -> None:
        self._keys: dict[str, Keys] = {}
        self._assign: dict[str, Assignment] = {}
        self._full: dict[bytes, list[tuple[str, int]]] = {}
        self._tail: dict[bytes, list[str]] = {}
        self._prefix: dict[bytes, list[str]] = {}
        self._anchor: dict[bytes, list[str]] = {}
        self._children: dict[str, set[str]] = {}
        self._roots: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self, cid: str) -> Keys | None:
        return self._keys.get(cid)

    def assignment(self, cid: str) -> Assignment | None:
        return self._assign.get(cid)

    def assignments(self) -> dict[str, Assignment]:
        return dict(self._assign)

    def put_keys(self, keys: Keys) -> None:
        old = self._keys.get(keys.id)
        if old is not None:
            for j, key in enumerate(old.full_keys):
                self._full[key].remove((old.id, j))
            for tail in old.tail_keys:
                if tail is not None:
                    self._tail[tail].remove(old.id)
            if old.prefix_key is not None:
                self._prefix[old.prefix_key].remove(old.id)
            if old.anchor_key is not None:
                self._anchor[old.anchor_key].remove(old.id)
        self._keys[keys.id] = keys
        for j, key in enumerate(keys.full_keys):
            self._full.setdefault(key, []).append((keys.id, j))
        for tail in keys.tail_keys:
            if tail is not None:
                self._tail.setdefault(tail, []).append(keys.id)
        if keys.prefix_key is not None:
            self._prefix.setdefault(keys.prefix_key, []).append(keys.id)
        if keys.anchor_key is not None:
            self._anchor.setdefault(keys.anchor_key, []).append(keys.id)

    def put_assignment(self, assignment: Assignment) -> None:
        cid = assignment.id
        old = self._assign.get(cid)
        if old is not None:
            if old.parent is not None:
                self._children[old.parent].discard(cid)
            elif old.thread in self._roots:
                self._roots[old.thread].discard(cid)
        self._assign[cid] = assignment
        if assignment.parent is not None:
            self._children.setdefault(assignment.parent, set()).add(cid)
        else:
            keys = self._keys.get(cid)
            if keys is not None and keys.group is not None:
                self._roots.setdefault(keys.group, set()).add(cid)

    def with_full_key(self, key: bytes) -> Iterable[tuple[str, int]]:
        return self._full.get(key, ())

    def with_tail_key(self, key: bytes) -> Iterable[str]:
        return self._tail.get(key, ())

    def with_prefix_key(self, key: bytes) -> Iterable[str]:
        return self._prefix.get(key, ())

    def with_anchor_key(self, key: bytes) -> Iterable[str]:
        return self._anchor.get(key, ())

    def children(self, cid: str) -> Iterable[str]:
        return self._children.get(cid, ())

    def group_roots(self, group: str) -> Iterable[str]:
        return self._roots.get(group, ())


_Link = tuple[str | None, int | None, str | None]  # parent, parent choice, continues


class Threader:
    """Assigns threads over an `Index`; `add` returns every row whose assignment changed."""

    def __init__(self, index: Index | None = None, options: Options | None = None) -> None:
        self.index: Index = index if index is not None else MemoryIndex()
        self.options = options if options is not None else Options()

    def add_completions(self, completions: Iterable[Completion]) -> list[Assignment]:
        return self.add([keys_of(c, self.options) for c in completions])

    def add(self, batch: Iterable[Keys]) -> list[Assignment]:
        """Insert or replace these completions' keys and re-link what they affect."""
        index = self.index
        before: dict[str, Assignment | None] = {}
        relink: dict[str, None] = {}  # ordered: results never depend on set iteration order
        replaced: dict[str, Keys] = {}
        for item in {k.id: k for k in batch}.values():
            old = index.keys(item.id)
            if old is not None:  # replaced keys: whoever waited on the old ones looks again
                replaced[item.id] = old
                self._waiters(old, relink)
            index.put_keys(item)
            relink[item.id] = None
            self._waiters(item, relink)
        dirty: list[str] = []
        siblings: dict[tuple[str, str], None] = {}  # ("parent", id), ("group", group), ("root", id)
        for cid in relink:
            keys = index.keys(cid)
            assert keys is not None
            cur = index.assignment(cid)
            link = self._link(keys)
            if (
                cid not in replaced
                and cur is not None
                and (cur.parent, cur.parent_choice, cur.continues) == link
            ):
                continue
            before.setdefault(cid, cur)
            if cur is None:
                cur = Assignment(cid, keys.group or cid)
            else:
                siblings[self._family(cur.parent, replaced.get(cid, keys))] = None
            new = replace(cur, parent=link[0], parent_choice=link[1], continues=link[2])
            index.put_assignment(new)
            siblings[self._family(new.parent, keys)] = None
            dirty.append(cid)
        self._propagate(dirty, before)
        for family in siblings:
            self._number(family, before)
        out = []
        for cid, was in before.items():
            now = index.assignment(cid)
            if now is not None and now != was:
                out.append(now)
        return out

    # -- rules ----------------------------------------------------------------------------------

    def _waiters(self, keys: Keys, into: dict[str, None]) -> None:
        for key in keys.full_keys:
            into.update(dict.fromkeys(self.index.with_prefix_key(key)))
        for tail in keys.tail_keys:
            if tail is not None:
                into.update(dict.fromkeys(self.index.with_anchor_key(tail)))

    def _link(self, keys: Keys) -> _Link:
        """The parent: the earliest completion, in the same explicit group (or none), whose inputs
        plus one choice equal this one's inputs up to its last assistant message. Without one,
        `continues`: the latest earlier completion whose last input and output are this one's last
        assistant message and the message before it (its history was cut, that exchange kept)."""
        index = self.index
        if keys.prefix_key is not None:
            best: tuple[int, str, int] | None = None
            for pid, choice in index.with_full_key(keys.prefix_key):
                p = index.keys(pid)
                if p is None or pid == keys.id or p.group != keys.group or p.length >= keys.length:
                    continue
                rank = (p.created, pid, choice)
                if best is None or rank < best:
                    best = rank
            if best is not None:
                return best[1], best[2], None
        if keys.anchor_key is not None:
            latest: tuple[int, str] | None = None
            for pid in index.with_tail_key(keys.anchor_key):
                p = index.keys(pid)
                if p is None or (p.created, pid) >= (keys.created, keys.id):
                    continue
                if latest is None or (p.created, pid) > latest:
                    latest = (p.created, pid)
            if latest is not None:
                return None, None, latest[1]
        return None, None, None

    @staticmethod
    def _family(parent: str | None, keys: Keys) -> tuple[str, str]:
        if parent is not None:
            return ("parent", parent)
        return ("group", keys.group) if keys.group is not None else ("root", keys.id)

    def _propagate(self, dirty: list[str], before: dict[str, Assignment | None]) -> None:
        """Thread and turn flow down from the parent: shorter histories first, so parents settle first."""
        index = self.index
        heap: list[tuple[int, str]] = []
        for cid in dirty:
            keys = index.keys(cid)
            assert keys is not None
            heapq.heappush(heap, (keys.length, cid))
        while heap:
            _, cid = heapq.heappop(heap)
            keys = index.keys(cid)
            cur = index.assignment(cid)
            assert keys is not None and cur is not None
            if cur.parent is None:
                thread, turn = keys.group or cid, 0
            else:
                parent = index.assignment(cur.parent)
                assert parent is not None
                thread, turn = parent.thread, parent.turn + (0 if keys.tool_step else 1)
            if (thread, turn) == (cur.thread, cur.turn):
                continue
            before.setdefault(cid, cur)
            index.put_assignment(replace(cur, thread=thread, turn=turn))
            for child in index.children(cid):
                ck = index.keys(child)
                assert ck is not None
                heapq.heappush(heap, (ck.length, child))

    def _number(self, family: tuple[str, str], before: dict[str, Assignment | None]) -> None:
        """Branch = position among siblings by (choice continued, created, id)."""
        index = self.index
        kind, name = family
        if kind == "root":  # an inferred root is alone in its family, if it is still a root
            now = index.assignment(name)
            members = [name] if now is not None and now.parent is None else []
        elif kind == "parent":
            members = list(index.children(name))
        else:
            members = list(index.group_roots(name))
        ranked = []
        for cid in members:
            keys = index.keys(cid)
            cur = index.assignment(cid)
            assert keys is not None and cur is not None
            ranked.append(((cur.parent_choice or 0, keys.created, cid), cur))
        ranked.sort(key=lambda r: r[0])
        for branch, (_, cur) in enumerate(ranked):
            if cur.branch != branch:
                before.setdefault(cur.id, cur)
                index.put_assignment(replace(cur, branch=branch))
