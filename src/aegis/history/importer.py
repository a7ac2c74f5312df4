"""``aegis import daily FILE``: a daily CSV → 1d candles in the store."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from aegis.core.errors import ImportFormatError
from aegis.domain.sources import IMPORT
from aegis.history.csv_daily import SplitPolicy, read_daily
from aegis.store.base import Store


async def import_daily(store: Store, path: Path, symbol: str | None, console: Console,
                       on_split: SplitPolicy = "error") -> int:  # fmt: skip
    f = read_daily(path, symbol=symbol, on_split=on_split)
    if f.symbol is None:
        raise ImportFormatError(f"{path}: the file does not name its symbol; pass --symbol")
    known = {i.symbol: i for i in await store.list_instruments()}
    inst = known.get(f.symbol)
    if inst is not None and inst.price_scale != f.price_scale:
        raise ImportFormatError(f"{path}: prices have {f.price_scale} decimals but "
                                f"{f.symbol} uses {inst.price_scale}")  # fmt: skip
    await store.upsert_candles(b.to_candle(f.symbol, IMPORT) for b in f.bars)
    console.print(
        f"{f.symbol}: {len(f.bars)}개 일봉 저장 ({f.format}); "
        f"휴장 행 {f.holidays_skipped}개 건너뜀, 거래정지 {f.halts}일"
    )
    for s in f.splits:
        console.print(f"[yellow]분할 감지[/] {s.day}: ×{s.ratio:g} ({s.prev_close}→{s.close})")
    for d, move in f.jumps:
        console.print(
            f"[yellow]가격제한폭을 넘는 변동[/] {d}: {move:+.1%} (데이터 공백 또는 조정 오류 가능)"
        )
    return len(f.bars)
