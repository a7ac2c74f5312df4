"""How fast ticks go into PostgreSQL through ``PostgresStore.write_ticks`` (COPY + dedup).

Starts its own throwaway PostgreSQL (durable settings: fsync on) and prints ticks/s for new
ticks and for replayed ones. Run: ``uv run python -m tests.support.pg_ingest_rate [N] [BATCH]``.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import time

from aegis.domain.ticks import Tick
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore
from tests.support.services import PostgresServer, find_pg_bin

T0 = 1_700_000_000_000_000


def make_ticks(n: int, symbols: int = 2_800) -> list[Tick]:
    codes = [f"{i:06d}" for i in range(symbols)]
    return [
        Tick(
            codes[i % symbols], T0 + i * 50, 50_000 + i % 113, 1 + i % 37, 1 - 2 * (i & 1), i, "sim"
        )
        for i in range(n)
    ]


async def measure(url: str, ticks: list[Tick], batch: int) -> None:
    store = PostgresStore(url)
    await store.start()
    try:
        for label in ("new", "replayed"):
            started = time.perf_counter()
            written = 0
            for i in range(0, len(ticks), batch):
                written += await store.write_ticks(ticks[i : i + batch])
            elapsed = time.perf_counter() - started
            print(
                f"{label:>9}: {len(ticks):,} ticks in batches of {batch:,}: {elapsed:.2f} s, "
                f"{len(ticks) / elapsed:,.0f} ticks/s ({written:,} stored)"
            )
    finally:
        await store.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    bin_dir = find_pg_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL binaries not found")
    server = PostgresServer(bin_dir, durable=True)
    server.start()
    try:
        name = server.create_database()
        url = server.url(name)
        upgrade(url)
        print(
            f"{platform.node()} {platform.processor() or platform.machine()}, "
            f"PostgreSQL {server.psql('SHOW server_version')}, fsync on"
        )
        asyncio.run(measure(url, make_ticks(n), batch))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
