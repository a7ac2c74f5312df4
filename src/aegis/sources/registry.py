"""Build the sources named in ``AEGIS_SOURCE`` (e.g. "kis,binance")."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from aegis.core.config import Settings
from aegis.core.errors import InvalidRequest
from aegis.domain.instruments import Instrument
from aegis.sources.base import Source

KNOWN = ("sim", "kis", "kiwoom", "binance")


def _symbols(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def build_sources(settings: Settings, instruments: Sequence[Instrument] = ()) -> list[Source]:
    """One source per name. KRX realtime sources follow ``AEGIS_KIS_SYMBOLS`` /
    ``AEGIS_KIWOOM_SYMBOLS`` when set, else ``AEGIS_SIM_SYMBOLS``; clients' watch lists come
    first in any case (``Source.watch``)."""
    out: list[Source] = []
    fallback = _symbols(settings.sim_symbols)
    for name in settings.sources:
        if name == "sim":
            # imported lazily: the simulator lives in its own package
            sim = importlib.import_module("aegis.sources.sim")
            out.append(sim.SimSource(settings, list(instruments)))
        elif name == "kis":
            from aegis.sources.kis.source import KisSource

            syms = _symbols(settings.kis_symbols) or fallback
            out.append(KisSource(settings, symbols=syms))
        elif name == "kiwoom":
            from aegis.sources.kiwoom.source import KiwoomSource

            syms = _symbols(settings.kiwoom_symbols) or fallback
            out.append(KiwoomSource(settings, symbols=syms))
        elif name == "binance":
            from aegis.sources.binance.source import BinanceSource

            out.append(BinanceSource(settings))
        else:
            raise InvalidRequest(f"unknown source {name!r}; known: {', '.join(KNOWN)}")
    return out
