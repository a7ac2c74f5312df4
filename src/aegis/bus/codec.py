"""Bus payloads, encoded once per batch. A tick batch carries its publish time so every
consumer can measure the lag from ingest to its clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from aegis.core.timeutil import now_us
from aegis.domain.ticks import Tick


def encode_ticks(batch: Sequence[Tick], published_us: int | None = None) -> bytes:
    return orjson.dumps(
        {
            "t": now_us() if published_us is None else published_us,
            "ticks": [tuple(t) for t in batch],
        }
    )


def decode_ticks(payload: bytes) -> tuple[int, list[Tick]]:
    doc: dict[str, Any] = orjson.loads(payload)
    make = Tick._make
    return int(doc["t"]), [make(row) for row in doc["ticks"]]
