"""Binance trade events → ticks with exact scaled-integer prices (10^-8)."""

from __future__ import annotations

from typing import Any

from aegis.core.errors import SourceError
from aegis.domain.ticks import BUY, SELL, Tick

SCALE = 8
SOURCE = "binance"


class MalformedEvent(SourceError):
    code = "SOURCE_MALFORMED"


def scaled(text: str, scale: int = SCALE) -> int:
    """Exact decimal text → integer of 10^-scale units; refuses anything it would round."""
    neg = text.startswith("-")
    body = text[1:] if neg else text
    whole, _, frac = body.partition(".")
    frac = frac.rstrip("0")
    if len(frac) > scale or not (whole or frac) or not (whole + frac).isdigit():
        raise MalformedEvent(f"not a {scale}-decimal number: {text!r}")
    unit: int = 10**scale
    value = int(whole or "0") * unit + int(frac.ljust(scale, "0") or "0")
    return -value if neg else value


def trade_tick(data: dict[str, Any]) -> Tick:
    """``seq`` is the trade id: unique per symbol and repeated by any replay or overlap."""
    try:
        return Tick(
            str(data["s"]).upper(),
            int(data["T"]) * 1000,  # ms → µs
            scaled(str(data["p"])),
            scaled(str(data["q"])),
            SELL if data["m"] else BUY,  # buyer is maker ⇒ the taker sold
            int(data["t"]),
            SOURCE,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"trade event without {exc}") from None
