"""Recent real daily prices (2024 → 2026): one series per stock without a seam, and seeded into
any store once, labelled ``import``, with the last real day per symbol easy to ask for."""

from __future__ import annotations

import csv
from datetime import date
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

from aegis.core.timeutil import kst_midnight_us
from aegis.domain.sources import IMPORT, SIM
from aegis.reference import load_daily_history, load_instruments
from aegis.reference.recent import NAVER_FACTOR, PROBE, load_recent_history, recent_symbols
from aegis.services.history_seed import seed_real_history, seed_sim_history
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

# A raw -77.7 % day the sources do not describe (058470, 2025-04-25, most likely a split):
# kept as published rather than adjusted by a guessed ratio.
UNDESCRIBED_EVENTS = {("058470", date(2025, 4, 25))}


def _bar(symbol: str, day: str) -> tuple[int, int, int, int, int]:
    b = next(b for b in load_recent_history(symbol) if b.day == date.fromisoformat(day))
    return (b.open, b.high, b.low, b.close, b.volume)


def test_known_values_and_ranges() -> None:
    assert _bar("005930", "2024-01-02") == (78_200, 79_800, 78_200, 79_600, 17_142_847)
    assert _bar("005930", "2024-12-30")[3] == 53_200
    assert _bar("005930", "2025-12-30")[3] == 119_900
    assert _bar("005930", "2026-06-19")[1] == 374_500
    assert load_recent_history("005930")[-1].day == date(2026, 10, 2)
    assert (PROBE[0], load_recent_history(PROBE[0])[-1].day) == PROBE  # the seeding probe
    assert load_recent_history("000270")[-1].day == date(2026, 7, 24)
    assert len(recent_symbols()) == 200


def test_the_provisional_evening_row_of_the_200_stock_file_is_left_out() -> None:
    only200 = [s for s in recent_symbols() if load_recent_history(s)[0].day >= date(2025, 2, 12)]
    assert only200
    assert all(load_recent_history(s)[-1].day < date(2026, 5, 6) for s in only200)


def test_halts_are_flat_bars_without_volume() -> None:
    halt = _bar("207940", "2025-11-03")
    assert halt[0] == halt[1] == halt[2] == halt[3] and halt[4] == 0


def test_corporate_events_are_back_adjusted_as_the_sources_say() -> None:
    # 207940 spin-off (relisted 2025-11-24 at 1,789,000, reference 1,221,000 before)
    assert _bar("207940", "2025-11-21")[3] == round(1_221_000 * Fraction(15375, 10000))
    assert _bar("207940", "2025-11-24")[3] == 1_789_000
    # 010120 1:5 split (relisted 2026-04-13 at 179,200; 788,000 before)
    assert _bar("010120", "2026-04-07")[3] == 788_000 // 5
    assert _bar("010120", "2026-04-13")[3] == 179_200


def test_no_seam_anywhere_a_day_never_moves_beyond_the_krx_limit() -> None:
    for sym in recent_symbols():
        for a, b in pairwise(load_recent_history(sym)):
            if (sym, b.day) in UNDESCRIBED_EVENTS:
                continue
            assert abs(b.close / a.close - 1) <= 0.301, (sym, a.day, a.close, b.day, b.close)


def test_naver_adjusted_window_joins_the_raw_prices() -> None:
    for sym in NAVER_FACTOR:
        bars = load_recent_history(sym)
        i = next(i for i, b in enumerate(bars) if b.day == date(2025, 2, 12))
        assert abs(bars[i].open / bars[i - 1].close - 1) < 0.03, sym


def test_recent_series_joins_the_older_shipped_series() -> None:
    for sym in ("005930", "000660", "005380", "035420"):
        older = load_daily_history(sym)[-1]
        newer = load_recent_history(sym)[0]
        assert older.day == date(2023, 12, 22) and newer.day == date(2024, 1, 2)
        assert abs(newer.open / older.close - 1) < 0.15, sym  # raw on both sides


