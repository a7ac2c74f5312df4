"""``Market.quote_json`` reuses a symbol's quote row until the quote changes: after every kind
of change (fresh tick, late tick, restore, bulk batch, a new aggregator, the previous close set
in place, the instrument replaced) it equals the row built afresh."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from aegis.aggregator.engine import Aggregator
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick
from aegis.reference.instruments import load_instruments
from aegis.services.market import Market, quote_row

DAY = kst_midnight_us(__import__("datetime").date(2026, 3, 23))
H9 = 9 * 3600 * 1_000_000
SYM = "005930"


@pytest.fixture
def market() -> Market:
    return Market(store=None, instruments=load_instruments())  # type: ignore[arg-type]


def fresh(market: Market) -> bytes:
    q = market.quote(SYM)
    return b"null" if q is None else orjson.dumps(quote_row(q))


def check(market: Market) -> bytes:
    """The cached row (asked twice: built, then reused) equals the one built afresh."""
    inst = market.by_symbol[SYM]
    first = market.quote_json(inst)
    assert first == fresh(market)
    assert market.quote_json(inst) == first
    return first


def tick(ts: int, price: int, seq: int, volume: int = 10) -> Tick:
    return Tick(SYM, DAY + H9 + ts, price, volume, 1, seq, "sim")


def test_row_follows_every_change(market: Market) -> None:
    assert check(market) == b"null"  # no trade yet
    market.live.add_fresh([tick(0, 70_000, 1)])
    before = check(market)
    market.live.add_fresh([tick(1_000_000, 71_000, 2)])  # a fresh tick
    after = check(market)
    assert after != before and orjson.loads(after)["price"] == 71_000

    # a late tick changes the day's volume but not the last trade
    market.live.add_late([tick(500_000, 70_500, 3, volume=7)], {})
    late = check(market)
    assert orjson.loads(late)["volume"] == orjson.loads(after)["volume"] + 7

    # the source sets the previous close in place (a new session day)
    market.by_symbol[SYM].prev_close = 60_000
    assert orjson.loads(check(market))["prevClose"] == 60_000

    # the instrument replaced (a new listing)
    inst = market.by_symbol[SYM]
    market.set_instruments([replace(inst, name="삼성전자우")])
    assert orjson.loads(check(market))["name"] == "삼성전자우"

    # a restore and a new aggregator
    day = Candle(SYM, "1d", DAY, 100, 300, 50, 250, 10, 1000, 0, DAY, 0, DAY, 0, "import")
    prev = day.copy()
    prev.start, prev.close = DAY - 86_400_000_000, 200
    market.live.restore([day], {SYM: prev})
    assert orjson.loads(check(market))["prevClose"] == 200
    market.live = Aggregator()
    assert check(market) == b"null"
    market.live.restore([day], {SYM: prev})
    assert orjson.loads(check(market))["price"] == 250


def test_row_follows_a_bulk_batch(market: Market) -> None:
    market.live.add_fresh([tick(0, 70_000, 1)])
    check(market)
    bulk = market.live.split_bulk(
        TickArrays.from_ticks([tick(60_000_000 + k, 72_000 + k, 10 + k) for k in range(3)])
    )
    market.live.fold_bulk(bulk)
    market.live.apply_bulk(bulk)
    assert orjson.loads(check(market))["price"] == 72_002
