"""Where market data come from: the ``source`` of every tick and candle."""

from __future__ import annotations

from typing import Final

SIM: Final = "sim"  # the simulator (and its replays of a past day)
KIS: Final = "kis"
KIWOOM: Final = "kiwoom"
BINANCE: Final = "binance"
IMPORT: Final = "import"  # `aegis import`, and the real history shipped with AEGIS
BACKFILL: Final = "backfill"  # `aegis backfill` from a broker's or exchange's history API
UNKNOWN: Final = "unknown"  # stored before sources were recorded (migration 0002)

LIVE_SOURCES: Final = frozenset({SIM, KIS, KIWOOM, BINANCE})
# Data the user brought in on purpose: live retention windows never remove it unless told to.
HISTORY_SOURCES: Final = frozenset({IMPORT, BACKFILL})
