"""Connecting a live KIS account against the local fake: the keys are tested (token, then
the account's balance), stored sealed, restored after a restart; a bad key, a wrong account
or KIS being down is a clear error that stores nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.core.errors import (
    BrokerKeyRejected,
    BrokerUnreachable,
    InvalidRequest,
    NotFound,
    OrderConflict,
)
from aegis.core.logs import quiet_http_clients
from aegis.credentials.store import CredentialStore
from aegis.sources.common.backoff import Backoff
from aegis.sources.kis.source import open_kis_rest
from aegis.trading import tables
from aegis.trading.brokers.base import BrokerBalance
from aegis.trading.connect import LiveConnections, LiveKeys
from aegis.trading.models import OrderStatus, SafetyState, Side
from aegis.trading.service import LIVE, TradingConfig
from tests.fakes.http import free_socket
from tests.fakes.kis_trading import APP_KEY, APP_SECRET, HTS_ID, FakeKisTrading
from tests.trading.support import SAMSUNG, Desk, kst, limit, until

ADMIN = 1


def keys(key: str = APP_KEY, secret: str = APP_SECRET, account: str = "50123456-01") -> LiveKeys:
    return LiveKeys.parse(key, secret, account, HTS_ID, "paper")


def connections(desk: Desk, tmp_path: Path, rest: str, ws: str) -> LiveConnections:
    live = LiveConnections(
        desk.service,
        CredentialStore(tmp_path, "test-secret"),
        rest_url=rest,
        ws_url=ws,
        timeout=2.0,
        reconcile_seconds=3600,
        retry=Backoff(0.05, 0.2),
    )
    desk.service.live = live
    desk.service.closers.append(live.close)
    return live


async def stored(db: AsyncEngine) -> list[bytes]:
    async with db.connect() as conn:
        return list((await conn.execute(sa.select(tables.live_accounts.c.sealed))).scalars())


async def test_connect_stores_sealed_keys_and_restores_after_restart(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_http_clients()  # as at every start (``setup_logging``)
    caplog.set_level(logging.DEBUG)
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0))
    await desk.start()
    desk.open_market()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    status = await live.connect(ADMIN, keys())
    assert status["connected"] and status["stored"] and status["mode"] == "paper"
    assert status["account"] == "5012****-01"
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None and acc.cash == fake.cash  # the books start from the balance
    assert acc.account_id in desk.service.brokers
    await until(lambda: live.live[ADMIN].stream.connections >= 1, "the notice stream")
    (blob,) = await stored(app_db)
    for secret in (APP_KEY, APP_SECRET, "50123456", HTS_ID):
        assert secret.encode() not in blob  # sealed at rest
        assert secret not in str(status)
        assert secret not in caplog.text  # never logged

    # a new process: the stored connection goes live again by itself
    await desk.service.close()
    assert acc.account_id not in desk.service.brokers
    desk.service = type(desk.service)(desk.db, desk.board, config=desk.config)
    await desk.service.start()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    await live.restore()
    await until(lambda: ADMIN in live.live, "the restored connection")
    assert (await live.status(ADMIN))["connected"]
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None and acc.account_id in desk.service.brokers

    # disconnect: keys gone, broker detached, the account's history stays
    status = await live.disconnect(ADMIN)
    assert not status["stored"] and not status["connected"]
    assert await stored(app_db) == [] and acc.account_id not in desk.service.brokers
    assert desk.service.account_of_user(ADMIN, LIVE) is acc
    with pytest.raises(NotFound):
        await live.disconnect(ADMIN)
    await desk.service.close()


async def test_bad_key_wrong_account_and_kis_down_are_clear_and_store_nothing(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    desk = Desk(app_db)
    await desk.start()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    with pytest.raises(BrokerKeyRejected, match="refused the app key/secret"):
        await live.connect(ADMIN, keys(secret="wrong-secret"))
    # nothing listens on this port: KIS is down
    dead = free_socket()
    port = dead.getsockname()[1]
    dead.close()
    down = connections(desk, tmp_path, f"http://127.0.0.1:{port}", fake.ws_url)
    with pytest.raises(BrokerUnreachable, match="did not answer the token request: ConnectError"):
        await down.connect(ADMIN, keys())
    # a token is issued, then the balance inquiry refuses the account
    with pytest.raises(BrokerKeyRejected, match=r"account 5099\*\*\*\*-01: .*40240000"):
        await live.connect(ADMIN, keys(account="50999999-01"))
    assert await stored(app_db) == []
    assert desk.service.account_of_user(ADMIN, LIVE) is None  # no live account was opened
    assert not (await live.status(ADMIN))["stored"]
    await desk.service.close()


async def test_a_wrong_secret_is_refused_at_the_token_though_the_key_has_one_already(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The app key's token is shared with KIS market data on the same key: a connection
    test with the right key but a wrong secret must still hear it from tokenP (not pass the
    token step on the market data's token and blame the account at the balance)."""
    desk = Desk(app_db)
    await desk.start()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    settings = Settings(
        data_dir=tmp_path / "data", secret_key=SecretStr("k"), kis_rest_url=fake.rest_url
    )
    creds = keys().creds
    async with open_kis_rest(settings, creds, CredentialStore(tmp_path, "test-secret")) as rest:
        await rest.current_price(SAMSUNG)  # market data holds the key's token
        with pytest.raises(BrokerKeyRejected, match="refused the app key/secret") as err:
            await live.connect(ADMIN, keys(secret="wrong-secret"))
        assert err.value.details == {"step": "token"}
        # the right secret takes the token market data holds: no second tokenP
        await live.connect(ADMIN, keys())
    assert fake.token_requests == {APP_KEY: 1} and fake.token_refusals == 0
    await live.disconnect(ADMIN)
    await desk.service.close()


