"""Price alerts per user, evaluated on the tape: above/below a price, ±N % on the day (from the
previous close), RSI(14) of 1-minute closes below/above a level, and a golden/dead cross of the
5- and 20-period averages of 1-minute closes. An alert fires once (then it is inactive) through
the events channel (``/ws/events``, Telegram)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z, now_us
from aegis.db.metadata import is_integer_id
from aegis.domain.ticks import Tick
from aegis.trading import tables
from aegis.trading.feed import EventFeed
from aegis.trading.views import PriceBoard

log = logging.getLogger(__name__)

# Every active alert is checked on each of its symbol's trades: one user cannot pile up
# thousands of them (a fired or deleted alert frees its place).
MAX_ACTIVE_PER_USER = 100

KINDS = {
    "ABOVE": "가격 이상",
    "BELOW": "가격 이하",
    "CHANGE_PCT": "등락률 도달",
    "RSI_BELOW": "RSI 이하",
    "RSI_ABOVE": "RSI 이상",
    "GOLDEN_CROSS": "골든크로스(5/20)",
    "DEAD_CROSS": "데드크로스(5/20)",
}
MINUTE = 60_000_000


@dataclass(slots=True)
class Alert:
    alert_id: int
    user_id: int
    symbol: str
    kind: str
    value: float
    active: bool = True
    created_at: int = 0
    triggered_at: int | None = None
    triggered_price: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "alertId": self.alert_id,
            "symbol": self.symbol,
            "kind": self.kind,
            "value": self.value,
            "active": self.active,
            "createdAt": iso_z(self.created_at),
            "triggeredAt": None if self.triggered_at is None else iso_z(self.triggered_at),
            "triggeredPrice": self.triggered_price,
        }


@dataclass
class _Series:
    """1-minute closes of a symbol (the last ``n``) with the current minute's last price."""

    closes: deque[int] = field(default_factory=lambda: deque(maxlen=64))
    minute: int | None = None
    last: int = 0

    def add(self, t: Tick) -> bool:
        """True when a minute closed."""
        m = t.ts // MINUTE
        closed = self.minute is not None and m != self.minute
        if closed:
            self.closes.append(self.last)
        self.minute = m
        self.last = t.price
        return closed


def rsi(closes: list[int], n: int = 14) -> float | None:
    if len(closes) <= n:
        return None
    gains = losses = 0.0
    for a, b in zip(closes[-n - 1 : -1], closes[-n:], strict=True):
        gains += max(b - a, 0)
        losses += max(a - b, 0)
    if losses == 0:
        return 100.0
    return 100 - 100 / (1 + gains / losses)


def _ma(closes: list[int], n: int, back: int = 0) -> float | None:
    end = len(closes) - back
    if end < n:
        return None
    return sum(closes[end - n : end]) / n


