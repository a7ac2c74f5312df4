"""Which symbols a source with a subscription budget follows, in order of priority.

The operator's configured symbols come first (anonymous clients can never push them out), then
the symbols clients watch (most wanted first, see ``aegis.services.watch``), then symbols already
followed that nobody asks for any more: a subscription is released only when its slot is needed,
so a client flipping between pages does not make the source churn.
"""

from __future__ import annotations

from collections.abc import Sequence


def prioritize(
    configured: Sequence[str], watched: Sequence[str], current: Sequence[str], limit: int
) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()
    for s in (*configured, *watched, *current):
        if len(order) >= limit:
            break
        if s not in seen:
            seen.add(s)
            order.append(s)
    return order
