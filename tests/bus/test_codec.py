"""A tick batch decodes to the same ticks whichever way it travelled: through the in-process
bus (the ticks ride along with the bytes) or as plain bytes (Redis, the journal)."""

from __future__ import annotations

import asyncio

from aegis.bus.base import TICKS
from aegis.bus.codec import TickPayload, decode_ticks, encode_ticks
from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick

TICKS_IN = [
    Tick("005930", 1_764_640_800_000_000, 70_000, 3, BUY, 1, "sim"),
    Tick("000660", 1_764_640_800_000_001, 180_500, 10, SELL, 2, "kis"),
    Tick("BTCUSDT", 1_764_640_800_000_002, 9_712_345_678_901, 123_456, UNKNOWN_SIDE, 3, "binance"),
]


def test_kept_ticks_equal_the_decoded_ones() -> None:
    kept = encode_ticks(TICKS_IN, 42, keep=True)
    plain = encode_ticks(TICKS_IN, 42)
    assert type(plain) is bytes
    assert isinstance(kept, TickPayload)
    assert bytes(kept) == plain  # the same bytes on the wire and in the journal
    from_bytes = decode_ticks(bytes(kept))
    assert decode_ticks(kept) == from_bytes == (42, TICKS_IN)
    assert all(type(t) is Tick for t in decode_ticks(kept)[1])


def test_a_kept_batch_is_a_snapshot() -> None:
    batch = list(TICKS_IN)
    payload = encode_ticks(batch, keep=True)
    batch.append(TICKS_IN[0])  # the encoder's caller reuses its list
    _, first = decode_ticks(payload)
    first.clear()  # one consumer's list is its own
    assert decode_ticks(payload)[1] == TICKS_IN


async def test_the_memory_bus_hands_over_the_payload_itself() -> None:
    bus = MemoryBus()
    assert bus.in_process
    sub = await bus.subscribe(TICKS)
    payload = encode_ticks(TICKS_IN, keep=bus.in_process)
    await bus.publish(TICKS, payload)
    got = await asyncio.wait_for(anext(aiter(sub)), 10)
    assert got is payload
    assert decode_ticks(got)[1] == TICKS_IN
    await sub.close()
