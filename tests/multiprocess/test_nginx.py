"""The shipped nginx config (deploy/nginx/aegis.conf) in front of two real API processes: REST,
gzip, WebSocket and SSE all pass through one origin, and hashed assets are served by nginx with
a year's cache. Only the lines marked ``# test:`` are rewritten (ports, asset root)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.multiprocess.test_server_mode import (  # the real cluster: ingest + 2 API processes
    ROOT,
    SYMBOLS,
    WAIT_S,
    Cluster,
    cluster,
    cluster_redis,
)
from tests.support.services import free_port, unavailable, wait_for_port

pytestmark = pytest.mark.services
__all__ = ["cluster", "cluster_redis"]  # re-exported fixtures

CONF = ROOT / "deploy" / "nginx" / "aegis.conf"
DIST = ROOT / "web" / "dist"
FIRST_TICK_S = 300.0  # generous: a slow machine seeds the whole listing's history first


def rendered_conf(api_ports: list[int], port: int, asset_root: Path) -> str:
    lines = []
    apis = iter(api_ports)
    for line in CONF.read_text().splitlines():
        if line.rstrip().endswith("# test: api"):
            line = re.sub(r"server \S+;", f"server 127.0.0.1:{next(apis)};", line)
        elif line.rstrip().endswith("# test: listen"):
            line = re.sub(r"listen \S+;", f"listen 127.0.0.1:{port};", line)
        elif line.rstrip().endswith("# test: root"):
            line = re.sub(r"root \S+;", f"root {asset_root};", line)
        lines.append(line)
    return "\n".join(lines)


@pytest.fixture
def nginx(cluster: Cluster, tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).is_file():
        unavailable("nginx not installed (Debian package 'nginx'; see .ci/run)")
    # nginx serves /assets/ from <root>/assets: the built dashboard when present, else a stand-in
    root = tmp_path / "web"
    if (DIST / "assets").is_dir():
        shutil.copytree(DIST, root)
    else:
        (root / "assets").mkdir(parents=True)
        (root / "assets" / "app-0123abcd.js").write_text("console.log('aegis')")
    port = free_port()
    run = tmp_path / "nginx"
    run.mkdir()
    main = run / "nginx.conf"
    main.write_text(
        f"""
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
user root;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {run}/access.log;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
{rendered_conf([p for _, p in cluster.servers], port, root)}
}}
"""
    )
    test = subprocess.run([binary, "-t", "-c", str(main)], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen(
        [binary, "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "nginx")
        yield port
    finally:
        proc.terminate()
        proc.wait(15)


def check_rest_with_gzip_and_no_server_version(nginx: int) -> None:
    r = httpx.get(
        f"http://127.0.0.1:{nginx}/api/v1/companies",
        params={"keyword": "삼성", "limit": 100},
        headers={"Accept-Encoding": "gzip"},
        timeout=30,
    )
    assert r.status_code == 200
    assert any(c["name"] == "삼성전자" for c in r.json()["data"])
    spec = httpx.get(f"http://127.0.0.1:{nginx}/openapi.json", timeout=30)  # a large body
    assert spec.status_code == 200
    assert spec.headers.get("content-encoding") == "gzip"
    assert r.headers["server"] == "nginx"  # server_tokens off: no version


def check_hashed_assets_cached_for_a_year(nginx: int) -> None:
    root_assets = sorted(
        (DIST / "assets").iterdir() if (DIST / "assets").is_dir() else [Path("app-0123abcd.js")]
    )
    name = root_assets[0].name
    r = httpx.get(f"http://127.0.0.1:{nginx}/assets/{name}", timeout=30)
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"]
    assert httpx.get(f"http://127.0.0.1:{nginx}/assets/missing.js", timeout=30).status_code == 404


async def check_websocket_ticks(nginx: int) -> None:
    async with connect(f"ws://127.0.0.1:{nginx}/ws/stocks", max_size=None) as ws:
        await ws.send(orjson.dumps({"action": "subscribe", "symbols": SYMBOLS}).decode())
        async with asyncio.timeout(WAIT_S):
            while True:
                msg = orjson.loads(await ws.recv())
                if isinstance(msg, dict) and msg.get("type") == "tick":
                    assert msg["symbol"] in SYMBOLS
                    break


async def check_sse_events_unbuffered(nginx: int) -> None:
    # Unbuffered: the first tick event arrives while the stream stays open; with buffering it
    # would wait for a full proxy buffer or the end of the response.
    url = f"http://127.0.0.1:{nginx}/api/stream/stocks"
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(WAIT_S)) as client,
        client.stream("GET", url, params={"symbols": ",".join(SYMBOLS)}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(WAIT_S):
            async for line in r.aiter_lines():
                if line.startswith("data:") and '"tick"' in line:
                    break


async def ticks_flowing(cluster: Cluster) -> None:
    """The ingester seeds history before its sources start: wait for its first stored ticks."""
    conn = await asyncpg.connect(cluster.database_url)
    try:
        async with asyncio.timeout(FIRST_TICK_S):
            while True:
                if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM ticks)"):
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"no tick stored within {FIRST_TICK_S} s\n{cluster.logs()}")
    finally:
        await conn.close()


async def test_one_origin_serves_rest_assets_websocket_and_sse_through_nginx(
    nginx: int, cluster: Cluster
) -> None:
    # one cluster for all four: starting PostgreSQL-backed processes is the slow part
    await ticks_flowing(cluster)
    await check_sse_events_unbuffered(nginx)
    await check_websocket_ticks(nginx)
    check_rest_with_gzip_and_no_server_version(nginx)
    check_hashed_assets_cached_for_a_year(nginx)