async def test_kis_answering_errors_is_unreachable_not_a_key_problem(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    """A gateway answering 500 without a token: the error says KIS failed, not the key."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.fakes.http import HttpServer

    async def broken(_: object) -> JSONResponse:
        return JSONResponse({"error_code": "EGW00500"}, 500)

    server = HttpServer(Starlette(routes=[Route("/oauth2/tokenP", broken, methods=["POST"])]))
    await server.start()
    try:
        desk = Desk(app_db)
        await desk.start()
        live = connections(desk, tmp_path, server.url, "ws://127.0.0.1:1")
        with pytest.raises(BrokerUnreachable, match="failed the token request"):
            await live.connect(ADMIN, keys())
        assert await stored(app_db) == []
        await desk.service.close()
    finally:
        await server.stop()


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidRequest, match="8 \\+ 2 digits"):
        LiveKeys.parse(APP_KEY, APP_SECRET, "1234", HTS_ID, "paper")
    with pytest.raises(InvalidRequest, match="required"):
        LiveKeys.parse(" ", APP_SECRET, "50123456-01", HTS_ID, "paper")
    with pytest.raises(InvalidRequest, match="HTS id"):
        LiveKeys.parse(APP_KEY, APP_SECRET, "50123456-01", "", "paper")
    with pytest.raises(InvalidRequest, match="mode"):
        LiveKeys.parse(APP_KEY, APP_SECRET, "50123456-01", HTS_ID, "demo")
    k = LiveKeys.parse(APP_KEY, APP_SECRET, "5012345601", HTS_ID, "real")
    assert APP_KEY not in repr(k) and "50123456" not in repr(k) and not k.creds.paper


async def test_a_live_account_opened_after_other_trading_starts_from_the_broker_balance(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Event ids are global to the log: an administrator who used paper trading first has a
    live account whose first event id is not 1. Its books must still start from the KIS
    balance, not from zero cash that reconciliation then finds off by the whole deposit."""
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0))
    await desk.start()
    desk.open_market()
    await desk.service.account_for(ADMIN)  # the paper account: events before the live one
    await desk.service.account_for(2)
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    status = await live.connect(ADMIN, keys())
    assert status["connected"] and status["error"] is None
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None and acc.cash == fake.cash == 10_000_000
    assert acc.state is SafetyState.ACTIVE
    await desk.service.close()


