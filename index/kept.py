"""A bounded, thread-safe "work it out once and keep it" map: the most recently used entries are kept.

The index keeps its recent query vectors in one, the reader (``service.answering.features``) its per-passage
arrays: both are pure functions of their key, so an entry dropped is only worked out again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """The last ``size`` values used, by key. Work happens outside the lock: two threads asking for the same
    missing key may both work it out, and keep the same value."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"Kept needs a size of at least 1, not {size}")
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, work_out: Callable[[], V]) -> V:
        """``key``'s value, worked out with ``work_out()`` and kept when it is not kept already."""
        return self.get_many([key], lambda missing: [work_out()])[key]

    def get_many(self, keys: Sequence[K], work_out: Callable[[list[K]], Sequence[V]]) -> dict[K, V]:
        """Every key's value; the missing keys are worked out together, in one ``work_out(missing)`` call."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                if key in self._items:
                    self._items.move_to_end(key)
                    found[key] = self._items[key]
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            values = work_out(missing)
            with self._lock:
                for key, value in zip(missing, values, strict=True):
                    found[key] = self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._items)