def test_naver_factors_match_the_shared_valuation_file(shared_data: Path) -> None:
    path = shared_data / "valuation" / "valuation_daily_per_pbr_mcap_2019-2026-04_hsh2578.csv"
    with path.open(encoding="utf-8") as f:
        adj = {(r["code"], r["date"]): int(float(r["close_adj"])) for r in csv.DictReader(f)}
    for sym, factor in NAVER_FACTOR.items():
        for day in ("2025-02-12", "2025-02-13"):
            raw = _bar(sym, day)[3]
            assert abs(adj[(sym, day)] / raw - float(factor)) < 2e-4, (sym, day)


async def test_seeding_is_once_labelled_import_and_real_days_beat_simulated(
    tmp_path: Path,
) -> None:
    upgrade(f"sqlite:///{tmp_path / 'a.db'}")
    store = SQLiteStore(tmp_path / "a.db")
    await store.start()
    instruments = load_instruments()
    await store.upsert_instruments(instruments)
    assert await seed_real_history(store, instruments) > 60_000
    assert await seed_real_history(store, instruments) == 0  # idempotent: one probe
    c = await store.get_candle("005930", "1d", kst_midnight_us(date(2025, 6, 2)))
    assert c is not None and c.source == IMPORT and c.close == _bar("005930", "2025-06-02")[3]

    # a store whose recent days were simulated (seeded before the data shipped): real wins
    day = kst_midnight_us(date(2026, 5, 4))
    probe, probe_day = PROBE
    probe_last = kst_midnight_us(probe_day)
    for sym, start in (("000270", day), (probe, probe_last)):
        c = await store.get_candle(sym, "1d", start)
        assert c is not None
        c.source = SIM
        await store.upsert_candles([c])
    assert await seed_real_history(store, instruments) == 2  # just the simulated days
    for sym, start in (("000270", day), (probe, probe_last)):
        c = await store.get_candle(sym, "1d", start)
        assert c is not None and c.source == IMPORT

    real = await store.last_real_days()
    assert real["005930"] == date(2026, 10, 2)
    assert real["000270"] == date(2026, 7, 24)
    assert real["KOSPI"] <= date(2026, 3, 20)
    only200 = next(
        s for s in recent_symbols() if load_recent_history(s)[0].day >= date(2025, 2, 12)
    )
    assert real[only200] == load_recent_history(only200)[-1].day
    assert await store.last_real_days(["005930", "NOPE"]) == {"005930": date(2026, 10, 2)}

    # a day the user brought in (import/backfill) is never overwritten by the shipped one
    mine = await store.get_candle("000660", "1d", kst_midnight_us(date(2024, 3, 4)))
    assert mine is not None
    mine.source, mine.volume, mine.amount = "backfill", 1, None
    await store.upsert_candles([mine])
    probe_bar = await store.get_candle(probe, "1d", probe_last)
    assert probe_bar is not None
    probe_bar.source = SIM  # forces the seeding to run again
    await store.upsert_candles([probe_bar])
    assert await seed_real_history(store, instruments) == 1  # only the simulated day
    kept = await store.get_candle("000660", "1d", kst_midnight_us(date(2024, 3, 4)))
    assert kept is not None and (kept.source, kept.volume) == ("backfill", 1)

    # the simulator's seeded days never replace a real day
    await seed_sim_history(store, instruments, 1, date(2026, 8, 1))
    c = await store.get_candle("000270", "1d", kst_midnight_us(date(2026, 7, 24)))
    assert c is not None and c.source == IMPORT
    after = await store.get_candle("000270", "1d", kst_midnight_us(date(2026, 7, 27)))
    assert after is not None and after.source == SIM
    assert (await store.last_real_days(["000270"]))["000270"] == date(2026, 7, 24)
    await store.close()


def test_recent_series_has_no_weekend_rows() -> None:
    for sym in ("005930", "207940"):
        assert all(b.day.weekday() < 5 for b in load_recent_history(sym))


def test_the_recent_series_are_pinned() -> None:
    """Pinned: a faster reader of the shipped files must give every bar as before (66,029
    bars, split events and the Naver factor applied)."""
    import hashlib

    from aegis.reference.recent import _series

    series = _series()
    assert sum(len(bars) for bars in series.values()) == 66_029
    digest = hashlib.sha256(repr(sorted(series.items())).encode()).hexdigest()
    assert digest == "9e994a3602e302fbd0d3d2c29ed247095b9aab9044e3be1c6360523e2107e129"
