"""Comparison storage on SQLite and PostgreSQL: ownership and the cascade from users."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.tables import users
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.intervals import Interval
from aegis.research import comparisons
from aegis.research.tables import comparison_companies
from aegis.services.market import Market


class _NoStore:
    pass


def market() -> Market:
    insts = [
        Instrument("005930", "삼성전자", "KOSPI", company_id=1),
        Instrument("000660", "SK하이닉스", "KOSPI", company_id=2),
        Instrument("035420", "NAVER", "KOSPI", company_id=3),
    ]
    return Market(_NoStore(), insts)  # type: ignore[arg-type]


async def new_user(engine: AsyncEngine, name: str) -> int:
    async with engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    users.insert()
                    .values(
                        email=f"{name}@example.com",
                        username=name,
                        password_hash="x",
                        is_admin=False,
                        created_at=datetime.now(UTC),
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
        )


async def test_users_see_only_their_own_and_deleting_a_user_cascades(app_db: AsyncEngine) -> None:
    m = market()
    alice, bob = await new_user(app_db, "alice"), await new_user(app_db, "bob")
    c = await comparisons.create(app_db, m, alice, " 반도체 ", [1, 2], "3m")
    assert c.name == "반도체" and c.period == "3M" and c.company_ids == (1, 2)
    assert [x.id for x in await comparisons.list_for(app_db, alice)] == [c.id]
    assert await comparisons.list_for(app_db, bob) == []
    with pytest.raises(NotFound):
        await comparisons.get(app_db, bob, c.id)
    with pytest.raises(NotFound):
        await comparisons.delete(app_db, bob, c.id)
    async with app_db.begin() as conn:
        await conn.execute(users.delete().where(users.c.id == alice))
    async with app_db.connect() as conn:
        left = (
            await conn.execute(sa.select(sa.func.count()).select_from(comparison_companies))
        ).scalar()
    assert left == 0


@pytest.mark.parametrize(
    ("ids", "period"), [([1], "1Y"), ([1, 1], "1Y"), ([1, 2], "2Y"), (list(range(1, 12)), "1Y")]
)
async def test_invalid_comparisons_write_nothing(
    app_db: AsyncEngine, ids: list[int], period: str
) -> None:
    user = await new_user(app_db, "carol")
    with pytest.raises(InvalidRequest):
        await comparisons.create(app_db, market(), user, "x", ids, period)
    assert await comparisons.list_for(app_db, user) == []


async def test_concurrent_creates_never_exceed_the_per_user_limit(
    app_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each create counted the user's comparisons, then inserted: creates racing past the count
    # all saw room for one more and all inserted, so the limit was exceeded
    monkeypatch.setattr(comparisons, "MAX_PER_USER", 3)
    user = await new_user(app_db, "erin")
    results = await asyncio.gather(
        *(comparisons.create(app_db, market(), user, f"c{i}", [1, 2]) for i in range(12)),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 3 and len(refused) == 9
    assert all(isinstance(r, InvalidRequest) and "at most 3" in str(r) for r in refused)
    assert sorted(c.id for c in await comparisons.list_for(app_db, user)) == sorted(
        c.id for c in made
    )


async def test_unknown_company_is_not_found(app_db: AsyncEngine) -> None:
    user = await new_user(app_db, "dave")
    with pytest.raises(NotFound):
        await comparisons.create(app_db, market(), user, "x", [1, 99], "1Y")


@pytest.mark.parametrize("comparison_id", [0, -1, 2**31, 2**63, 10**20])
async def test_deleting_a_comparison_id_outside_the_id_range_is_not_found(
    app_db: AsyncEngine, comparison_id: int
) -> None:
    # ids past the id column's range (int4 on PostgreSQL, int8 on SQLite) used to reach SQL and
    # fail with an overflow (a 500 over HTTP) instead of answering "no such comparison"
    alice = await new_user(app_db, "alice")
    with pytest.raises(NotFound):
        await comparisons.delete(app_db, alice, comparison_id)


class _DailyMarket(Market):
    """Scripted daily candles per symbol (close only) and no live quotes."""

    def __init__(self, closes: dict[str, dict[date, int]]) -> None:
        super().__init__(_NoStore(), market().by_symbol.values())  # type: ignore[arg-type]
        self._closes = closes

    async def candles(
        self, symbol: str, interval: Interval, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        out = []
        for d, close in sorted(self._closes.get(symbol, {}).items()):
            t = kst_midnight_us(d)
            out.append(
                Candle(symbol, "1d", t, close, close, close, close, 1, None, 1, t, 0, t, 0, "test")
            )
        return out[-limit:]


async def performance(
    engine: AsyncEngine, m: Market, c: comparisons.Comparison
) -> list[dict[str, Any]]:
    lines = (await comparisons.detail(engine, m, c))["performance"]
    assert isinstance(lines, list)
    return lines


async def test_performance_lines_are_100_on_the_first_day_every_company_traded(
    app_db: AsyncEngine,
) -> None:
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(12) if i % 7 < 5]
    # 000660 has no bars before the fourth session and none on the seventh (a halt)
    samsung = {d: 1000 + 100 * i for i, d in enumerate(days)}
    hynix = {d: 2000 + 50 * i for i, d in enumerate(days) if i >= 3 and i != 6}
    m = _DailyMarket({"005930": samsung, "000660": hynix})
    user = await new_user(app_db, "erin")
    c = await comparisons.create(app_db, m, user, "x", [1, 2], "1M")
    lines = {p["symbol"]: p for p in await performance(app_db, m, c)}
    base = days[3]
    for symbol, closes in (("005930", samsung), ("000660", hynix)):
        line = lines[symbol]
        # both lines are 100 on the same first day; after it each keeps its own sessions
        assert line["startDate"] == base.isoformat()
        own = [d for d in sorted(closes) if d >= base]
        assert [p["time"] for p in line["points"]] == [kst_midnight_us(d) // 10**6 for d in own]
        assert [p["value"] for p in line["points"]] == [
            round(closes[d] * 100 / closes[base], 2) for d in own
        ]


async def test_companies_that_never_traded_on_one_day_get_empty_lines_that_say_why(
    app_db: AsyncEngine,
) -> None:
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(5)]
    m = _DailyMarket({"005930": {d: 1000 for d in days[:2]}, "000660": {d: 2000 for d in days[3:]}})
    user = await new_user(app_db, "frank")
    c = await comparisons.create(app_db, m, user, "x", [1, 2], "1M")
    for line in await performance(app_db, m, c):
        assert line["points"] == [] and line["startDate"] is None
        assert line["reason"] == "비교 기업들과 함께 거래된 날이 없습니다."
