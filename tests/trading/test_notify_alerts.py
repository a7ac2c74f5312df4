"""Telegram notifications against the fake (429 retry_after, refusals) and price alerts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading import alerts as alerts_module
from aegis.trading.alerts import AlertBook
from aegis.trading.feed import EventFeed
from aegis.trading.models import Side
from aegis.trading.notify import Notifier, NotifyError, TelegramClient, set_telegram
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.trading.support import SAMSUNG, Board, Desk, kst, make_users, market, tick


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    f = FakeTelegram()
    await f.start()
    try:
        yield f
    finally:
        await f.stop()


async def test_429_waits_retry_after_then_sends(tg: FakeTelegram) -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    tg.limit_next, tg.retry_after = 2, 7
    client = TelegramClient(SecretStr(TOKEN), tg.url, sleep=sleep)
    try:
        ids = await client.send(123456789, "[체결] 삼성전자 매수 3주 @71,500원")
    finally:
        await client.close()
    assert ids == [1] and waits == [7.0, 7.0] and tg.requests == 3


async def test_refusals_are_not_retried_and_long_texts_are_split(tg: FakeTelegram) -> None:
    client = TelegramClient(SecretStr(TOKEN), tg.url, sleep=lambda s: asyncio.sleep(0))
    bad = TelegramClient(SecretStr("999:wrong"), tg.url)
    try:
        with pytest.raises(NotifyError, match="chat not found"):
            await client.send(42, "hi")
        with pytest.raises(NotifyError, match="401"):
            await bad.send(123456789, "hi")
        assert tg.requests == 2
        assert len(await client.send(123456789, "가" * 5000)) == 2
        tg.limit_next = 10
        with pytest.raises(NotifyError, match="rate limited"):
            await client.send(123456789, "x")
    finally:
        await client.close()
        await bad.close()


async def test_fills_reach_opted_in_users_only(app_db: AsyncEngine, tg: FakeTelegram) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    client = TelegramClient(SecretStr(TOKEN), tg.url)
    notifier = Notifier(app_db, desk.service.feed, client, desk.board.name)
    notifier.start()
    try:
        await set_telegram(app_db, 1, "123456789", True)
        for user in (1, 2):
            acc = await desk.service.account_for(user)
            await desk.service.place(acc, market(Side.BUY, 3))
        await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 1))
        for _ in range(2000):
            if notifier.sent:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert [m["text"] for m in tg.messages] == [
            "[체결] 삼성전자 매수 3주 @71,500원 (수수료 32원)"
        ]
    finally:
        await notifier.close()


async def test_price_alerts_fire_once(app_db: AsyncEngine) -> None:
    await make_users(app_db, 2)
    feed = EventFeed()
    board = Board()
    book = AlertBook(app_db, feed, board)
    listener = feed.listen(1)
    above = await book.create(1, SAMSUNG, "ABOVE", 72_000)
    drop = await book.create(1, SAMSUNG, "CHANGE_PCT", -3)
    rsi = await book.create(1, SAMSUNG, "RSI_BELOW", 30)
    with pytest.raises(Exception, match="kind must be"):
        await book.create(1, SAMSUNG, "SIDEWAYS", 1)
    with pytest.raises(Exception, match="unknown symbol"):
        await book.create(1, "999999", "ABOVE", 1)
    await book.on_ticks([tick(SAMSUNG, 71_900, 1, kst(10, 0))])
    assert listener.queue.empty()
    await book.on_ticks([tick(SAMSUNG, 72_000, 1, kst(10, 0, 1))])
    msg = listener.queue.get_nowait()
    assert msg["alertId"] == above.alert_id and msg["price"] == 72_000
    await book.on_ticks([tick(SAMSUNG, 72_100, 1, kst(10, 0, 2))])
    assert listener.queue.empty()  # fired once
    # a falling minute series: RSI below 30 and -3 % from the 71,000 close
    price = 71_000
    for m in range(1, 31):
        price -= 100
        await book.on_ticks([tick(SAMSUNG, price, 1, kst(10, m))])
    fired = {listener.queue.get_nowait()["alertId"] for _ in range(listener.queue.qsize())}
    assert fired == {drop.alert_id, rsi.alert_id}
    listed = await book.of_user(1)
    assert all(not a.active for a in listed) and len(listed) == 3
    await book.delete(1, rsi.alert_id)
    with pytest.raises(Exception, match="no alert"):
        await book.delete(2, above.alert_id)


async def test_a_user_cannot_pile_up_alerts_past_the_cap_even_all_at_once(
    app_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every active alert is checked on each trade of its symbol: the cap holds for adds sent
    together, and a fired alert frees its place."""
    monkeypatch.setattr(alerts_module, "MAX_ACTIVE_PER_USER", 3)
    await make_users(app_db, 2)
    book = AlertBook(app_db, EventFeed(), Board())
    results = await asyncio.gather(
        *(book.create(1, SAMSUNG, "ABOVE", 80_000 + i * 100) for i in range(8)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 5 and all("at most 3 active alerts" in str(r) for r in refused)
    assert len(await book.of_user(1)) == 3
    await book.create(2, SAMSUNG, "ABOVE", 80_000)  # another user's cap is their own
    await book.on_ticks([tick(SAMSUNG, 80_000, 1, kst(10, 0))])  # fires user 1's first alert
    await book.create(1, SAMSUNG, "BELOW", 60_000)
    with pytest.raises(Exception, match="at most 3"):
        await book.create(1, SAMSUNG, "BELOW", 59_000)
