"""Shared by /companies/{id}/ohlcv and /candles/{code}: parse, query, serialize once."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query

from aegis.api.envelope import JSONBytes
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import parse_instant
from aegis.domain.intervals import ALLOWED_TEXT, PATTERN, Interval, parse_interval
from aegis.services.market import Market, candle_row

DEFAULT_LIMIT = 500
_MESSAGE = "과거 주가 데이터 조회를 성공하였습니다."
_TIME_TEXT = (
    "ISO 8601 with an offset (2026-01-02T09:00:00+09:00), a date (2026-01-02, KST midnight) or "
    "epoch seconds; years 1 to 9999"
)

# Documented, not enforced by FastAPI: parse_interval answers with the allowed list, and makes
# the name canonical (02m → 2m, 60m → 1h).
IntervalQuery = Annotated[
    str,
    Query(
        description=f"candle interval: {ALLOWED_TEXT}; spellings are normalised (02m → 2m)",
        json_schema_extra={"pattern": PATTERN},
        examples=["1m", "5m", "1h", "1d"],
    ),
]
StartQuery = Annotated[
    str | None,
    Query(description=f"first instant (inclusive): {_TIME_TEXT}", examples=["2026-03-20"]),
]
EndQuery = Annotated[
    str | None,
    Query(description=f"last instant (exclusive): {_TIME_TEXT}", examples=["2026-03-21"]),
]


def _instant(name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name}={text[:40]!r} is not a time between years 1 and 9999: use ISO 8601 "
            "(2026-01-02T09:00:00+09:00), a date (2026-01-02, KST) or epoch seconds"
        ) from exc


def _last_source(array: bytes) -> str | None:
    """The newest candle's source in a store-built array (objects end with their "source")."""
    at = array.rfind(b'"source":"')
    if at < 0:
        return None
    at += len(b'"source":"')
    return array[at : array.index(b'"', at)].decode()


def parse_query(
    interval: str, start: str | None, end: str | None, limit: int | None, max_limit: int
) -> tuple[Interval, int | None, int | None, int]:
    """The query of /ohlcv, validated: (interval, start µs, end µs, limit)."""
    iv = parse_interval(interval)
    if limit is None:
        limit = DEFAULT_LIMIT
    if limit < 1 or limit > max_limit:
        raise InvalidRequest(f"limit must be between 1 and {max_limit}", details={"max": max_limit})
    lo, hi = _instant("start", start), _instant("end", end)
    if lo is not None and hi is not None and lo >= hi:
        raise InvalidRequest("start must be before end")
    return iv, lo, hi, limit


async def candle_rows(
    market: Market, symbol: str, iv: Interval, lo: int | None, hi: int | None, limit: int
) -> list[dict[str, int | float | str | None]]:
    """The candles /ohlcv answers for this query, as wire dicts."""
    inst = market.instrument(symbol)
    rows = await market.candles(symbol, iv, lo, hi, limit)
    return [candle_row(c, inst) for c in rows]


async def candles_response(
    market: Market,
    symbol: str,
    interval: str,
    start: str | None,
    end: str | None,
    limit: int | None,
    max_limit: int,
) -> JSONBytes:
    iv, lo, hi, limit = parse_query(interval, start, end, limit, max_limit)
    symbol = market.instrument(symbol).symbol  # the listing's spelling (lower case is found)
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
    data = await candle_rows(market, symbol, iv, lo, hi, limit)
    body = {
        "status": 200,
        "message": _MESSAGE,
        "data": data,
        "meta": {
            "symbol": symbol,
            "interval": iv.name,
            "source": data[-1]["source"] if data else None,
        },
    }
    return JSONBytes(orjson.dumps(body))
