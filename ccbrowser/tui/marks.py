"""The list's marks (multi-select): a set of primary keys and the anchor of a range. No Textual.

lazygit and k9s conventions: `space` marks or unmarks the row under the cursor, `v` marks every
row from the last mark (the anchor) to the cursor. Marks are completions, not rows: they stay
when the query changes, so a selection can be gathered from several searches, and a bulk action
acts on all of them (or on the cursor's row when nothing is marked).
"""

from __future__ import annotations

from collections.abc import Sequence


class Marks:
    def __init__(self) -> None:
        self._pks: dict[int, None] = {}  # insertion-ordered: the order they were marked in
        self.anchor: int | None = None  # the primary key marked last

    def __len__(self) -> int:
        return len(self._pks)

    def __contains__(self, pk: object) -> bool:
        return pk in self._pks

    @property
    def pks(self) -> list[int]:
        return list(self._pks)

    def toggle(self, pk: int) -> bool:
        """Mark or unmark `pk`; True when it is marked now (it becomes the anchor)."""
        if pk in self._pks:
            del self._pks[pk]
            if self.anchor == pk:
                self.anchor = None
            return False
        self._pks[pk] = None
        self.anchor = pk
        return True

    def mark_range(self, order: Sequence[int], index: int) -> int:
        """Mark the rows of `order` from the anchor's row to `index` (both included); without an
        anchor in `order`, only the row at `index`. Returns how many were newly marked."""
        if not 0 <= index < len(order):
            return 0
        start = index
        if self.anchor is not None:
            try:
                start = order.index(self.anchor)
            except ValueError:
                start = index
        lo, hi = sorted((start, index))
        new = 0
        for pk in order[lo : hi + 1]:
            if pk not in self._pks:
                self._pks[pk] = None
                new += 1
        self.anchor = order[index]
        return new

    def clear(self) -> int:
        n = len(self._pks)
        self._pks.clear()
        self.anchor = None
        return n
