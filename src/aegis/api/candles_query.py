"""Shared by /companies/{id}/ohlcv and /candles/{code}: parse, query, serialize once."""

from __future__ import annotations

import orjson

from aegis.api.envelope import JSONBytes
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import parse_instant
from aegis.domain.intervals import parse_interval
from aegis.services.market import Market

DEFAULT_LIMIT = 500
_MESSAGE = "과거 주가 데이터 조회를 성공하였습니다."


def _instant(name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name}={text!r} is not a time: use ISO 8601 (2026-01-02T09:00:00+09:00), "
            "a date (2026-01-02, KST) or epoch seconds"
        ) from exc


def _last_source(array: bytes) -> str | None:
    """The newest candle's source in a store-built array (objects end with their "source")."""
    at = array.rfind(b'"source":"')
    if at < 0:
        return None
    at += len(b'"source":"')
    return array[at : array.index(b'"', at)].decode()


async def candles_response(
    market: Market,
    symbol: str,
    interval: str,
    start: str | None,
    end: str | None,
    limit: int | None,
    max_limit: int,
) -> JSONBytes:
    iv = parse_interval(interval)
    if limit is None:
        limit = DEFAULT_LIMIT
    if limit < 1 or limit > max_limit:
        raise InvalidRequest(f"limit must be between 1 and {max_limit}", details={"max": max_limit})
    lo, hi = _instant("start", start), _instant("end", end)
    if lo is not None and hi is not None and lo >= hi:
        raise InvalidRequest("start must be before end")
    inst = market.instrument(symbol)
    fast = await market.candles_json(symbol, iv, lo, hi, limit)
    if fast is not None:
        meta = orjson.dumps({"symbol": symbol, "interval": iv.name, "source": _last_source(fast)})
        # the store built the array: splice it into the envelope without re-parsing
        return JSONBytes(
            b'{"status":200,"message":"'
            + _MESSAGE.encode()
            + b'","data":'
            + fast
            + b',"meta":'
            + meta
            + b"}"
        )
    rows = await market.candles(symbol, iv, lo, hi, limit)
    pv, qv, av = inst.price_value, inst.qty_value, inst.amount_value
    data = [
        {
            "time": c.start // 1_000_000,
            "open": pv(c.open),
            "high": pv(c.high),
            "low": pv(c.low),
            "close": pv(c.close),
            "volume": qv(c.volume),
            "amount": av(c.amount),
            "source": c.source,
        }
        for c in rows
    ]
    body = {
        "status": 200,
        "message": _MESSAGE,
        "data": data,
        "meta": {
            "symbol": symbol,
            "interval": iv.name,
            "source": rows[-1].source if rows else None,
        },
    }
    return JSONBytes(orjson.dumps(body))
