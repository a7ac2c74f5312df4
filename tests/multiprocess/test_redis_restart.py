"""Redis restarts under load (server mode, real processes): the ingester keeps what it could not
publish and re-sends it, each API process reads on from its last stream entry; entries a
non-persistent Redis died with are a gap, and the client gets those ticks back from the store
(``backfill``). A client misses no stored tick, never gets a tick the store lacks or a tick
twice, and the live candles end equal to the store's."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.multiprocess.test_nginx import ticks_flowing
from tests.multiprocess.test_server_mode import (
    SYMBOLS,
    Cluster,
    cluster,
    collect,
    poll,
    subscribed_client,
)
from tests.support.services import RedisFactory, RedisServer
from tests.support.windows import inside, listened, stored_inside

pytestmark = pytest.mark.services
__all__ = ["cluster"]  # re-exported fixture

BEFORE_S, DOWN_S, AFTER_S = 3.0, 3.0, 6.0


@pytest.fixture
def restartable_redis(redis_factory: RedisFactory) -> RedisServer:
    return redis_factory()


@pytest.fixture
def cluster_redis(restartable_redis: RedisServer) -> str:
    return restartable_redis.url


async def test_a_client_misses_no_tick_when_redis_restarts(
    cluster: Cluster, restartable_redis: RedisServer
) -> None:
    await ticks_flowing(cluster)
    port = cluster.servers[0][1]
    ws = await subscribed_client(port)
    try:

        async def outage() -> None:
            await asyncio.sleep(BEFORE_S)
            restartable_redis.stop()  # no persistence: the streams are gone with it
            await asyncio.sleep(DOWN_S)
            restartable_redis.start()

        backfilled: list[tuple[str, str, int, int]] = []
        seen, _ = await asyncio.gather(
            collect(ws, BEFORE_S + DOWN_S + AFTER_S, backfilled), outage()
        )
        # a refill still waiting for the store arrives a little later: listen on until none is
        # pending (the ticks that come meanwhile only widen the windows below)
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(60):
                with contextlib.suppress(httpx.HTTPError):  # a busy machine: ask again
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    if "aegis_hub_backfill_pending 0.0" in text:
                        break
                seen += await collect(ws, 1.0, backfilled)
        seen += await collect(ws, 0.5, backfilled)  # what was queued when it turned 0
    finally:
        await ws.close()
    assert seen, f"the client got no ticks\n{cluster.logs()}"

    windows = listened([seen])  # per symbol: the first to the last tick the client saw of it
    newest = max(hi for _, hi in windows.values())
    await poll(
        "SELECT coalesce(max(ts), 0) FROM ticks WHERE symbol = ANY($1)",
        SYMBOLS,
        until=lambda v: v >= newest * 1000,
        cluster=cluster,
    )
    stored = await stored_inside(cluster.database_url, windows)
    seen_inside = inside(seen, windows)
    missing = stored - seen_inside
    print(
        f"client saw {len(seen)} ticks ({len(backfilled)} backfilled) with a {DOWN_S} s Redis "
        f"outage in the middle; {sum(missing.values())} stored ticks not delivered"
    )
    assert sum(stored.values()) > 0
    assert seen_inside - stored == Counter(), "the client got ticks the store lacks, or twice"
    assert missing == Counter(), f"stored ticks never delivered: {sorted(missing)[:20]}"

    async with httpx.AsyncClient(timeout=60) as http:  # answers are slow on a busy machine
        status = (await http.get(f"http://127.0.0.1:{port}/api/v1/system/status")).json()
        assert "data" in status, f"{status}\n{cluster.logs()}"
        assert status["data"]["bus"]["reconnects"] >= 1
        # A non-persistent Redis can die holding entries nobody read yet: then the gap is known
        # (numbering), the live state is rebuilt from the store and those ticks are backfilled.
        if backfilled:
            assert status["data"]["bus"]["gaps"] >= 1, "backfill without a gap reported"

        # With the market stopped (the ingester flushes all on SIGTERM), the API process's live
        # daily candles equal the store's.
        cluster.ingester.stop()
        conn = await asyncpg.connect(cluster.database_url)
        try:
            day = await conn.fetch(
                "SELECT DISTINCT ON (symbol) symbol, volume FROM candles WHERE interval = '1d' "
                "AND symbol = ANY($1) ORDER BY symbol, start DESC",
                SYMBOLS,
            )
        finally:
            await conn.close()
        for row in day:
            # the API process may still be reading the last batches the ingester published
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                doc = (
                    await http.get(
                        f"http://127.0.0.1:{port}/api/v1/candles/{row['symbol']}",
                        params={"interval": "1d", "limit": 1},
                    )
                ).json()
                served = doc["data"][-1]["volume"]
                if served >= row["volume"] or loop.time() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert served == row["volume"], f"{row['symbol']}\n{cluster.logs()}"
