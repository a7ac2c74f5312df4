"""Late ticks (a broker's gap fill arriving after newer live trades) are stored in the same
transaction as the candles they change: a process killed at any write leaves a store whose
candles count exactly its ticks."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, Tick
from aegis.services.ingest import IngestService
from aegis.store.base import Store

T0 = 1_764_644_400_000_000  # 2025-12-02 10:00 KST
S = 1_000_000
WRITES = ("write_flush", "write_ticks", "upsert_candles", "import_ticks")


class Killed(Exception):
    """The process died: this write and every later one never happen."""


def tick(second: int, seq: int) -> Tick:
    return Tick("005930", T0 + second * S, 70_000 + seq * 10, 1 + seq % 7, BUY, seq, "kis")


def die_after(store: Store, writes: int) -> None:
    """The store's writes succeed ``writes`` times; then the process is dead."""
    done = 0

    def wrap(write: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            nonlocal done
            if done >= writes:
                raise Killed
            done += 1
            return await write(*args, **kwargs)

        return guarded

    for name in WRITES:
        setattr(store, name, wrap(getattr(store, name)))


async def consistent(
    new_store: Callable[[], Store],
) -> tuple[int, list[tuple[int, int, int, int, int]]]:
    """(ticks stored, [(minute, trades, ticks in it, volume, their volume)])."""
    store = new_store()
    await store.start()
    try:
        ticks = await store.get_ticks("005930", T0 - 3600 * S, T0 + 3600 * S)
        minutes = await store.get_candles("005930", "1m", None, None, 100)
    finally:
        await store.close()
    rows = []
    for c in minutes:
        inside = [t for t in ticks if c.start <= t.ts < c.start + 60 * S]
        rows.append((c.start, c.trades, len(inside), c.volume, sum(t.volume for t in inside)))
    return len(ticks), rows


@pytest.mark.parametrize("kill_after", range(6))
async def test_a_kill_at_any_write_leaves_candles_that_count_the_stored_ticks(
    new_store: Callable[[], Store], kill_after: int
) -> None:
    store = new_store()
    await store.start()
    ingest = IngestService(store, MemoryBus(), flush_seconds=3600)
    await ingest.start()
    die_after(store, kill_after)
    with contextlib.suppress(Killed):
        await ingest.ticks([tick(60 + i, 100 + i) for i in range(10)])  # live: minute 10:01
        await ingest.flush()
        # the gap fill: trades of 10:00 (a stored minute) and of 10:01 before the live ones
        await ingest.ticks([tick(10 + i, i) for i in range(8)] + [tick(61, 50), tick(62, 51)])
        await ingest.flush()
    ingest.abandon()
    await store.close()

    n, minutes = await consistent(new_store)
    for start, trades, counted, volume, summed in minutes:
        assert (trades, volume) == (counted, summed), f"1m candle at {start}: {minutes}"
    assert sum(m[2] for m in minutes) == n  # every stored tick is in a stored minute
