"""Importing a tick file into the store as one batch: new ticks only (one range read per symbol
finds those already stored), candles of every stored interval folded with numpy and merged with
the stored ones bucket by bucket, so the result equals what the live aggregator would have built
from all stored ticks, whatever their order and whether they are older than the newest data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aegis.aggregator.batch import fold
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS
from aegis.history.ticks_csv import SOURCE, ParsedTicks, no_cyclic_gc
from aegis.store.base import Store

CHUNK = 50_000
_SIZES = {iv.name: iv.length_us for iv in STORED_INTERVALS}


@dataclass
class TickImport:
    read: int
    imported: int
    duplicates: int
    candles: int


async def _unseen(store: Store, parsed: ParsedTicks) -> ParsedTicks:
    """Drop ticks already stored, with one range read per symbol instead of one lookup per
    tick: re-importing a file costs a read, not a write attempt per row."""
    stored = {sym: keys for sym, keys in (await store.stored_keys(parsed.spans)).items() if keys}
    if not stored:
        return parsed
    none: set[tuple[int, int]] = set()
    keep = np.fromiter(
        (
            (t, q) not in stored.get(s, none)
            for s, t, q in zip(parsed.symbols, parsed.ts.tolist(), parsed.seq.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(parsed),
    )
    return parsed.select(keep)


async def _merged(store: Store, candles: list[Candle]) -> list[Candle]:
    """Each new candle joined with the stored candle of its bucket, if any."""
    spans: dict[tuple[str, str], list[Candle]] = defaultdict(list)
    for c in candles:
        spans[(c.symbol, c.interval)].append(c)
    out: list[Candle] = []
    for (symbol, interval), group in spans.items():
        lo = min(c.start for c in group)
        hi = max(c.start for c in group)
        limit = (hi - lo) // _SIZES[interval] + 1
        stored = {c.start: c for c in await store.get_candles(symbol, interval, lo, hi + 1, limit)}
        for c in group:
            old = stored.get(c.start)
            if old is not None:
                old.merge(c)
                c = old
            out.append(c)
    return out


def _key_order(parsed: ParsedTicks) -> ParsedTicks:
    """Rows grouped by symbol (file order kept within each): the order of the stored key
    (symbol, ts, seq), so each insert lands next to the previous one in the index instead of
    wherever its symbol's rows end (a fifth less insert work in SQLite)."""
    if len(parsed.names) < 2:
        return parsed
    rank = np.empty(len(parsed.names), dtype=np.int32)
    rank[np.argsort(np.array(parsed.names))] = np.arange(len(parsed.names), dtype=np.int32)
    key = rank[parsed.codes]
    if len(parsed.names) < 2**15:
        key = key.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort: O(n)
    return parsed.select(np.argsort(key, kind="stable"))


async def import_parsed(
    store: Store, parsed: ParsedTicks, progress: Callable[[int], None] | None = None
) -> TickImport:
    with no_cyclic_gc():
        return await _import(store, parsed, progress)


async def _import(
    store: Store, parsed: ParsedTicks, progress: Callable[[int], None] | None
) -> TickImport:
    new = _key_order(await _unseen(store, parsed))
    candles = await _merged(
        store,
        fold(new.codes, new.names, new.ts, new.seq, new.prices, new.volumes, SOURCE),
    )
    # Ticks and candles in one go (one transaction where the store can): nothing else runs
    # meanwhile, since a busy event-loop thread would compete with the writer for the GIL.
    written = await store.import_ticks(new.columns(), candles, progress, CHUNK)
    return TickImport(len(parsed), written, len(parsed) - written, len(candles))
