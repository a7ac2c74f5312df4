"""The KIS broker against the local fake: orders, refusals, lost answers, partial fills via
encrypted notices, a dropped notice stream, paging, reconciliation."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.core.errors import BrokerError
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.source import kis_urls, open_kis_rest
from aegis.trading.book import Account, FillAdjustment
from aegis.trading.brokers import kis
from aegis.trading.brokers.kis import (
    EXPIRY_GRACE_US,
    FillNoticeDecoder,
    KisAccount,
    KisTrading,
    decrypt,
    parse_notice,
)
from aegis.trading.connect import LiveConnections
from aegis.trading.eventlog import fill_data
from aegis.trading.fees import FeeSchedule
from aegis.trading.live import LiveAccount
from aegis.trading.models import OrderStatus, SafetyState, Side
from aegis.trading.runtime import config_from
from aegis.trading.service import TradingConfig
from aegis.trading.session import day_order_close
from tests.fakes.kis_trading import APP_KEY, APP_SECRET, HTS_ID, FakeKisTrading, FakeOrder
from tests.trading.support import (
    SAMSUNG,
    Desk,
    figures,
    kst,
    limit,
    live_account,
    safety,
    status,
    until,
)

KEY = "Zx8pQ2rT5vW7yA1bC3dE5fG7hJ9kL1mN"
IV = "a1B2c3D4e5F6g7H8"
FILL_CT = (
    "kvCNYqP9pwDByn7z0mirG+Efkzs2e2gqBD/08cTgA8Z+WmgWXUy/aZ0WTKis+f1xxi8Zv7FkXvHwlEZTXzIYcAGrrSWO"
    "NqCuUbrGN+qx+7xvShAfdY9OaIv7sXBZtJhUM+DtCd1omfIMAFJPUADowlmqX4ZfCSUWxxXlvlc1VOM="
)


def test_fill_notice_decrypts_the_documented_vector() -> None:
    plain = decrypt(FILL_CT, KEY, IV)
    (n,) = parse_notice(plain)
    assert (n.odno, n.orgno, n.side, n.symbol) == ("0000117057", "91252", Side.BUY, "005930")
    assert (n.quantity, n.price, n.time, n.is_fill, n.rejected) == (
        3,
        71_500,
        "093015",
        True,
        False,
    )


def test_decoder_takes_key_from_the_subscribe_reply_and_old_layouts_parse() -> None:
    d = FillNoticeDecoder()
    with pytest.raises(ValueError):
        d.feed(f"1|H0STCNI0|001|{FILL_CT}")
    reply = '{"header":{"tr_id":"H0STCNI0","encrypt":"Y"},"body":{"rt_cd":"0","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"%s","key":"%s"}}}'  # noqa: E501
    assert d.feed(reply % (IV, KEY)) == []
    assert d.feed(f"1|H0STCNI0|001|{FILL_CT}")[0].quantity == 3
    old = (
        "id^5012345601^0000000001^0^01^0^00^0^000660^5^180000^100000^0^2^2^91252^5^x^y^0^^nm^180000"
    )
    (n,) = parse_notice(old)
    assert (n.side, n.symbol, n.quantity, n.is_fill) == (Side.SELL, "000660", 5, True)


async def _connect(
    app_db: AsyncEngine,
    fake: FakeKisTrading,
    tmp_path: Path,
    config: TradingConfig | None = None,
    broker_timeout: float = 1.0,
    paper: bool = True,
) -> tuple[Desk, LiveAccount]:
    desk = Desk(app_db, config or TradingConfig(broker_timeout=broker_timeout))
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1, "kis")
    live = live_account(desk, fake, tmp_path, acc, paper=paper)
    await live.start()
    await until(lambda: live.stream.connections >= 1, "notice subscription")
    return desk, live


async def test_order_partial_fills_lost_notice_and_reconnect(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    desk, live = await _connect(app_db, fake, tmp_path)
    try:
        acc = live.account
        assert acc.cash == 10_000_000  # adopted from the balance
        o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.status is OrderStatus.ACCEPTED and o.broker_order_id == "91252:0000117001"
        assert fake.notice_subs == [HTS_ID]
        await fake.fill("0000117001", 3, 71_500)
        await until(lambda: o.filled_quantity == 3, "the first notice")
        assert status(o) is OrderStatus.PARTIALLY_FILLED
        # 7 more fill while the notice stream is down: the notice is lost
        await fake.fill("0000117001", 7, 71_500, notify=False)
        await fake.drop_notices()
        await until(lambda: live.stream.connections >= 2, "the reconnect")
        await until(lambda: o.status is OrderStatus.FILLED, "reconciliation after reconnect")
        assert acc.positions[SAMSUNG].quantity == 10 and fake.order_posts == 1
        # same fees both sides: the books agree with the broker to the won
        assert live.last_result == {"ok": True, "differences": []}
        assert acc.cash == fake.cash
    finally:
        await live.close()


async def test_refusal_timeouts_and_cancel(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        fake.refuse_next = ("40250000", "모의투자 주문가능금액이 부족합니다.")
        refused, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500))
        assert refused.status is OrderStatus.REJECTED
        assert refused.reason == "40250000: 모의투자 주문가능금액이 부족합니다."

        fake.hang_next = "after"  # taken, answer lost
        taken, _ = await svc.place(acc, limit(Side.BUY, 2, 71_000))
        fake.hang_next = "before"  # never taken
        lost, _ = await svc.place(acc, limit(Side.BUY, 3, 70_900))
        assert taken.status is OrderStatus.UNKNOWN and lost.status is OrderStatus.UNKNOWN
        assert fake.order_posts == 3  # each sent once, none retried
        await live.reconcile()
        assert status(taken) is OrderStatus.ACCEPTED and taken.broker_order_id is not None
        assert status(lost) is OrderStatus.CANCELLED and lost.reason == "NOT_AT_BROKER"

        await svc.cancel(acc, taken.order_id)
        assert status(taken) is OrderStatus.CANCELLED and fake.cancel_posts == 1
        assert fake.orders[taken.broker_order_id.split(":")[1]].cancelled
        assert acc.reserved_cash() == 0
    finally:
        await live.close()


async def test_buyable_balance_paging_and_mismatch_halt(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    fake.positions = {"000660": (2, 360_000), SAMSUNG: (5, 357_500), "035420": (1, 200_000)}
    _, live = await _connect(app_db, fake, tmp_path)
    try:
        cash, qty = await live.client.buyable(SAMSUNG, 71_500)
        assert cash == 10_000_000 and qty == 139
        bal = await live.client.balance()  # 4 rows over 2 pages; the sold-out row dropped
        assert sorted(bal.positions) == ["000660", "005930", "035420"]
        assert bal.positions[SAMSUNG].average_price == 71_500
        assert live.account.positions[SAMSUNG].quantity == 5  # adopted
        fake.positions["000660"] = (1, 180_000)  # sold outside AEGIS
        await live.reconcile()
        assert live.account.state is SafetyState.HALTED
        assert live.last_result == {
            "ok": False,
            "differences": [{"field": "position", "symbol": "000660", "ours": 2, "broker": 1}],
        }
    finally:
        await live.close()


async def test_an_order_kis_took_stays_open_when_the_daily_inquiry_does_not_show_it(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order KIS acknowledged with an order number is at the broker: a daily inquiry
    that does not list it (beyond the pages read, or KIS paper's empty answer) must not
    close it as NOT_AT_BROKER, which released its cash and dropped its later fills."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    fake.page_size = 1  # pages of one row, and only 2 of them read: the 3rd order is beyond
    monkeypatch.setattr(kis, "MAX_PAGES", 2)
    try:
        orders = []
        for i in range(3):
            o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid=f"c{i}"))
            orders.append(o)
        await live.reconcile()
        assert all(status(o) is OrderStatus.ACCEPTED for o in orders)
        last = orders[-1]
        assert last.broker_order_id is not None
        await fake.fill(last.broker_order_id.split(":")[1], 1, 71_500)
        await until(lambda: last.filled_quantity == 1, "the fill of the 3rd order")
        fake.daily_rows_hidden = True
        await live.reconcile()
        assert all(o.working for o in orders[:-1])
        assert acc.reserved_cash() == 2 * acc.fees.buy_hold(71_500)
    finally:
        await live.close()


async def test_a_live_day_order_left_open_at_the_close_expires_and_frees_its_cash(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """KIS day orders end with the session: one still showing a remainder in the daily
    inquiry after the close is EXPIRED (its fills kept), not held open for ever."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        o, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 4, 71_500, notify=False)
        await live.reconcile()
        assert status(o) is OrderStatus.PARTIALLY_FILLED
        # past the close the order works until (the same day, or the next session when the
        # suite runs after the close or on a weekend)
        live.broker.clock = lambda: day_order_close(o.created_at) + EXPIRY_GRACE_US + 1
        await live.reconcile()
        assert status(o) is OrderStatus.EXPIRED and o.filled_quantity == 4
        assert acc.reserved_cash() == 0 and live.last_result == {"ok": True, "differences": []}
    finally:
        await live.close()