async def test_connecting_another_account_number_starts_its_books_from_its_own_balance(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Connecting a different KIS account (CANO/ACNT_PRDT_CD) kept the first account's cash
    and positions: the new account showed the old one's holdings, and reconciliation then
    halted it on the difference. Its books now start from its own balance; the first
    account's orders stay readable; a switch while orders are working is refused."""
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0))
    await desk.start()
    desk.open_market()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    await live.connect(ADMIN, keys())
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None and acc.cash == 10_000_000
    o, _ = await desk.service.place(acc, limit(Side.BUY, 3, 71_500))
    assert o.broker_order_id is not None
    fake.other_accounts["5099999801"] = (5_000_000, {"000660": (2, 360_000)})

    with pytest.raises(OrderConflict, match="working"):
        await live.connect(ADMIN, keys(account="50999998-01"))
    assert (await live.status(ADMIN))["account"] == "5012****-01"  # still the first one
    await fake.fill(o.broker_order_id.split(":")[1], 3, 71_500, notify=False)
    await live.live[ADMIN].reconcile()
    assert o.status is OrderStatus.FILLED and acc.position_qty(SAMSUNG) == 3

    status = await live.connect(ADMIN, keys(account="50999998-01"))
    assert status["connected"] and status["account"] == "5099****-01"
    assert desk.service.account_of_user(ADMIN, LIVE) is acc
    assert acc.cash == 5_000_000
    assert {s: p.quantity for s, p in acc.positions.items() if p.quantity} == {"000660": 2}
    assert live.live[ADMIN].last_result == {"ok": True, "differences": []}
    assert acc.state is SafetyState.ACTIVE
    assert acc.orders[o.order_id].filled_quantity == 3  # the first account's history stays

    # the same account again (a restart, a key rotation): its books are kept, not re-adopted
    fake.other_accounts["5099999801"] = (4_000_000, {"000660": (2, 360_000)})
    await live.connect(ADMIN, keys(account="50999998-01"))
    assert acc.cash == 5_000_000  # kept: the broker's 4 000 000 is a real difference
    assert live.live[ADMIN].last_result == {
        "ok": False,
        "differences": [{"field": "cash", "ours": 5_000_000, "broker": 4_000_000}],
    }
    await desk.service.close()


async def test_books_synced_before_accounts_were_told_apart_take_the_stored_keys_account(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Books synced by an older version carry no account fingerprint: the stored keys say
    which account they are of, so the same account keeps its books and another starts over."""
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0))
    await desk.start()
    desk.open_market()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    await live.connect(ADMIN, keys())
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None and acc.broker_account is not None
    # an older version's sync event: no brokerAccount
    await desk.service.adopt_balance(acc, BrokerBalance(10_000_000, {}))
    assert acc.broker_account is None and acc.synced
    await live.connect(ADMIN, keys())
    assert acc.broker_account is None  # the same account: nothing adopted
    fake.other_accounts["5099999801"] = (5_000_000, {})
    await live.connect(ADMIN, keys(account="50999998-01"))
    assert acc.cash == 5_000_000 and acc.broker_account is not None
    assert live.live[ADMIN].last_result == {"ok": True, "differences": []}
    await desk.service.close()


async def test_books_started_over_for_another_account_show_none_of_the_first_ones_pnl(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The first account sold at a profit today, then another account is connected in its
    place: its books start over, yet the day's P&L still carried the first account's sale
    while its realised P&L did not."""
    clock = iter(range(kst(10, 0), kst(15, 0), 1_000))
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0), wall=lambda: next(clock))
    await desk.start()
    desk.open_market()
    live = connections(desk, tmp_path, fake.rest_url, fake.ws_url)
    await live.connect(ADMIN, keys())
    acc = desk.service.account_of_user(ADMIN, LIVE)
    assert acc is not None
    for side, price in ((Side.BUY, 71_500), (Side.SELL, 72_500)):
        o, _ = await desk.service.place(acc, limit(side, 3, price))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 3, price, notify=False)
        await live.live[ADMIN].reconcile()
        assert o.status is OrderStatus.FILLED
    p = desk.service.portfolio(acc)
    assert p["realizedPnl"] == p["dayPnl"] > 0

    fake.other_accounts["5099999801"] = (5_000_000, {})
    await live.connect(ADMIN, keys(account="50999998-01"))
    p = desk.service.portfolio(acc)
    assert (p["cash"], p["realizedPnl"], p["dayPnl"]) == (5_000_000, 0, 0)
    await desk.service.close()
