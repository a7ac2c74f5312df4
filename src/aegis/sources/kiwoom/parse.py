"""Kiwoom realtime 0B (주식체결) entries → ticks (protocols.md §B.4)."""

from __future__ import annotations

from typing import Any

from aegis.core.errors import SourceError
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.sources.kis.parse import kst_instant_us

SOURCE = "kiwoom"


class MalformedPush(SourceError):
    code = "SOURCE_MALFORMED"


def trade_tick(entry: dict[str, Any], trading_day: str) -> Tick:
    """FID 10 price (sign = direction vs prior close, not part of the price), 15 trade qty
    (+ buy / − sell), 13 cumulative volume (our seq: a replay repeats it), 20 HHMMSS."""
    try:
        v = entry["values"]
        qty_text = str(v["15"])
        side = (
            BUY if qty_text.startswith("+") else SELL if qty_text.startswith("-") else UNKNOWN_SIDE
        )
        code = str(entry["item"]).split("_")[0]
        return Tick(code, kst_instant_us(trading_day, str(v["20"])), abs(int(v["10"])),
                    abs(int(qty_text)), side, int(v["13"]), SOURCE)  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPush(f"0B push without a usable {exc}") from None
