"""The bulk fold's traded values are exact: int64 arithmetic where no product or candle sum can
overflow (every KRX batch), Python integers beyond (crypto quantities at large scales)."""

from __future__ import annotations

import numpy as np
import pytest

from aegis.aggregator.batch import fold_columns

SECOND = 1_000_000


def _fold_amounts(price: list[int], volume: list[int]) -> tuple[list[int], np.dtype[np.generic]]:
    """The 1-day amounts of one symbol's ticks (a second apart), and the dtype they came in."""
    n = len(price)
    parts = fold_columns(
        np.zeros(n, np.int64), ("X",), np.arange(n, dtype=np.int64) * SECOND,
        np.zeros(n, np.int64), np.array(price, np.int64), np.array(volume, np.int64), "t",
    )  # fmt: skip
    day = next(p for p in parts if p.interval == "1d")
    return [int(a) for a in day.amount], day.amount.dtype


@pytest.mark.parametrize(
    ("price", "volume"),
    [
        # a busy KRX session's prints: large prices, sizes and counts, far from 2^63
        ([3_000_000] * 2_000, [1_000_000] * 2_000),
        # the old bound (max price × max volume × count) said "may overflow": it cannot
        ([2**40, 1] * 50, [1, 2**40] * 50),
    ],
)
def test_krx_scale_amounts_are_int64_and_exact(price: list[int], volume: list[int]) -> None:
    amounts, dtype = _fold_amounts(price, volume)
    assert dtype == np.int64
    assert amounts == [sum(p * v for p, v in zip(price, volume, strict=True))]


@pytest.mark.parametrize(
    ("price", "volume"),
    [
        ([2**62, 2**62], [1, 1]),  # each product fits, the sum does not
        ([2**40], [2**30]),  # one product beyond int64
        ([2**31] * 3, [2**31 - 1] * 3),  # just past the margin: sums near 2^63.6
    ],
)
def test_amounts_that_could_overflow_int64_are_exact_python_integers(
    price: list[int], volume: list[int]
) -> None:
    amounts, dtype = _fold_amounts(price, volume)
    assert dtype == np.dtype(object)
    assert amounts == [sum(p * v for p, v in zip(price, volume, strict=True))]
