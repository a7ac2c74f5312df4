"""A small time-limited cache of research query results (they change only when seeded or
refreshed from DART). Per process; counts hits and misses for /metrics."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class ResultCache:
    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 4_096) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        item = self._items.get(key)
        if item is not None and item[0] > now:
            self.hits += 1
            self._items.move_to_end(key)
            return item[1]
        self.misses += 1
        value = await load()
        self._items[key] = (now + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()
