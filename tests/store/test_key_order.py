"""The stores write a flush's candles in primary-key order, found with numpy: the same order as
Python's stable sort on (symbol, interval, start), so of two states of one candle the later
still comes last (and wins the upsert); PostgreSQL keeps only that last state of each key."""

from __future__ import annotations

from operator import itemgetter

from hypothesis import given
from hypothesis import strategies as st

from aegis.store.rows import in_key_order

row_st = st.tuples(
    st.sampled_from(["005930", "000660", "A", "a", "가나", "BTCUSDT", ""]),
    st.sampled_from(["1m", "5m", "15m", "1h", "1d"]),
    st.integers(-(2**62), 2**62),
    st.integers(),  # a value telling the states of one key apart
)


def with_repeats(rows: list[tuple[object, ...]], data: st.DataObject) -> list[tuple[object, ...]]:
    """Some keys repeated with other values (later states of the same candle)."""
    if not rows:
        return rows
    extra = data.draw(st.lists(st.sampled_from(rows), max_size=10))
    return rows + [(*r[:3], i) for i, r in enumerate(extra)]


@given(st.lists(row_st, max_size=60), st.data())
def test_key_order_is_the_stable_sort_by_key(
    rows: list[tuple[object, ...]], data: st.DataObject
) -> None:
    rows = with_repeats(rows, data)  # their given order must survive
    assert in_key_order(rows) == sorted(rows, key=itemgetter(0, 1, 2))


@given(st.lists(row_st, max_size=60), st.data())
def test_last_only_keeps_the_last_state_of_each_key(
    rows: list[tuple[object, ...]], data: st.DataObject
) -> None:
    rows = with_repeats(rows, data)
    # what the PostgreSQL store did before: a dict keeps the last row given per key
    latest = {r[:3]: r for r in rows}
    assert in_key_order(rows, last_only=True) == [latest[k] for k in sorted(latest)]