class AlertBook:
    def __init__(self, db: AsyncEngine, feed: EventFeed, prices: PriceBoard) -> None:
        self.db = db
        self.feed = feed
        self.prices = prices
        self.alerts: dict[int, Alert] = {}
        self._by_symbol: dict[str, set[int]] = {}
        self._series: dict[str, _Series] = {}
        # alerts live in the one process holding the trading lease: a lock here serialises
        # every create, so two at once cannot both pass the per-user cap
        self._create_lock = asyncio.Lock()

    async def load(self) -> None:
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(sa.select(tables.alerts).where(tables.alerts.c.active))
            ).all()
        for r in rows:
            self._index(Alert(r.id, r.user_id, r.symbol, r.kind, r.value, True, r.created_at))

    def _index(self, a: Alert) -> None:
        self.alerts[a.alert_id] = a
        self._by_symbol.setdefault(a.symbol, set()).add(a.alert_id)

    async def create(self, user_id: int, symbol: str, kind: str, value: float) -> Alert:
        if kind not in KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}")
        if self.prices.last_price(symbol) is None and self.prices.prev_close(symbol) is None:
            raise InvalidRequest(f"unknown symbol {symbol!r}")
        if kind in ("ABOVE", "BELOW") and value <= 0:
            raise InvalidRequest("value is a price > 0")
        if kind in ("RSI_BELOW", "RSI_ABOVE") and not 0 < value < 100:
            raise InvalidRequest("value is an RSI level between 0 and 100")
        if kind == "CHANGE_PCT" and value == 0:
            raise InvalidRequest("value is a non-zero % change (e.g. 5 or -3)")
        async with self._create_lock:
            if sum(1 for a in self.alerts.values() if a.user_id == user_id) >= MAX_ACTIVE_PER_USER:
                raise InvalidRequest(
                    f"at most {MAX_ACTIVE_PER_USER} active alerts per user",
                    details={"limit": MAX_ACTIVE_PER_USER},
                )
            return await self._insert(user_id, symbol, kind, value)

    async def _insert(self, user_id: int, symbol: str, kind: str, value: float) -> Alert:
        ts = now_us()
        async with self.db.begin() as conn:
            res = await conn.execute(
                tables.alerts.insert().values(
                    user_id=user_id, symbol=symbol, kind=kind, value=value, active=True,
                    created_at=ts,
                )
            )  # fmt: skip
            pk = res.inserted_primary_key
            assert pk is not None
        a = Alert(int(pk[0]), user_id, symbol, kind, value, True, ts)
        self._index(a)
        return a

    async def of_user(self, user_id: int) -> list[Alert]:
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(tables.alerts)
                    .where(tables.alerts.c.user_id == user_id)
                    .order_by(tables.alerts.c.id.desc())
                )
            ).all()
        return [
            Alert(
                r.id,
                r.user_id,
                r.symbol,
                r.kind,
                r.value,
                r.active,
                r.created_at,
                r.triggered_at,
                r.triggered_price,
            )
            for r in rows
        ]

    async def delete(self, user_id: int, alert_id: int) -> None:
        if not is_integer_id(alert_id):  # names no row; passed to the driver it would overflow
            raise NotFound(f"no alert {alert_id}")
        async with self.db.begin() as conn:
            res = await conn.execute(
                tables.alerts.delete().where(
                    tables.alerts.c.id == alert_id, tables.alerts.c.user_id == user_id
                )
            )
        if not res.rowcount:
            raise NotFound(f"no alert {alert_id}")
        a = self.alerts.pop(alert_id, None)
        if a is not None:
            self._by_symbol.get(a.symbol, set()).discard(alert_id)

    def watches(self, symbol: str) -> bool:
        return bool(self._by_symbol.get(symbol))

    async def on_ticks(self, ticks: Sequence[Tick]) -> None:
        for t in ticks:
            ids = self._by_symbol.get(t.symbol)
            if not ids:
                continue
            s = self._series.setdefault(t.symbol, _Series())
            closed = s.add(t)
            for alert_id in list(ids):
                a = self.alerts[alert_id]
                desc = self._check(a, t, s, closed)
                if desc is not None:
                    await self._fire(a, t, desc)

    def _check(self, a: Alert, t: Tick, s: _Series, closed: bool) -> str | None:
        v = a.value
        if a.kind == "ABOVE" and t.price >= v:
            return f"{int(v):,}원 이상"
        if a.kind == "BELOW" and t.price <= v:
            return f"{int(v):,}원 이하"
        if a.kind == "CHANGE_PCT":
            prev = self.prices.prev_close(a.symbol)
            if prev:
                pct = (t.price - prev) * 100 / prev
                if (v > 0 and pct >= v) or (v < 0 and pct <= v):
                    return f"전일 대비 {pct:+.2f}%"
            return None
        if not closed:
            return None  # indicators move only when a minute closes
        closes = list(s.closes)
        if a.kind in ("RSI_BELOW", "RSI_ABOVE"):
            r = rsi(closes)
            if r is not None and (
                (a.kind == "RSI_BELOW" and r < v) or (a.kind == "RSI_ABOVE" and r > v)
            ):
                return f"RSI(14, 1분) {r:.1f}"
            return None
        f0, s0 = _ma(closes, 5), _ma(closes, 20)
        f1, s1 = _ma(closes, 5, 1), _ma(closes, 20, 1)
        if None in (f0, s0, f1, s1):
            return None
        assert f0 is not None and s0 is not None and f1 is not None and s1 is not None
        if a.kind == "GOLDEN_CROSS" and f1 <= s1 and f0 > s0:
            return "골든크로스 (1분봉 5/20 이동평균)"
        if a.kind == "DEAD_CROSS" and f1 >= s1 and f0 < s0:
            return "데드크로스 (1분봉 5/20 이동평균)"
        return None

    async def _fire(self, a: Alert, t: Tick, desc: str) -> None:
        a.active = False
        a.triggered_at, a.triggered_price = t.ts, t.price
        self._by_symbol[a.symbol].discard(a.alert_id)
        self.alerts.pop(a.alert_id, None)
        async with self.db.begin() as conn:
            await conn.execute(
                tables.alerts.update()
                .where(tables.alerts.c.id == a.alert_id)
                .values(active=False, triggered_at=t.ts, triggered_price=t.price)
            )
        self.feed.publish(
            a.user_id,
            {
                "type": "alert",
                "alertId": a.alert_id,
                "symbol": a.symbol,
                "kind": a.kind,
                "value": a.value,
                "price": t.price,
                "description": desc,
                "time": iso_z(t.ts),
            },
        )
