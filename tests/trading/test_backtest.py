"""Backtests: next-candle fills, exact fees and tax, the built-ins, user strategies, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from aegis.core.errors import NotFound
from aegis.trading.backtest.engine import Backtest
from aegis.trading.backtest.runner import equity_png
from aegis.trading.strategies.base import Bar, Context, Strategy
from aegis.trading.strategies.builtin import BUILTINS
from aegis.trading.strategies.loader import load
from tests.trading.support import SAMSUNG, kst

DAY_US = 86_400_000_000


def bars(closes: list[int], symbol: str = SAMSUNG, opens: list[int] | None = None) -> list[Bar]:
    out = []
    for i, c in enumerate(closes):
        o = opens[i] if opens else c
        out.append(Bar(symbol, kst(9, 0) + i * DAY_US, o, max(o, c), min(o, c), c, 1_000))
    return out


class BuyOnceSellOnce(Strategy):
    name = "script"
    defaults: ClassVar[dict[str, Any]] = {"limit": None}

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        if bar.start == kst(9, 0):
            ctx.buy(bar.symbol, 10, self.params["limit"])
        elif bar.start == kst(9, 0) + 2 * DAY_US:
            ctx.sell(bar.symbol, ctx.position(bar.symbol))


def test_signal_on_close_fills_at_next_open_with_fees_and_tax() -> None:
    bt = Backtest(BuyOnceSellOnce(), [SAMSUNG])
    bt.run(
        {SAMSUNG: bars([70_000, 71_000, 72_000, 73_000], opens=[70_000, 70_500, 72_000, 72_500])}
    )
    buy, sell = bt.fills
    assert (buy["price"], buy["quantity"], buy["commission"]) == (70_500, 10, 105)
    # sell at the 4th bar's open: 725,000 → commission 108, tax 0.20 % = 1,450
    assert (sell["price"], sell["commission"], sell["tax"]) == (72_500, 108, 1_450)
    assert sell["realizedPnl"] == 725_000 - 705_000 - 105 - 108 - 1_450
    r = bt.report({"interval": "1d"})
    assert r["finalEquity"] == 10_000_000 + sell["realizedPnl"]
    assert r["trades"] == 2 and r["roundTrips"] == 1 and r["winRate"] == 1.0
    assert r["perSymbol"][0]["realizedPnl"] == sell["realizedPnl"]


def test_limit_order_fills_only_when_the_next_range_reaches_it() -> None:
    bt = Backtest(BuyOnceSellOnce(limit=70_000), [SAMSUNG])
    bt.run({SAMSUNG: bars([71_000, 71_500, 72_000], opens=[71_000, 71_200, 72_000])})
    assert bt.fills == []  # next bar's low 71,200 never reached 70,000
    bt = Backtest(BuyOnceSellOnce(limit=71_000), [SAMSUNG])
    bt.run({SAMSUNG: bars([71_000, 70_800, 72_000], opens=[71_000, 71_200, 72_000])})
    assert bt.fills[0]["price"] == 71_000  # the range 70,800–71,200 reached the limit


def test_drawdown_and_return_follow_the_equity_curve() -> None:
    bt = Backtest(BuyOnceSellOnce(), [SAMSUNG], initial_cash=1_000_000)
    bt.run(
        {SAMSUNG: bars([50_000, 50_000, 40_000, 40_000], opens=[50_000, 50_000, 45_000, 40_000])}
    )
    r = bt.report({"interval": "1d"})
    assert r["maxDrawdown"] < -0.09
    assert r["totalReturn"] < 0 and len(r["equityCurve"]) == 4


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtins_trade_on_a_swinging_series(name: str) -> None:
    swing = [70_000 + (i % 40 - 20) * 500 * (1 if (i // 40) % 2 else -1) for i in range(400)]
    bt = Backtest(load(name), [SAMSUNG])
    bt.run({SAMSUNG: bars(swing)})
    r = bt.report({"interval": "1d"})
    assert r["trades"] > 0
    assert r["candles"] == 400
    assert r["finalEquity"] == bt.equity()


def test_user_strategies_load_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        "from aegis.trading.strategies.base import Strategy\n"
        "class Hold(Strategy):\n"
        "    name = 'hold'\n"
        "    def on_candle(self, ctx, bar):\n"
        "        if not ctx.position(bar.symbol):\n"
        "            ctx.buy(bar.symbol, 1)\n"
    )
    strat = load("hold", tmp_path)
    bt = Backtest(strat, [SAMSUNG])
    bt.run({SAMSUNG: bars([70_000, 70_000, 70_000])})
    assert bt.account.position_qty(SAMSUNG) == 1
    with pytest.raises(NotFound):
        load("nope", tmp_path)


def test_report_chart_is_a_png() -> None:
    bt = Backtest(BuyOnceSellOnce(), [SAMSUNG])
    bt.run({SAMSUNG: bars([70_000, 71_000, 72_000, 73_000])})
    png = equity_png(bt.report({"interval": "1d"}))
    assert png.startswith(b"\x89PNG")


def test_report_metrics_match_a_hand_calculation() -> None:
    """Buy 10 at the 2nd open (100,000), sell at the 4th open (110,000); 2,000,000 won."""
    bt = Backtest(BuyOnceSellOnce(), [SAMSUNG], initial_cash=2_000_000)
    closes = [100_000, 100_000, 90_000, 110_000]
    bt.run({SAMSUNG: bars(closes, opens=[100_000, 100_000, 90_000, 110_000])})
    cash_after_buy = 2_000_000 - 1_000_000 - 150  # commission 0.015 % of 1,000,000
    final = cash_after_buy + 1_100_000 - 165 - 2_200  # sell commission, tax 0.20 % (2026)
    equity = [2_000_000, cash_after_buy + 1_000_000, cash_after_buy + 900_000, final]
    r = bt.report({"interval": "1d"})
    assert [p["equity"] for p in r["equityCurve"]] == equity
    assert r["finalEquity"] == final == 2_097_485
    assert r["totalReturn"] == round(final / 2_000_000 - 1, 6)
    assert r["maxDrawdown"] == round(equity[2] / 2_000_000 - 1, 6)  # -5.0075 %
    rets = [0.0, equity[1] / equity[0] - 1, equity[2] / equity[1] - 1, equity[3] / equity[2] - 1]
    mean = sum(rets) / 4
    sd = (sum((x - mean) ** 2 for x in rets) / 3) ** 0.5
    assert r["sharpe"] == round(mean / sd * 252**0.5, 4)
    # four calendar days, first to last inclusive
    assert r["cagr"] == round((final / 2_000_000) ** (365.25 / 4) - 1, 6)


def test_a_konex_symbol_pays_the_konex_sell_tax_in_backtests() -> None:
    bt = Backtest(BuyOnceSellOnce(), [SAMSUNG], markets={SAMSUNG: "KONEX"})
    bt.run(
        {SAMSUNG: bars([70_000, 71_000, 72_000, 73_000], opens=[70_000, 70_500, 72_000, 72_500])}
    )
    assert bt.fills[1]["tax"] == 725  # 725,000 × 0.10 %
