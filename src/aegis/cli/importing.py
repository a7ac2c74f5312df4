"""``aegis import``: historical files into the store (ticks as one checked batch)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from aegis.core.config import Settings
from aegis.core.errors import ImportFormatError, StoreError
from aegis.history.csv_daily import SplitPolicy
from aegis.history.ticks_csv import read_ticks_csv
from aegis.services.runtime import make_store, reference_instruments
from aegis.store.base import Store
from aegis.store.migrate import upgrade

MAX_REPORTED = 20


async def open_store(settings: Settings) -> Store:
    store = make_store(settings)
    try:
        await store.start()  # checks the schema version: cheap when it is current
    except StoreError:
        if settings.database_url is not None:
            raise  # server mode: migrations are the operator's `aegis db upgrade`
        await store.close()
        upgrade(settings.store_url)  # the embedded file: create or migrate it
        store = make_store(settings)
        await store.start()
    if not await store.list_instruments():
        await store.upsert_instruments(reference_instruments())
    return store


async def import_ticks_file(settings: Settings, path: Path, console: Console) -> int:
    from aegis.history.tick_import import import_parsed

    store = await open_store(settings)
    try:
        instruments = {i.symbol: i for i in await store.list_instruments()}
        with console.status("reading and checking every row …"):
            parsed = read_ticks_csv(path, instruments)
        if parsed.errors:
            for e in parsed.errors[:MAX_REPORTED]:
                console.print(f"[red]{e}[/red]")
            more = len(parsed.errors) - MAX_REPORTED
            if more > 0:
                console.print(f"[red]… and {more} more[/red]")
            raise ImportFormatError(f"{path}: {len(parsed.errors)} bad rows; nothing imported")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("ticks", total=len(parsed))
            done = await import_parsed(store, parsed, lambda n: progress.advance(task, n))
        console.print(
            f"[green]{done.imported:,} ticks imported[/green], {done.duplicates:,} already "
            f"stored, from {path}"
        )
        return done.imported
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
