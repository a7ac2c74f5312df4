"""The bulk fold's shortcuts give what the full sorts give: ``key_order`` is ``np.lexsort`` on
(group, ts, seq) whatever the given order (time-ordered, stepping back, repeated keys), and
ticks already grouped per symbol fold to the same candles as the same ticks shuffled."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from aegis.aggregator.batch import IntervalCandles, Ints, fold_columns, key_order


def _lexsort(group: Ints, ts: Ints, seq: Ints) -> list[int]:
    out: list[int] = np.lexsort((seq, ts, group)).tolist()
    return out


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6), st.integers(0, 4)), max_size=60),
    in_time=st.booleans(),
    big_codes=st.booleans(),
)
def test_key_order_is_lexsort(rows: list[tuple[int, int, int]], in_time: bool,
                              big_codes: bool) -> None:  # fmt: skip
    if in_time:  # the common case: the shortcut without a check per group
        rows.sort(key=lambda r: (r[1], r[2]))
    g = np.array([r[0] for r in rows], np.int64)
    if big_codes:  # codes a 16-bit sort cannot hold, and negative ones
        g = g * 40_000 - 70_000
    ts = np.array([r[1] for r in rows], np.int64)
    seq = np.array([r[2] for r in rows], np.int64)
    assert key_order(g, ts, seq).tolist() == _lexsort(g, ts, seq)


def test_key_order_of_a_time_ordered_batch_is_a_stable_sort_by_symbol() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    g = rng.integers(0, 2_900, n)
    ts = np.sort(rng.integers(0, 10**9, n))
    seq = rng.integers(0, 3, n)  # repeated (ts, seq) keys too
    assert key_order(g, ts, seq).tolist() == _lexsort(g, ts, seq)
    seq[n // 2] = -1  # one step back in seq at some ts: the checked path
    assert key_order(g, ts, seq).tolist() == _lexsort(g, ts, seq)


def _rows(parts: list[IntervalCandles]) -> set[tuple[object, ...]]:
    return {astuple(c) for p in parts for c in p.candles()}


def test_grouped_ticks_fold_to_the_candles_of_the_same_ticks_in_any_order() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    names = [f"{k:06d}" for k in range(40)]
    code = rng.integers(0, 40, n)
    ts = np.sort(rng.integers(10**15, 10**15 + 4 * 3600 * 10**6, n))
    seq = np.arange(n, dtype=np.int64)
    price = rng.integers(1_000, 2_000, n)
    volume = rng.integers(1, 100, n)
    shuffled = rng.permutation(n)
    rank = np.argsort(rng.permutation(40))  # symbols grouped in an order not by code
    grouped = np.lexsort((seq, ts, rank[code]))

    def fold(rows: npt.NDArray[np.intp]) -> set[tuple[object, ...]]:
        return _rows(
            fold_columns(code[rows], names, ts[rows], seq[rows], price[rows], volume[rows], "sim")
        )

    assert fold(grouped) == fold(shuffled) == fold(np.arange(n))
    assert len(fold(grouped)) > 40 * 5  # several candles per symbol and interval


def test_a_candle_table_gives_its_rows_in_the_store_key_order() -> None:
    """Symbols coded in an order that is not their text order, several intervals: the columns
    come as (symbol, interval, start) sorts them, and hold the same candles."""
    from aegis.aggregator.batch import CandleTable

    rng = np.random.default_rng(8)
    n = 5_000
    names = [f"{k:06d}" for k in rng.permutation(30)]  # code order ≠ text order
    code = rng.integers(0, 30, n)
    ts = np.sort(rng.integers(10**15, 10**15 + 6 * 3600 * 10**6, n))
    seq = np.arange(n, dtype=np.int64)
    price, volume = rng.integers(1_000, 2_000, n), rng.integers(1, 100, n)
    table = CandleTable(fold_columns(code, names, ts, seq, price, volume, "sim"))
    rows = list(zip(*table.columns_in_key_order(), strict=True))
    assert [r[:3] for r in rows] == sorted(r[:3] for r in rows)
    assert {r[1] for r in rows} == {"1m", "5m", "15m", "1h", "1d"}
    assert set(rows) == {astuple(c) for c in table}
    one = CandleTable(table.parts[:1])  # one interval: by symbol text, then start
    assert list(zip(*one.columns_in_key_order(), strict=True)) == sorted(astuple(c) for c in one)
