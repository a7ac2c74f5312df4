"""``asyncio.Event`` and ``asyncio.Queue`` for objects held once per connection.

Each ``collections.deque`` allocates a 64-slot block at creation (≈ 760 bytes traced), and an
``asyncio.Queue`` makes four of them (its items, getters, putters, and an ``Event`` for ``join``);
a WebSocket connection held eleven deques, about 8 KB of its ≈ 45 KB (docs/benchmarks.md, fanout,
session 7). These keep the same semantics for what the connections use (set/clear/wait; put_nowait,
get, empty) with a list and futures made only while someone waits."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class LeanEvent:
    """``asyncio.Event``'s ``set``/``clear``/``is_set``/``wait``: every waiter wakes on ``set``."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = [fut]
        else:
            self._waiters.append(fut)
        try:
            await fut
        finally:
            # a cancelled waiter leaves no future behind (set() takes the list as a whole)
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)


class LeanQueue(Generic[T]):
    """An unbounded FIFO with ``put_nowait``, ``get``, ``get_nowait``, ``empty`` and ``qsize``
    (a connection's inbound ASGI messages: a handful at a time, one consumer)."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        getters = self._getters
        if getters:
            for fut in getters:
                if not fut.done():
                    fut.set_result(None)
                    break

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> T:
        while not self._items:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = [fut]
            else:
                self._getters.append(fut)
            try:
                await fut
            except BaseException:
                # cancelled after being woken: pass the wake-up on, as asyncio.Queue does
                if fut.done() and not fut.cancelled() and self._items:
                    self._wake_next(fut)
                raise
            finally:
                if self._getters is not None and fut in self._getters:
                    self._getters.remove(fut)
        return self._items.pop(0)

    def _wake_next(self, skip: asyncio.Future[None]) -> None:
        for fut in self._getters or ():
            if fut is not skip and not fut.done():
                fut.set_result(None)
                return
