"""Indicator names: ``<kind>[_<param>…]``, e.g. ``sma_20``, ``macd_12_26_9``, ``obv``.

Each kind fixes how many integer/float parameters it takes (with TA-Lib's usual defaults when
they are left out) and the parts a multi-output indicator answers as ``<name>.<part>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aegis.core.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    defaults: tuple[float, ...]  # parameter defaults, in order; () = no parameters
    parts: tuple[str, ...] = ()  # () = one output named like the indicator
    floats: tuple[bool, ...] = ()  # which parameters may be fractional (bbands' deviations)
    example: str = ""
    description: str = ""


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("sma", (20,), example="sma_20", description="단순이동평균 (TA-Lib SMA)"),
        Kind("ema", (20,), example="ema_20", description="지수이동평균 (TA-Lib EMA)"),
        Kind("wma", (20,), example="wma_20", description="가중이동평균 (TA-Lib WMA)"),
        Kind("rsi", (14,), example="rsi_14", description="상대강도지수 (TA-Lib RSI)"),
        Kind(
            "macd",
            (12, 26, 9),
            ("macd", "signal", "hist"),
            example="macd_12_26_9",
            description="MACD (TA-Lib MACD): fast, slow, signal",
        ),
        Kind(
            "bbands",
            (20, 2),
            ("upper", "middle", "lower"),
            (False, True),
            example="bbands_20_2",
            description="볼린저 밴드 (TA-Lib BBANDS, SMA, 위·아래 같은 표준편차 배수)",
        ),
        Kind(
            "stoch",
            (14, 3, 3),
            ("k", "d"),
            example="stoch_14_3_3",
            description="스토캐스틱 (TA-Lib STOCH: fastk, slowk, slowd, SMA)",
        ),
        Kind("atr", (14,), example="atr_14", description="평균진폭 (TA-Lib ATR)"),
        Kind("obv", (), example="obv", description="거래량균형 (TA-Lib OBV)"),
        Kind("mfi", (14,), example="mfi_14", description="자금흐름지수 (TA-Lib MFI)"),
        Kind("adx", (14,), example="adx_14", description="평균방향지수 (TA-Lib ADX)"),
        Kind("cci", (20,), example="cci_20", description="상품채널지수 (TA-Lib CCI)"),
        Kind("willr", (14,), example="willr_14", description="윌리엄스 %R (TA-Lib WILLR)"),
        Kind(
            "vwap",
            (),
            example="vwap",
            description=(
                "거래량가중평균가: 분·시간봉은 KST 거래일마다, 일봉 이상은 조회 구간 첫 봉부터 누적"
            ),
        ),
    )
}

MAX_NAMES = 20
# TA-Lib's lower bound for these periods
_MIN_TWO = frozenset(("sma", "ema", "wma", "rsi", "atr", "mfi", "adx", "cci", "willr", "bbands"))
MAX_PERIOD = 1000
_NAME = re.compile(r"^([a-z]+)((?:_\d+(?:\.\d+)?)*)$")


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    name: str  # as requested, e.g. "macd_12_26_9"
    kind: Kind
    params: tuple[float, ...]

    @property
    def columns(self) -> list[str]:
        if not self.kind.parts:
            return [self.name]
        return [f"{self.name}.{p}" for p in self.kind.parts]


def valid_names() -> list[str]:
    return [k.example for k in KINDS.values()]


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(
        message,
        details={
            "valid": valid_names(),
            "pattern": "<kind>_<period>… e.g. sma_5, ema_60, bbands_20_2.5, macd_5_35_5",
        },
    )


def parse_name(name: str) -> IndicatorSpec:
    m = _NAME.match(name)
    kind = KINDS.get(m.group(1)) if m else None
    if m is None or kind is None:
        raise _invalid(f"unknown indicator {name!r}; valid: {', '.join(valid_names())}")
    raw = [p for p in m.group(2).split("_") if p]
    if len(raw) > len(kind.defaults):
        raise _invalid(f"{name!r}: {kind.name} takes at most {len(kind.defaults)} parameters")
    params: list[float] = []
    for i, default in enumerate(kind.defaults):
        if i >= len(raw):
            params.append(default)
            continue
        fractional = kind.floats[i] if i < len(kind.floats) else False
        value = float(raw[i])
        if not fractional and value != int(value):
            raise _invalid(f"{name!r}: parameter {raw[i]} must be a whole number")
        if fractional and not 0 < value <= 10:
            raise _invalid(f"{name!r}: deviation {raw[i]} must be in (0, 10]")
        if not fractional and not 1 <= value <= MAX_PERIOD:
            raise _invalid(f"{name!r}: period {raw[i]} must be between 1 and {MAX_PERIOD}")
        params.append(value)
    if kind.name in _MIN_TWO and params[0] < 2:
        raise _invalid(f"{name!r}: period must be at least 2")
    if kind.name == "macd" and min(params[0], params[1]) < 2:
        raise _invalid(f"{name!r}: MACD periods must be at least 2")
    if kind.name == "macd" and params[0] >= params[1]:
        raise _invalid(f"{name!r}: the fast period must be shorter than the slow one")
    return IndicatorSpec(name, kind, tuple(params))


def parse_names(text: str | None) -> list[IndicatorSpec]:
    """``"sma_20,rsi_14"`` → specs; duplicates kept once, in the order given."""
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    if not names:
        raise _invalid(
            f"names is required, e.g. names=sma_20,rsi_14; valid: {', '.join(valid_names())}"
        )
    seen: dict[str, IndicatorSpec] = {}
    for n in names:
        if n not in seen:
            seen[n] = parse_name(n)
    if len(seen) > MAX_NAMES:
        raise _invalid(f"at most {MAX_NAMES} indicators per request")
    return list(seen.values())
