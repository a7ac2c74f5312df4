"""``aegis import``: historical files through the same path as live data."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.errors import ImportFormatError
from aegis.core.timeutil import parse_instant
from aegis.domain.instruments import Instrument
from aegis.domain.sources import IMPORT
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.history.csv_daily import SplitPolicy
from aegis.services.ingest import IngestService
from aegis.services.runtime import make_store, reference_instruments
from aegis.store.base import Store
from aegis.store.migrate import upgrade

TICK_COLUMNS = ("symbol", "time", "price", "volume")
_SIDES = {
    "": UNKNOWN_SIDE,
    "buy": BUY,
    "b": BUY,
    "1": BUY,
    "sell": SELL,
    "s": SELL,
    "-1": SELL,
    "0": UNKNOWN_SIDE,
}
MAX_REPORTED = 20


@dataclass
class ParsedTicks:
    ticks: list[Tick]
    errors: list[str]


def parse_ticks_csv(path: Path, instruments: dict[str, Instrument]) -> ParsedTicks:
    """Every row checked before anything is written: a file with bad rows loads nothing."""
    ticks: list[Tick] = []
    errors: list[str] = []
    seq_of: dict[tuple[str, int], int] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in TICK_COLUMNS if c not in header]
        if missing:
            raise ImportFormatError(
                f"{path}: header must be symbol,time,price,volume[,side]; missing {missing}"
            )
        for lineno, row in enumerate(reader, start=2):
            try:
                ticks.append(_tick(row, instruments, seq_of))
            except (ValueError, InvalidOperation, KeyError) as exc:
                errors.append(f"line {lineno}: {exc}")
    return ParsedTicks(ticks, errors)


def _tick(
    row: dict[str, str], instruments: dict[str, Instrument], seq_of: dict[tuple[str, int], int]
) -> Tick:
    symbol = (row.get("symbol") or "").strip()
    inst = instruments.get(symbol)
    if inst is None:
        raise ValueError(f"unknown symbol {symbol!r}")
    text = (row.get("time") or "").strip()
    if len(text) <= 10 or not any(c in text[10:] for c in "+-Z"):
        raise ValueError(f"time {text!r} needs ISO 8601 with a UTC offset")
    ts = parse_instant(text)
    price = inst.to_minor_price(Decimal((row.get("price") or "").strip()))
    if price <= 0:
        raise ValueError("price must be positive")
    vol_d = Decimal((row.get("volume") or "").strip()).scaleb(inst.qty_scale)
    if vol_d != vol_d.to_integral_value() or vol_d < 0:
        raise ValueError(f"volume {row.get('volume')!r} is not a non-negative quantity")
    side_text = (row.get("side") or "").strip().lower()
    if side_text not in _SIDES:
        raise ValueError(f"side {side_text!r}: use buy, sell or leave empty")
    # a file carries no sequence: number rows sharing a timestamp, so re-importing the same
    # file finds the same (symbol, time, seq) and is ignored
    key = (symbol, ts)
    seq = seq_of.get(key, 0)
    seq_of[key] = seq + 1
    return Tick(symbol, ts, price, int(vol_d), _SIDES[side_text], seq, IMPORT)


async def open_store(settings: Settings) -> Store:
    if settings.database_url is None:
        upgrade(settings.store_url)
    store = make_store(settings)
    await store.start()
    if not await store.list_instruments():
        await store.upsert_instruments(reference_instruments())
    return store


def _chunks(items: list[Tick], n: int) -> Iterator[list[Tick]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


async def import_ticks_file(settings: Settings, path: Path, console: Console) -> int:
    store = await open_store(settings)
    try:
        instruments = {i.symbol: i for i in await store.list_instruments()}
        parsed = parse_ticks_csv(path, instruments)
        if parsed.errors:
            for e in parsed.errors[:MAX_REPORTED]:
                console.print(f"[red]{e}[/red]")
            more = len(parsed.errors) - MAX_REPORTED
            if more > 0:
                console.print(f"[red]… and {more} more[/red]")
            raise ImportFormatError(f"{path}: {len(parsed.errors)} bad rows; nothing imported")
        parsed.ticks.sort(key=lambda t: (t.ts, t.seq))
        ingest = IngestService(store, MemoryBus(), known_symbols=set(instruments))
        await ingest.start()
        with Progress(console=console) as progress:
            task = progress.add_task("ticks", total=len(parsed.ticks))
            for chunk in _chunks(parsed.ticks, 10_000):
                await ingest.ticks(chunk)
                progress.advance(task, len(chunk))
        await ingest.close()
        new = ingest.accepted
        console.print(
            f"[green]{new:,} ticks imported[/green], {ingest.duplicates:,} already "
            f"stored, from {path}"
        )
        return new
    finally:
        await store.close()


async def import_daily_file(
    settings: Settings,
    path: Path,
    symbol: str | None,
    console: Console,
    on_split: SplitPolicy = "error",
) -> int:
    from aegis.history.importer import import_daily

    store = await open_store(settings)
    try:
        return await import_daily(store, path, symbol, console, on_split)
    finally:
        await store.close()
