"""The KIS subscription budget: at most 40 (tr_id, symbol) registrations per connection.

Symbols clients watch come first (in the order given), then the configured ones. Each symbol in
that order takes its trade feed; the first ``book_symbols`` also take their order book.
"""

from __future__ import annotations

from collections.abc import Sequence

from aegis.sources.kis.fields import BOOK_TR, TRADE_TR

MAX_SUBSCRIPTIONS = 40

Sub = tuple[str, str]  # (tr_id, symbol)


def allot(
    watched: Sequence[str],
    configured: Sequence[str],
    *,
    limit: int = MAX_SUBSCRIPTIONS,
    book_symbols: int = 5,
) -> list[Sub]:
    order: list[str] = []
    seen: set[str] = set()
    for s in (*watched, *configured):
        if s not in seen:
            seen.add(s)
            order.append(s)
    subs: list[Sub] = []
    for i, s in enumerate(order):
        if len(subs) >= limit:
            break
        subs.append((TRADE_TR, s))
        if i < book_symbols and len(subs) < limit:
            subs.append((BOOK_TR, s))
    return subs
