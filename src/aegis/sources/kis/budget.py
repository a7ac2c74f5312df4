"""The KIS subscription budget: at most 40 (tr_id, symbol) registrations per connection.

Symbols are taken in the order of ``prioritize`` (configured, watched, still followed). Each takes
its trade feed; the first ``book_symbols`` also take their order book.
"""

from __future__ import annotations

from collections.abc import Sequence

from aegis.sources.common.watchlist import prioritize
from aegis.sources.kis.fields import BOOK_TR, TRADE_TR

MAX_SUBSCRIPTIONS = 40

Sub = tuple[str, str]  # (tr_id, symbol)


def allot(
    configured: Sequence[str],
    watched: Sequence[str],
    current: Sequence[str] = (),
    *,
    limit: int = MAX_SUBSCRIPTIONS,
    book_symbols: int = 5,
) -> list[Sub]:
    subs: list[Sub] = []
    for i, s in enumerate(prioritize(configured, watched, current, limit)):
        if len(subs) >= limit:
            break
        subs.append((TRADE_TR, s))
        if i < book_symbols and len(subs) < limit:
            subs.append((BOOK_TR, s))
    return subs
