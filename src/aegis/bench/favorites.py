"""``aegis bench favorites``: N logged-in users each polling ``GET /users/favorites`` once a
second against a real ``aegis serve`` over loopback; the same clients polling the public
``/quotes`` of the same symbols first, as the baseline of the same run.

Users and favorites are written straight into the application database and access tokens are
minted with the server's secret: the benchmark measures polling, not a thousand argon2 sign-ups."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from aegis.accounts.tables import favorites, users
from aegis.accounts.tokens import TokenIssuer
from aegis.core.config import Settings
from aegis.db import create_app_engine
from aegis.store.migrate import upgrade

SYMBOLS = ["005930", "000660", "373220", "207940", "005380", "000270", "068270", "035420"]


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


@dataclass
class FavoritesResult:
    users: int
    seconds: float
    favorites_per_user: int
    baseline: Phase
    favorites: Phase


async def _seed(url: str, n: int, company_ids: list[int], per_user: int) -> list[int]:
    upgrade(url)
    engine = create_app_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            ids: list[int] = []
            for i in range(n):
                uid = await conn.scalar(
                    users.insert()
                    .values(
                        email=f"bench{i}@example.com",
                        username=f"bench{i}",
                        password_hash="!bench-user-cannot-log-in",
                        created_at=now,
                    )
                    .returning(users.c.id)
                )
                assert uid is not None
                ids.append(uid)
            await conn.execute(
                favorites.insert(),
                [
                    {
                        "user_id": uid,
                        "company_id": company_ids[(k + j) % len(company_ids)],
                        "created_at": now,
                    }
                    for k, uid in enumerate(ids)
                    for j in range(per_user)
                ],
            )
        return ids
    finally:
        await engine.dispose()


async def _poll(
    client: httpx.AsyncClient,
    requests: list[tuple[str, dict[str, str]]],
    seconds: float,
    phase: Phase,
) -> None:
    """Each (url, headers) once a second, start times spread over the first second. The phase
    ends after ``seconds`` of wall time however slow the answers are (an overloaded server
    shows as fewer requests and higher latencies, not as a run that never ends)."""
    n = len(requests)
    t_end = time.perf_counter() + seconds

    async def one(i: int, url: str, headers: dict[str, str]) -> None:
        start = time.perf_counter() + i / n
        k = 0
        while True:
            due = max(start + k, time.perf_counter())
            if due >= t_end:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            t0 = time.perf_counter()
            try:
                r = await client.get(url, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
            else:
                phase.errors += 1
            k += 1

    await asyncio.gather(*(one(i, u, h) for i, (u, h) in enumerate(requests)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(n_users: int = 1000, seconds: float = 20, per_user: int = 5) -> FavoritesResult:
    with tempfile.TemporaryDirectory() as d:
        secret = secrets.token_urlsafe(48)
        port = _free_port()
        env = {
            **os.environ,
            "AEGIS_DATA_DIR": d,
            "AEGIS_SOURCE": "sim",
            "AEGIS_SIM_SYMBOLS": ",".join(SYMBOLS),
            "AEGIS_LOG_LEVEL": "WARNING",
            "AEGIS_AUTH_SECRET": secret,
        }
        env.pop("AEGIS_DATABASE_URL", None)
        env.pop("AEGIS_REDIS_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "aegis", "serve", "--port", str(port)], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 120
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("aegis serve did not start")
                time.sleep(0.3)
            with httpx.Client(base_url=base) as c:
                company_ids = [
                    c.get("/api/v1/companies", params={"keyword": s}).json()["data"][0]["companyId"]
                    for s in SYMBOLS
                ]
            url = Settings(data_dir=Path(d)).app_db_url
            ids = asyncio.run(_seed(url, n_users, company_ids, per_user))
            issuer = TokenIssuer(secret.encode(), access_ttl_seconds=3600)
            fav_requests = [
                (
                    "/api/v1/users/favorites",
                    {"Authorization": f"Bearer {issuer.issue_access(uid, 0, 'bench')[0]}"},
                )
                for uid in ids
            ]
            quote_requests: list[tuple[str, dict[str, str]]] = [
                (
                    "/api/v1/quotes?symbols="
                    + ",".join(SYMBOLS[(k + j) % len(SYMBOLS)] for j in range(per_user)),
                    {},
                )
                for k in range(n_users)
            ]
            baseline, favs = Phase(), Phase()

            async def load() -> None:
                limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                    await _poll(client, quote_requests, seconds, baseline)
                    await _poll(client, fav_requests, seconds, favs)

            asyncio.run(load())
            return FavoritesResult(n_users, seconds, per_user, baseline, favs)
        finally:
            proc.terminate()
            proc.wait(20)
