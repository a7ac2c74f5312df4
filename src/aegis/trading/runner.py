"""Running a strategy live or on paper: the same ``Strategy`` code as in backtests, fed from
the tape. Trades of the runner's symbols go to ``on_tick`` and build candles of its interval;
each closed candle goes to ``on_candle``. Orders the strategy asks for are placed through the
normal order path after the callback (every guard applies; a refusal is logged and published
as an event, never retried). Fills of its orders come back to ``on_fill``.

Which runners run is stored (``aegis.trading.runs``): after a restart every one that was
running starts again, its orders, positions and pending orders taken from the event log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aegis.core.errors import AegisError, InvalidRequest
from aegis.domain import krx
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import Tick
from aegis.trading.book import Account
from aegis.trading.models import OrderRequest, OrderType, Side
from aegis.trading.service import TradingService
from aegis.trading.strategies.base import Bar, Context, FillInfo, Strategy

log = logging.getLogger(__name__)


class LiveContext(Context):
    def __init__(self, runner: StrategyRunner) -> None:
        self.runner = runner
        self.symbols = runner.symbols
        self.params = runner.strategy.params

    def position(self, symbol: str) -> int:
        return self.runner.account.position_qty(symbol)

    def cash(self) -> int:
        return self.runner.account.available_cash()

    def equity(self) -> int:
        return int(self.runner.service.portfolio(self.runner.account)["totalValue"])

    def buy(self, symbol: str, quantity: int, price: int | None = None) -> None:
        self.runner.ask(symbol, Side.BUY, quantity, price)

    def sell(self, symbol: str, quantity: int, price: int | None = None) -> None:
        self.runner.ask(symbol, Side.SELL, quantity, price)


class StrategyRunner:
    def __init__(
        self,
        service: TradingService,
        account: Account,
        strategy: Strategy,
        symbols: list[str],
        interval: str = "1m",
        *,
        runner_id: int = 0,
    ) -> None:
        if not symbols:
            raise InvalidRequest("give at least one symbol")
        for s in symbols:
            if not service.known_symbol(s):
                raise InvalidRequest(f"unknown symbol {s!r}")
        try:
            iv = parse_interval(interval)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if iv.unit not in ("m", "h"):
            raise InvalidRequest("live strategies run on minute or hour candles")
        self.runner_id = runner_id  # the stored run's id (``aegis.trading.runs``)
        self.service = service
        self.account = account
        self.strategy = strategy
        self.symbols = list(dict.fromkeys(symbols))
        self.interval = iv
        self._wanted = set(self.symbols)
        self._bars: dict[str, list[int]] = {}  # symbol → [start, o, h, l, c, v]
        self._asks: list[OrderRequest] = []
        self.orders = 0
        self.refusals: list[str] = []
        self._ctx = LiveContext(self)
        self._task: asyncio.Task[None] | None = None
        self.started_at = 0  # UTC µs of the first start (kept across restarts)
        self.resumed = False

    def view(self) -> dict[str, Any]:
        return {
            "runnerId": self.runner_id,
            "strategy": self.strategy.name,
            "params": self.strategy.params,
            "symbols": self.symbols,
            "interval": self.interval.name,
            "orders": self.orders,
            "refusals": self.refusals[-20:],
            "resumed": self.resumed,
        }

    def start(self, *, resumed_from: Account | None = None, started_at: int = 0) -> None:
        """``resumed_from``: the account after a restart. What the run did before is in its
        event log: the orders it placed since ``started_at`` are counted, its positions and
        pending orders are the account's, and orders asked for in ``on_start`` are not placed
        again (they were placed at the first start)."""
        self.started_at = started_at
        try:
            self.strategy.on_start(self._ctx)
        except ValueError as exc:
            raise InvalidRequest(f"strategy {self.strategy.name}: {exc}") from exc
        if resumed_from is not None:
            self.resumed = True
            if self._asks:
                log.info(
                    "strategy %s resumed: %d order(s) from on_start not placed again",
                    self.strategy.name,
                    len(self._asks),
                )
            self._asks.clear()
            self.orders = sum(
                1
                for o in resumed_from.orders.values()
                if o.strategy == self.strategy.name and o.created_at >= started_at
            )
        self.service.tape_filters.append(self.watches)
        self.service.tape_listeners.append(self.on_ticks)
        listener = self.service.feed.listen(self.account.user_id)
        self._task = asyncio.create_task(self._fills(listener.queue), name="strategy-fills")
        self._listener = listener

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.service.tape_filters.remove(self.watches)
        with contextlib.suppress(ValueError):
            self.service.tape_listeners.remove(self.on_ticks)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.service.feed.close(self._listener)

    def watches(self, symbol: str) -> bool:
        return symbol in self._wanted

    def ask(self, symbol: str, side: Side, quantity: int, price: int | None) -> None:
        kind = OrderType.MARKET if price is None else OrderType.LIMIT
        if price is not None and price > 0:  # non-positive prices are refused as invalid
            # snapped to the grid the way the backtest does: never a worse price than asked
            price = krx.round_down(price) if side is Side.BUY else krx.round_up(price)
        self._asks.append(
            OrderRequest(symbol, side, kind, quantity, price, None, self.strategy.name)
        )

    async def on_ticks(self, ticks: Sequence[Tick]) -> None:
        bucket = self.interval.bucket  # KST-aligned, as stored candles: a 1d candle is a KST day
        for t in ticks:
            if t.symbol not in self._wanted:
                continue
            start = bucket(t.ts)
            bar = self._bars.get(t.symbol)
            if bar is not None and start > bar[0]:
                self._call(
                    self.strategy.on_candle,
                    Bar(t.symbol, bar[0], bar[1], bar[2], bar[3], bar[4], bar[5]),
                )
                bar = None
            if bar is None:
                self._bars[t.symbol] = [start, t.price, t.price, t.price, t.price, t.volume]
            else:
                bar[2] = max(bar[2], t.price)
                bar[3] = min(bar[3], t.price)
                bar[4] = t.price
                bar[5] += t.volume
            self._call(self.strategy.on_tick, t)
        await self._place()

    def _call(self, hook: Any, arg: Any) -> None:
        try:
            hook(self._ctx, arg)
        except Exception:
            log.exception("strategy %s failed in %s", self.strategy.name, hook.__name__)

    async def _place(self) -> None:
        asks, self._asks = self._asks, []
        for req in asks:
            try:
                await self.service.place(self.account, req)
                self.orders += 1
            except AegisError as exc:
                reason = exc.details.get("reason", exc.code)
                self.refusals.append(f"{req.side.value} {req.quantity} {req.symbol}: {reason}")
                self.service.feed.publish(
                    self.account.user_id,
                    {
                        "type": "strategy",
                        "runnerId": self.runner_id,
                        "strategy": self.strategy.name,
                        "message": f"order refused: {reason}",
                    },
                )

    async def _fills(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            m = await queue.get()
            if m.get("type") == "fill" and m.get("strategy") == self.strategy.name:
                self._call(
                    self.strategy.on_fill,
                    FillInfo(m["symbol"], m["side"], m["quantity"], m["price"], m["realizedPnl"]),
                )
                await self._place()