async def test_a_lost_answer_is_not_matched_to_another_of_our_orders(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Two identical orders in the same second, the second's answer lost: the look-up by
    content must not take the first order's row (already ours), or both orders share one
    order number and its fills are booked twice."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        first, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid="a"))
        assert first.broker_order_id == "91252:0000117001"
        fake.orders["0000117001"].time = "235959"  # KIS took it in the second we send again
        fake.hang_next = "after"
        second, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid="b"))
        assert second.status is OrderStatus.UNKNOWN
        await live.reconcile()
        assert second.broker_order_id == "91252:0000117002"
        await fake.fill("0000117001", 1, 71_500)
        await until(lambda: first.filled_quantity == 1, "the first order's fill")
        await live.reconcile()
        assert second.filled_quantity == 0 and acc.position_qty(SAMSUNG) == 1
    finally:
        await live.close()


async def test_orders_and_the_kill_switch_keep_to_the_kis_paper_rate_limit(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """KIS paper takes 2 calls a second per app key and refuses the rest with EGW00201. Order
    POSTs are never retried, so orders in a burst (a strategy on several symbols) were
    REJECTED and the kill switch left orders open; the client now paces its calls."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    fake.rate_limit = 2
    try:
        orders = []
        for i in range(4):
            o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid=f"burst-{i}"))
            orders.append(o)
        assert [o.status for o in orders] == [OrderStatus.ACCEPTED] * 4
        failed = await svc.kill(acc)
        assert failed == [] and all(status(o) is OrderStatus.CANCELLED for o in orders)
        assert fake.cancel_posts == 4 and fake.throttled == 0
    finally:
        await live.close()


async def test_market_data_and_trading_on_one_app_key_share_its_rate_limit(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """KIS counts the calls of an app key whichever client makes them. Market data and
    trading each paced to the paper 2/s on their own made 4/s together: KIS refused the
    excess with EGW00201, and a refused order POST (never retried) was REJECTED."""
    # the orders wait for their slots behind the quotes (2 a second in all)
    desk, live = await _connect(app_db, fake, tmp_path, broker_timeout=10.0)
    svc, acc = desk.service, live.account
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-master-key"),
        kis_rest_url=fake.rest_url,
    )
    creds = BrokerCredentials(SecretStr(APP_KEY), SecretStr(APP_SECRET), paper=True)
    try:
        async with open_kis_rest(
            settings, creds, CredentialStore(tmp_path, "test-secret"), min_token_interval_s=0.0
        ) as rest:
            await rest.current_price(SAMSUNG)  # its token, before the clock starts
            fake.rate_limit = 2

            async def quotes() -> None:
                for _ in range(4):
                    await rest.current_price(SAMSUNG)

            async def orders() -> list[OrderStatus]:
                out = []
                for i in range(4):
                    o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid=f"q-{i}"))
                    out.append(o.status)
                return out

            _, placed = await asyncio.gather(quotes(), orders())
        assert placed == [OrderStatus.ACCEPTED] * 4
        assert fake.quotes == 5 and fake.order_posts == 4
        assert fake.throttled == 0 and rest.rate_limited == 0
    finally:
        await live.close()


async def test_a_lost_answer_is_found_among_the_newest_orders_of_a_busy_day(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """An order whose answer was lost is looked up by content in the day's orders. The
    look-up read 10 pages oldest first: on a busy day (orders from HTS/MTS on the same
    account) ours, among the newest, was beyond them and was wrongly closed NOT_AT_BROKER,
    its shares at the broker missing from our books."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        # placed earlier today outside AEGIS: 11 pages of 2 rows before ours
        for i in range(22):
            odno = f"{116_000 + i:010d}"
            symbol = SAMSUNG if i % 2 else "000660"
            fake.orders[odno] = FakeOrder(odno, symbol, "02", 5, 71_500, "000000")
        fake.hang_next = "after"  # KIS takes it, the answer is lost
        o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500))
        assert o.status is OrderStatus.UNKNOWN
        svc.config.broker_timeout = 10.0  # time for the old look-up's 10 pages at 2/s
        await live.reconcile()
        assert status(o) is OrderStatus.ACCEPTED and o.broker_order_id == "91252:0000117001"
        assert acc.reserved_cash() == acc.fees.buy_hold(71_500)
    finally:
        await live.close()


