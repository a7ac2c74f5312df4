"""Checks for scripts/container_smoke.sh: the proxy image in front of the app images answers
REST (gzip, no server version), serves the dashboard and its hashed assets with a year's cache,
and passes WebSocket and SSE ticks through, once the ingester stores ticks. The same checks as
tests/multiprocess/test_nginx.py, pointed at the containers (AEGIS_SMOKE_PORT, AEGIS_SMOKE_DB)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time

import asyncpg
import httpx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.multiprocess.test_nginx import (
    check_rest_with_gzip_and_no_server_version,
    check_sse_events_unbuffered,
    check_websocket_ticks,
)

PORT = int(os.environ["AEGIS_SMOKE_PORT"])
DB = os.environ["AEGIS_SMOKE_DB"]


async def wait_for_ticks(timeout_s: float = 600.0) -> float:
    start = time.monotonic()
    while True:
        try:
            conn = await asyncpg.connect(DB)
            try:
                if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM ticks)"):
                    return time.monotonic() - start
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            pass
        if time.monotonic() - start > timeout_s:
            raise SystemExit(f"no tick stored within {timeout_s:.0f} s")
        await asyncio.sleep(1)


def check_dashboard_and_assets() -> str:
    base = f"http://127.0.0.1:{PORT}"
    index = httpx.get(base + "/", timeout=30)
    assert index.status_code == 200, index.status_code
    assets = re.findall(r"/assets/[\w.-]+\.js", index.text)
    assert assets, "index.html names no hashed script"
    r = httpx.get(base + assets[0], timeout=30)
    assert r.status_code == 200, (assets[0], r.status_code)
    assert "immutable" in r.headers["cache-control"], r.headers.get("cache-control")
    return assets[0]


async def main() -> None:
    waited = await wait_for_ticks()
    print(f"first tick stored after {waited:.1f} s of waiting")
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(120):  # the API processes may still be starting behind the proxy
            try:
                if (await client.get(f"http://127.0.0.1:{PORT}/readyz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1)
    check_rest_with_gzip_and_no_server_version(PORT)
    print("REST through the proxy: 200, gzip, no server version")
    print(f"dashboard and {check_dashboard_and_assets()} (immutable) served by the proxy")
    await check_websocket_ticks(PORT)
    print("WebSocket /ws/stocks through the proxy: a tick")
    await check_sse_events_unbuffered(PORT)
    print("SSE /api/stream/stocks through the proxy: a tick, unbuffered")
    async with httpx.AsyncClient(timeout=30) as client:
        status = (await client.get(f"http://127.0.0.1:{PORT}/api/v1/system/status")).json()
    print("system status:", str(status.get("data", status))[:400])


if __name__ == "__main__":
    asyncio.run(main())
