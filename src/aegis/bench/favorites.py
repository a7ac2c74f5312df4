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
    server_cpu_s: float = 0.0  # CPU time the server process spent during the phase
    wall_s: float = 0.0
    idle_cpu_per_s: float = 0.0  # the server's own background work (simulator, ingest)
    client_cpu_s: float = 0.0  # CPU time of this load generator during the phase

    @property
    def client_cpu_ms_per_request(self) -> float:
        """The load generator's own CPU per answered request: it shares the machine with the
        server, so it must stay well under the server's figure."""
        n = len(self.latencies_ms)
        return self.client_cpu_s * 1000 / n if n else float("nan")

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU per answered request, the idle server's background work subtracted: what a
        request costs whatever the machine's load (latency under overload is queueing; this
        says how many requests one core can serve)."""
        n = len(self.latencies_ms)
        net = self.server_cpu_s - self.idle_cpu_per_s * self.wall_s
        return max(0.0, net) * 1000 / n if n else float("nan")

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
    load_before: str = ""
    load_after: str = ""


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


class _Conn:
    """One keep-alive HTTP/1.1 connection with the least client work per request (no header
    objects, no redirects, no cookies): at 1,000 requests/s on a shared 2-core machine a full
    client library costs as much CPU as the server it measures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            i = head.lower().find(b"content-length:")
            length = int(head[i + 15 : head.index(b"\r\n", i)]) if i >= 0 else 0
            await self.reader.readexactly(length)
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.writer.close()
            self.writer = None
            raise


def _request(path: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()


async def _poll(
    host: str,
    port: int,
    requests: list[bytes],
    seconds: float,
    phase: Phase,
    connections: int = 64,
) -> None:
    """Each request once a second, start times spread over the first second, sent over
    ``connections`` keep-alive connections. Latency runs from the moment a request was due, so a
    server (or client) that falls behind shows as higher latencies rather than as fewer
    requests. The phase ends after ``seconds`` of wall time however slow the answers are."""
    n = len(requests)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    t0 = time.perf_counter()
    t_end = t0 + seconds

    async def schedule() -> None:
        k = 0
        while True:
            due = t0 + k / n
            if due >= t_end:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, requests[k % n]))
            k += 1
        for _ in range(connections):
            queue.put_nowait(None)

    async def worker() -> None:
        conn = _Conn(host, port)
        while (item := await queue.get()) is not None:
            due, req = item
            if time.perf_counter() > t_end + 30:
                phase.errors += 1  # never answered within the phase's grace period
                continue
            try:
                ok = await conn.get(req) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
            if ok:
                phase.latencies_ms.append((time.perf_counter() - due) * 1000)
            else:
                phase.errors += 1
        if conn.writer is not None:
            conn.writer.close()

    await asyncio.gather(schedule(), *(worker() for _ in range(connections)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _settle(base: str, timeout: float = 600.0) -> None:
    """Start measuring once the fresh server has simulated its previous sessions (start-up work
    in a background thread) and answers quickly 5 times in a row, so neither phase pays for
    start-up."""
    deadline = time.monotonic() + timeout
    fast = 0
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < deadline:
            sources = c.get("/api/v1/system/status").json()["data"]["sources"]
            details = sources[0].get("details") or {}
            if len(details.get("historySessions") or []) >= Settings().sim_history_sessions:
                break
            time.sleep(1)
        while fast < 5 and time.monotonic() < deadline:
            t0 = time.perf_counter()
            c.get("/api/v1/quotes", params={"symbols": ",".join(SYMBOLS)})
            fast = fast + 1 if time.perf_counter() - t0 < 0.05 else 0
            time.sleep(0.2)


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
            # what is measured is polling: no news archive seeding/collection competing for
            # the CPU and the database during the phases
            "AEGIS_NEWS_POLL_SECONDS": "0",
            # 1,000 users share one loopback IP here; the per-IP anonymous limit (meant for one
            # client) would turn the baseline into 429s. Still counted: both phases pay for it.
            "AEGIS_RATE_LIMIT_ANON": "10000000/minute",
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
                _request(
                    "/api/v1/users/favorites",
                    {"Authorization": f"Bearer {issuer.issue_access(uid, 0, 'bench')[0]}"},
                )
                for uid in ids
            ]
            quote_requests = [
                _request(
                    "/api/v1/quotes?symbols="
                    + ",".join(SYMBOLS[(k + j) % len(SYMBOLS)] for j in range(per_user)),
                    {},
                )
                for k in range(n_users)
            ]
            _settle(base)
            baseline, favs = Phase(), Phase()
            load_before = _loadavg()

            # the idle server's CPU per second (simulator, aggregator, ingest) over 5 s
            cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(5)
            idle = (_cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
            baseline.idle_cpu_per_s = favs.idle_cpu_per_s = idle

            async def load() -> None:
                for reqs, phase in ((quote_requests, baseline), (fav_requests, favs)):
                    cpu0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
                    client0 = time.process_time()
                    await _poll("127.0.0.1", port, reqs, seconds, phase)
                    phase.client_cpu_s = time.process_time() - client0
                    phase.server_cpu_s = _cpu_seconds(proc.pid) - cpu0
                    phase.wall_s = time.perf_counter() - t0

            asyncio.run(load())
            return FavoritesResult(
                n_users, seconds, per_user, baseline, favs, load_before, _loadavg()
            )
        finally:
            proc.terminate()
            proc.wait(20)