async def test_a_lost_answer_found_filled_keeps_its_order_number_and_is_not_booked_twice(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """An order whose answer was lost and that the look-up found already filled took the
    fills but not the order number (only a status change recorded it, and FILLED came from
    the fills). A later identical order whose answer was lost too then matched the same
    row: its fills were booked a second time."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        fake.hang_next = "after"
        first, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid="a"))
        await fake.fill("0000117001", 1, 71_500, notify=False)
        await live.reconcile()
        assert status(first) is OrderStatus.FILLED
        assert first.broker_order_id == "91252:0000117001"
        fake.orders["0000117001"].time = "235959"  # KIS took it in the second we send again
        fake.hang_next = "before"  # never taken
        second, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500, cid="b"))
        await live.reconcile()
        assert status(second) is OrderStatus.CANCELLED and second.reason == "NOT_AT_BROKER"
        assert acc.position_qty(SAMSUNG) == 1
        assert live.last_result == {"ok": True, "differences": []}
    finally:
        await live.close()


async def test_an_order_goes_before_queued_market_data_calls_on_the_shared_limit(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """With one limiter per app key, a burst of market-data calls (a gap fill pages through
    many) queued ahead of an order held it past the broker timeout at the paper 2/s: the
    order became UNKNOWN though it was never sent. Trading calls go first."""
    desk, live = await _connect(app_db, fake, tmp_path, broker_timeout=3.0)
    svc, acc = desk.service, live.account
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-master-key"),
        kis_rest_url=fake.rest_url,
    )
    creds = BrokerCredentials(SecretStr(APP_KEY), SecretStr(APP_SECRET), paper=True)
    try:
        async with open_kis_rest(
            settings, creds, CredentialStore(tmp_path, "test-secret"), min_token_interval_s=0.0
        ) as rest:
            await rest.current_price(SAMSUNG)  # its token first
            burst = asyncio.gather(*(rest.current_price(SAMSUNG) for _ in range(10)))
            await asyncio.sleep(0)  # the burst queues at the limiter first
            o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500))
            await burst
        assert o.status is OrderStatus.ACCEPTED and fake.order_posts == 1
        assert fake.quotes == 11
    finally:
        await live.close()


async def test_a_lost_answer_look_up_cut_short_by_its_page_bound_leaves_the_order_unknown(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows not read may hold the order: only a look-up that read back to the send time (or
    to the end) may close it NOT_AT_BROKER."""
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    monkeypatch.setattr(kis, "LOOKUP_PAGES", 1)
    try:
        fake.hang_next = "before"  # never taken
        o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500))
        # after it, from HTS: the same symbol and side, other quantities (3 rows, 2 pages)
        for i in range(3):
            odno = f"{118_000 + i:010d}"
            fake.orders[odno] = FakeOrder(odno, SAMSUNG, "02", 7, 71_500, "235959")
        svc.config.broker_timeout = 10.0  # time for the pages at 2/s
        await live.reconcile()
        assert status(o) is OrderStatus.UNKNOWN
        monkeypatch.setattr(kis, "LOOKUP_PAGES", 2)
        await live.reconcile()
        assert status(o) is OrderStatus.CANCELLED and o.reason == "NOT_AT_BROKER"
    finally:
        await live.close()


