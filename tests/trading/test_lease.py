"""One trading process at a time: the process holding the trading lease trades, another one
is a standby that refuses trading requests clearly and takes over when the holder stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.services.leader import FileLeadership, PostgresLock
from aegis.trading.lease import ROLE, TRADING_LOCK_KEY, TradingLease
from aegis.trading.service import TradingService
from tests.support.app import running_app
from tests.support.auth import auth_headers
from tests.trading.support import Board, until


def _lease(
    settings: Settings, db: AsyncEngine, log: list[str], name: str, leadership: Any
) -> TradingLease:
    async def start() -> TradingService:
        log.append(f"{name} starts")
        svc = TradingService(db, Board())
        await svc.start()
        return svc

    def publish(svc: TradingService | None) -> None:
        log.append(f"{name} {'trades' if svc else 'stops'}")

    return TradingLease(settings, start, publish, leadership=leadership)


async def test_standby_takes_over_when_the_holder_stops(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    log: list[str] = []
    path = tmp_path / "trading.lock"
    a = _lease(settings, app_db, log, "a", lambda: FileLeadership(path, role=ROLE))
    b = _lease(settings, app_db, log, "b", lambda: FileLeadership(path, role=ROLE))
    await a.start()
    await b.start()  # returns as a standby: it does not wait for the lease
    assert a.holding and not b.holding
    assert log == ["a starts", "a trades"]
    assert await b.holder() is not None and await a.holder() == "this process"
    await a.close()
    await until(lambda: b.holding, "the standby takes over")
    assert log == ["a starts", "a trades", "a stops", "b starts", "b trades"]
    await b.close()


async def test_a_holder_that_loses_its_postgres_session_stops_trading(
    app_db: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    log: list[str] = []

    def pg() -> PostgresLock:
        return PostgresLock(postgres_url, key=TRADING_LOCK_KEY, role=ROLE)

    a = _lease(settings, app_db, log, "a", pg)
    b = _lease(settings, app_db, log, "b", pg)
    await a.start()
    await b.start()
    assert a.holding and not b.holding
    conn = await asyncpg.connect(postgres_url)
    try:
        # the holder's session ends (a network cut, a killed backend): it must stop trading
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE 'aegis-trading %' AND state <> 'active'"
        )
    finally:
        await conn.close()
    await until(lambda: b.holding and not a.holding, "the standby takes over")
    # the lock is free the moment a's session ends: b may start while a is still noticing
    await until(lambda: "a stops" in log, "a stops trading")
    assert log[:2] == ["a starts", "a trades"]
    assert sorted(log[2:]) == ["a stops", "b starts", "b trades"]
    await a.close()
    await b.close()


def test_a_second_api_process_refuses_trading_while_the_first_trades(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, rt, _):
        h = auth_headers(client)
        assert client.get("/api/v1/portfolio", headers=h).status_code == 200
        assert rt.trading_lease is not None and rt.trading_lease.holding
        # another API process over the same data directory (not ingesting)
        with running_app(tmp_path, ingest=False) as (client2, rt2, _):
            assert rt2.trading is None
            r = client2.get("/api/v1/portfolio", headers=h)
            assert (r.status_code, r.json()["code"]) == (503, "TRADING_STANDBY")
            assert "standby" in r.json()["message"]
            assert r.json()["details"]["holder"]
