"""Redis restarts under load (server mode, real processes): the ingester keeps what it could not
publish and re-sends it, each API process reads on from its last stream entry, so a client
receives exactly the ticks the store holds, and the live candles stay equal to the store's."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx
import pytest

from aegis.core.timeutil import iso_z
from tests.multiprocess.test_nginx import ticks_flowing
from tests.multiprocess.test_server_mode import (
    SYMBOLS,
    Cluster,
    cluster,
    collect,
    ms,
    poll,
    subscribed_client,
)
from tests.support.services import RedisFactory, RedisServer

pytestmark = pytest.mark.services
__all__ = ["cluster"]  # re-exported fixture

BEFORE_S, DOWN_S, AFTER_S = 3.0, 3.0, 6.0
EDGE_MS = 5_000  # the simulator runs at ×10: the window spans about 120 s of exchange time


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

        seen, _ = await asyncio.gather(collect(ws, BEFORE_S + DOWN_S + AFTER_S), outage())
    finally:
        await ws.close()
    assert seen, f"the client got no ticks\n{cluster.logs()}"

    # Compare inside the listening window less an edge of exchange time: a batch published just
    # before the subscription can hold ticks stamped after the first one the client saw.
    lo = min(ms(k[1]) for k in seen) + EDGE_MS
    hi = max(ms(k[1]) for k in seen) - EDGE_MS
    await poll(
        "SELECT coalesce(max(ts), 0) FROM ticks WHERE symbol = ANY($1)",
        SYMBOLS,
        until=lambda v: v >= hi * 1000,
        cluster=cluster,
    )
    conn = await asyncpg.connect(cluster.database_url)
    try:
        rows = await conn.fetch(
            "SELECT symbol, ts, price, volume FROM ticks WHERE symbol = ANY($1) "
            "AND ts > $2 AND ts < $3",
            SYMBOLS,
            (lo + 1) * 1000,
            hi * 1000,
        )
    finally:
        await conn.close()
    stored = Counter((r["symbol"], iso_z(r["ts"]), r["price"], r["volume"]) for r in rows)
    inside = Counter(k for k in seen if lo + 1 < ms(k[1]) < hi)
    print(f"client saw {len(seen)} ticks over {hi - lo} ms with a {DOWN_S} s Redis outage")
    assert sum(stored.values()) > 0
    assert inside == stored

    async with httpx.AsyncClient() as http:
        status = (await http.get(f"http://127.0.0.1:{port}/api/v1/system/status")).json()
        assert "data" in status, f"{status}\n{cluster.logs()}"
        assert status["data"]["bus"]["reconnects"] >= 1

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
            doc = (
                await http.get(
                    f"http://127.0.0.1:{port}/api/v1/candles/{row['symbol']}",
                    params={"interval": "1d", "limit": 1},
                )
            ).json()
            assert doc["data"][-1]["volume"] == row["volume"], row["symbol"]