async def test_a_broker_charging_another_commission_is_adopted_not_halted(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The account's fee plan is 0.0140527 % (a common KIS online rate), ours assumed 0.015 %:
    after a buy the broker's cash is 68 won higher. Reconciliation used to halt the account.
    A cash-only difference within the fees of what traded since the books last agreed is the
    broker's commission: adopted (an event, the same after a restart), the account trades on."""
    fake.commission_rate = Decimal("0.000140527")
    desk, live = await _connect(app_db, fake, tmp_path)
    acc = live.account
    try:
        o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 10, 71_500)
        await until(lambda: o.status is OrderStatus.FILLED, "the fill notice")
        ours = acc.cash
        assert fake.cash - ours == 107 - 100  # 715,000 × 0.015 % vs × 0.0140527 %
        await live.reconcile()
        assert live.last_result == {"ok": True, "differences": [], "feeAdjustment": 7}
        assert acc.state is SafetyState.ACTIVE and acc.cash == fake.cash
    finally:
        await live.close()
    svc = await desk.restart()
    assert (await svc.account_for(1, "kis")).cash == fake.cash


async def test_a_cash_difference_beyond_the_fees_of_the_trades_still_halts(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Money that moved outside AEGIS (a withdrawal) is no commission: halted as before."""
    desk, live = await _connect(app_db, fake, tmp_path)
    acc = live.account
    try:
        o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 10, 71_500)
        await until(lambda: o.status is OrderStatus.FILLED, "the fill notice")
        fake.cash -= 100_000
        await live.reconcile()
        assert acc.state is SafetyState.HALTED and acc.cash == fake.cash + 100_000
    finally:
        await live.close()


def test_a_broker_commission_on_shares_sold_since_is_split_as_average_cost() -> None:
    """Two buys of 10, a sale of 10, then the broker's cash is 60 won short: 20 more
    commission on each fill. The sale took half of each buy's commissions (average cost), so
    half of the buys' extra goes into its realised P&L and half stays with the shares held:
    the books are what they would be had the broker's commission been booked at each fill."""
    acc = Account(1, 1, "kis", FeeSchedule())
    acc.apply(1, "account.opened", {"cash": 10_000_000}, 0)
    ts = kst(10, 0)

    def book(order_id: str, side: Side) -> None:
        new = {"orderId": order_id, "symbol": SAMSUNG, "side": side.value, "type": "LIMIT",
               "quantity": 10, "price": 10_000, "reservePrice": 10_000}  # fmt: skip
        acc.apply(2, "order.new", new, ts)
        fill = acc.fill_for(acc.orders[order_id], 10, 10_000, ts, f"{order_id}-1", "KOSPI")
        acc.apply(3, "order.fill", fill_data(fill), ts)

    for order_id, side in (("a", Side.BUY), ("b", Side.BUY), ("s", Side.SELL)):
        book(order_id, side)
    entries = acc.fee_entries(-60)
    assert entries is not None
    acc.apply(4, "account.fees_adjusted", {"difference": -60, "fills": entries}, ts)
    pos = acc.positions[SAMSUNG]
    # commissions 35 each: the sale takes 35 of the buys' 70, its own 35, tax 200
    assert (pos.fee_cost, pos.realized_pnl) == (35, -35 - 35 - 200)
    assert acc.fill_adjustments["s-1"] == FillAdjustment(20, -40)
    assert acc.cash == 10_000_000 - 200_070 + 100_000 - 35 - 200
    book("t", Side.SELL)
    assert acc.realized_total() == acc.cash - 10_000_000


async def test_more_cash_at_the_broker_than_our_commission_explains_still_halts(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """A broker charging less than our 107 won commission leaves at most 107 won more cash;
    500 won more (a small deposit) was within 0.25 % of the amount traded, so it was taken as
    a commission of −393 won. It is no commission: halted."""
    desk, live = await _connect(app_db, fake, tmp_path)
    acc = live.account
    try:
        o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 10, 71_500)
        await until(lambda: o.status is OrderStatus.FILLED, "the fill notice")
        fake.cash += 500
        await live.reconcile()
        assert acc.state is SafetyState.HALTED and acc.cash == fake.cash - 500
    finally:
        await live.close()


async def test_the_live_commission_rate_setting_books_the_broker_plan(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """``AEGIS_TRADING_LIVE_COMMISSION_RATE``: the live account books its broker's rate from
    the first fill, so the books agree to the won without an adjustment; paper keeps 0.015 %."""
    fake.commission_rate = Decimal("0.000140527")
    settings = Settings(data_dir=tmp_path, trading_live_commission_rate="0.000140527")
    config = config_from(settings)
    assert config.fees.commission_rate == Decimal("0.00015")
    config.broker_timeout = 1.0
    desk, live = await _connect(app_db, fake, tmp_path, config)
    acc = live.account
    try:
        o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
        assert o.broker_order_id is not None
        await fake.fill(o.broker_order_id.split(":")[1], 10, 71_500)
        await until(lambda: o.status is OrderStatus.FILLED, "the fill notice")
        assert acc.cash == fake.cash == 10_000_000 - 715_000 - 100
        await live.reconcile()
        assert live.last_result == {"ok": True, "differences": []}
    finally:
        await live.close()


def test_a_day_order_works_until_the_close_of_the_session_it_can_still_join() -> None:
    """Entered before the close: that day's 15:30. Entered after it, on a weekend or on a
    holiday: the next trading day's. An order KIS took at 16:00 was taken for EXPIRED at the
    next look (and every test here failed when the suite ran after 15:35 KST)."""
    tue, wed = date(2026, 3, 3), date(2026, 3, 4)
    assert day_order_close(kst(10, 0, day=tue)) == kst(15, 30, day=tue)
    assert day_order_close(kst(15, 29, 59, day=tue)) == kst(15, 30, day=tue)
    assert day_order_close(kst(15, 30, day=tue)) == kst(15, 30, day=wed)
    assert day_order_close(kst(20, 0, day=tue)) == kst(15, 30, day=wed)
    # Saturday: Monday 03-02 is the substitute holiday of 삼일절, so Tuesday
    assert day_order_close(kst(11, 0, day=date(2026, 2, 28))) == kst(15, 30, day=tue)
    # 2026-10-09 (한글날, a Friday) is a KRX holiday: the next session is Monday 10-12
    assert day_order_close(kst(10, 0, day=date(2026, 10, 9))) == kst(15, 30, day=date(2026, 10, 12))


async def test_a_commission_adopted_from_the_broker_is_the_fills_commission_everywhere(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The broker charges 0.025 %, the books 0.015 %. The adopted difference changed cash
    only: the position's realised P&L and the trade log's commissions and P&L kept ours, so
    they no longer added up to the cash, and a buy's extra commission counted as realised
    P&L while its shares were still held. Now each fill since the books last agreed takes
    its share of the difference as commission: a held buy's goes into the position's fee
    cost (realised when sold), a sale's into its realised P&L; the same after a restart."""
    fake.commission_rate = Decimal("0.00025")
    desk, live = await _connect(app_db, fake, tmp_path)
    svc, acc = desk.service, live.account
    try:
        buy, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))
        assert buy.broker_order_id is not None
        odno = buy.broker_order_id.split(":")[1]
        await fake.fill(odno, 4, 71_500)
        await until(lambda: buy.filled_quantity == 4, "the first fill")
        await fake.fill(odno, 6, 71_500)
        await until(lambda: buy.filled_quantity == 10, "the second fill")
        await live.reconcile()
        # ours 42 + 64, the broker's 71 + 107 (286,000 and 429,000 × 0.025 %)
        assert live.last_result == {"ok": True, "differences": [], "feeAdjustment": -72}
        assert acc.cash == fake.cash == 10_000_000 - 715_000 - 178
        held = await figures(svc, acc)
        assert held["portfolio"]["realizedPnl"] == 0  # buy commissions count when sold
        assert [t["commission"] for t in held["trades"]] == [107, 71]

        sell, _ = await svc.place(acc, limit(Side.SELL, 10, 72_000))
        assert sell.broker_order_id is not None
        await fake.fill(sell.broker_order_id.split(":")[1], 10, 72_000)
        await until(lambda: sell.status is OrderStatus.FILLED, "the sale")
        await live.reconcile()
        assert live.last_result == {"ok": True, "differences": [], "feeAdjustment": -72}
        # 720,000 − 715,000 − buy commissions 178 − sell commission 180 − tax 1,440
        assert acc.cash == fake.cash == 10_000_000 + 3_202
        before = await figures(svc, acc)
        assert before["portfolio"]["realizedPnl"] == 3_202
        assert before["positions"][SAMSUNG]["realizedPnl"] == 3_202
        trades = before["trades"]
        assert [(t["side"], t["commission"], t["tax"]) for t in trades] == [
            ("SELL", 180, 1_440),
            ("BUY", 107, 0),
            ("BUY", 71, 0),
        ]
        assert sum(t["realizedPnl"] for t in trades) == 3_202
        flows = sum(
            (t["amount"] if t["side"] == "SELL" else -t["amount"]) - t["commission"] - t["tax"]
            for t in trades
        )
        assert flows == acc.cash - 10_000_000
    finally:
        await live.close()
    svc = await desk.restart()
    assert await figures(svc, await svc.account_for(1, "kis")) == before


def _market_settings(fake: FakeKisTrading, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-master-key"),
        kis_rest_url=fake.rest_url,
    )


async def test_market_data_and_trading_on_one_app_key_share_one_access_token(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """KIS issues one token a minute per app key (EGW00133), and any client of the key may
    use it. Market data and the live account each asked for and cached their own: the one
    that came second within the minute was refused (or waited a minute), and each side
    renewed on its own. Both now use the key's one token, also after a restart."""
    desk = Desk(app_db, TradingConfig(broker_timeout=5.0))
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1, "kis")
    creds = BrokerCredentials(SecretStr(APP_KEY), SecretStr(APP_SECRET), paper=True)
    store = CredentialStore(tmp_path, "test-secret")
    live = LiveAccount(
        desk.service, acc, creds, store, KisAccount.parse("50123456-01"), HTS_ID,
        rest_url=fake.rest_url, ws_url=fake.ws_url, reconcile_seconds=3600,
    )  # fmt: skip
    try:
        # both start at once, as at a server start with a live account connected
        async with open_kis_rest(_market_settings(fake, tmp_path), creds, store) as rest:
            _, quote = await asyncio.gather(live.start(), rest.current_price(SAMSUNG))
        assert quote["stck_prpr"] == "71500" and acc.cash == 10_000_000
        assert fake.token_requests == {APP_KEY: 1} and fake.token_refusals == 0
    finally:
        await live.close()

    async def next_process() -> None:
        # a fresh event loop shares nothing in memory with the first: only the disk cache
        store = CredentialStore(tmp_path, "test-secret")
        async with open_kis_rest(_market_settings(fake, tmp_path), creds, store) as rest:
            await rest.current_price(SAMSUNG)
        async with httpx.AsyncClient(base_url=fake.rest_url) as http:
            client = KisTrading(http, creds, KisAuth(http, creds, store), live.client.account)
            await client.balance()

    await asyncio.to_thread(asyncio.run, next_process())
    assert fake.token_requests == {APP_KEY: 1} and fake.token_refusals == 0


async def test_another_app_key_still_gets_its_own_token(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """Tokens are shared per app key only: market data on another key of the same customer
    asks for its own."""
    other = BrokerCredentials(SecretStr("PSotherKey"), SecretStr("otherSecret"), paper=True)
    fake.keys[other.app_key.get_secret_value()] = other.app_secret.get_secret_value()
    _, live = await _connect(app_db, fake, tmp_path)
    try:
        store = CredentialStore(tmp_path, "test-secret")
        async with open_kis_rest(_market_settings(fake, tmp_path), other, store) as rest:
            await rest.current_price(SAMSUNG)
        assert fake.token_requests == {APP_KEY: 1, "PSotherKey": 1}
        assert fake.tokens_issued == 2 and fake.token_refusals == 0
    finally:
        await live.close()


async def test_live_trading_and_market_data_use_the_same_kis_hosts_and_websocket_path(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The KIS hosts were written out in market data and in trading: one place now. The
    fill-notice stream connected to the WebSocket port's root, market data under the official
    samples' ``/tryitout`` (protocols.md §A.1): both under ``/tryitout`` now."""
    desk, live = await _connect(app_db, fake, tmp_path)
    try:
        assert fake.notice_paths == ["/tryitout"]
        conns = LiveConnections(desk.service, CredentialStore(tmp_path, "test-secret"))
        settings = Settings(data_dir=tmp_path / "data", secret_key=SecretStr("k"))
        paper = ("https://openapivts.koreainvestment.com:29443",
                 "ws://ops.koreainvestment.com:31000/tryitout")  # fmt: skip
        real = ("https://openapi.koreainvestment.com:9443",
                "ws://ops.koreainvestment.com:21000/tryitout")  # fmt: skip
        assert conns.hosts("paper") == kis_urls(settings, True) == paper
        assert conns.hosts("real") == kis_urls(settings, False) == real
    finally:
        await live.close()


async def test_a_balance_longer_than_ten_pages_is_read_to_its_end(
    app_db: AsyncEngine,
    fake: FakeKisTrading,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KIS pages the balance (50 rows real, 20 paper). It was read 10 pages at most: an
    account holding more was seen short, the books started without the positions past page 10,
    and our own buy of a symbol listed there halted the account on a false mismatch. It is
    read to the page KIS calls last now; a balance that never ends is an error, not a short
    read."""
    # 23 positions + a sold-out row: 12 pages of 2; Samsung bought below lists on the 12th
    fake.positions = {f"{1_000 + i:06d}": (1, 10_000) for i in range(23)}
    _, live = await _connect(app_db, fake, tmp_path, paper=False)  # real: 20 calls/s
    svc, acc = live.service, live.account
    try:
        assert len(acc.positions) == 23  # the books start from the whole balance
        o, _ = await svc.place(acc, limit(Side.BUY, 1, 71_500))
        await fake.fill("0000117001", 1, 71_500)
        await until(lambda: o.status is OrderStatus.FILLED, "the fill notice")
        await live.reconcile()
        assert live.last_result == {"ok": True, "differences": []}
        assert safety(acc) is not SafetyState.HALTED
        # a server that keeps saying "more": a clear error, no halt on a partial balance
        monkeypatch.setattr(kis, "BALANCE_PAGES", 5)
        with pytest.raises(BrokerError, match="past 5 pages; not read to its end"):
            await live.client.balance()
        await live.reconcile()
        assert safety(acc) is not SafetyState.HALTED
        assert any("past 5 pages" in r.getMessage() for r in caplog.records)
    finally:
        await live.close()
