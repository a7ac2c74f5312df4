"""Wiring the trading service into a running process (called by ``services.runtime``)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.credentials.store import CredentialStore
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.trading.alerts import AlertBook
from aegis.trading.connect import LiveConnections
from aegis.trading.fees import DEFAULT_TAX_RATES, FeeSchedule, parse_tax_rates
from aegis.trading.notify import Notifier, TelegramClient
from aegis.trading.prices import MarketPrices
from aegis.trading.runs import StrategyRuns
from aegis.trading.service import TradingConfig, TradingService


def config_from(settings: Settings) -> TradingConfig:
    fees = FeeSchedule(
        Decimal(settings.trading_commission_rate),
        parse_tax_rates(
            DEFAULT_TAX_RATES if settings.trading_tax_rates is None else settings.trading_tax_rates
        ),
        parse_tax_rates(settings.trading_konex_tax_rates),
    )
    live_rate = settings.trading_live_commission_rate
    return TradingConfig(
        fees=fees,
        live_fees=None if live_rate is None else replace(fees, commission_rate=Decimal(live_rate)),
        paper_cash=settings.trading_paper_cash,
        broker_timeout=settings.trading_broker_timeout_seconds,
        duplicate_window_us=int(settings.trading_duplicate_window_seconds * 1_000_000),
    )


async def start_trading(
    settings: Settings, db: AsyncEngine, market: Market, hub: StreamHub
) -> TradingService:
    """The service takes the hub's decoded tick batches (no second bus subscription)."""
    prices = MarketPrices(market)
    service = TradingService(db, prices, config=config_from(settings), known_symbol=prices.tradable)
    # the market clock starts at the newest trade the market already knows
    service.paper.clock = max((q.last_ts for q in market.quotes()), default=0)
    await service.start()
    alerts = AlertBook(db, service.feed, prices)
    await alerts.load()
    service.tape_listeners.append(alerts.on_ticks)
    service.tape_filters.append(alerts.watches)
    hub.batch_listeners.append(service.feed_ticks)

    async def unhook() -> None:
        # a service closed while the process lives on (the trading lease was lost)
        with contextlib.suppress(ValueError):
            hub.batch_listeners.remove(service.feed_ticks)

    service.closers.append(unhook)
    service.alerts = alerts
    if settings.telegram_bot_token is not None:
        notifier = Notifier(
            db,
            service.feed,
            TelegramClient(settings.telegram_bot_token, settings.telegram_api_url),
            prices.name,
        )
        notifier.start()
        service.closers.append(notifier.close)
    live = LiveConnections(
        service,
        CredentialStore.from_settings(settings),
        rest_url=settings.kis_trading_rest_url,
        ws_url=settings.kis_trading_ws_url,
        timeout=settings.kis_trading_connect_timeout_seconds,
        reconcile_seconds=settings.trading_reconcile_seconds,
    )
    service.live = live
    service.closers.append(live.close)
    await live.restore()
    # strategies that were running before the restart run again (after the accounts are rebuilt)
    await StrategyRuns(service, settings.trading_strategies_dir).resume()
    return service
