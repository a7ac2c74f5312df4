"""Company search over the whole listing with few Python operations per query.

Ranking (unchanged from the linear scan it replaces): 0 exact code or name, 1 code or name
prefix, 2 English-name prefix, 1/3 initial consonants (초성) equal/prefix, 4 substring of the
name or English name, 5 substring of the 초성; ties: larger market value first, then symbol.

Built once per listing: sorted key arrays answer prefixes with two bisections, and one joined
string per field answers substrings with ``str.find`` (C speed) — Python work is spent on
matches only, never on every instrument. Tiers are filled best first and later ones are skipped
once ``limit`` better matches exist."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Protocol

_SEP = "\x00"  # never in a key (keys come from printable names)
_MAX = "\U0010ffff"


class _Searchable(Protocol):
    symbol: str
    name: str
    name_en: str | None
    shares: int | None
    prev_close: int | None


class _Prefix:
    """Sorted (key, index) pairs: which indices have a key starting with a query."""

    def __init__(self, keys: Sequence[str]) -> None:
        pairs = sorted((k, i) for i, k in enumerate(keys) if k)
        self.keys = [k for k, _ in pairs]
        self.ids = [i for _, i in pairs]

    def starting(self, q: str) -> list[int]:
        lo = bisect_left(self.keys, q)
        hi = bisect_right(self.keys, q + _MAX, lo)
        return self.ids[lo:hi]

    def equal(self, q: str) -> list[int]:
        lo = bisect_left(self.keys, q)
        hi = bisect_right(self.keys, q, lo)
        return self.ids[lo:hi]


class _Substring:
    """All keys joined into one string: which indices have a key containing a query."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.text = _SEP + _SEP.join(keys) + _SEP
        self.starts: list[int] = []
        pos = 1
        for k in keys:
            self.starts.append(pos)
            pos += len(k) + 1

    def containing(self, q: str) -> list[int]:
        out: list[int] = []
        text, starts, find = self.text, self.starts, self.text.find
        at = find(q)
        while at >= 0:
            i = bisect_right(starts, at) - 1
            out.append(i)
            # continue after this key: one hit per key is enough
            at = find(q, starts[i + 1] if i + 1 < len(starts) else len(text))
        return out


def normalise(keyword: str) -> str:
    return keyword.strip().lower().replace(" ", "")


class SearchIndex:
    def __init__(self, instruments: Iterable[_Searchable], chosung: dict[str, str]) -> None:
        items = list(instruments)
        # one rank per instrument: larger market value first, then symbol
        order = sorted(
            range(len(items)),
            key=lambda i: (-(items[i].shares or 0) * (items[i].prev_close or 0), items[i].symbol),
        )
        self.items = [items[i] for i in order]
        codes = [i.symbol.lower() for i in self.items]
        names = [i.name.lower().replace(" ", "") for i in self.items]
        names_en = [(i.name_en or "").lower().replace(" ", "") for i in self.items]
        initials = [chosung.get(i.symbol, "") for i in self.items]
        self._code = _Prefix(codes)
        self._name = _Prefix(names)
        self._name_en = _Prefix(names_en)
        self._initials = _Prefix(initials)
        self._initial_len = [len(c) for c in initials]
        self._name_sub = _Substring(names)
        self._name_en_sub = _Substring(names_en)
        self._initials_sub = _Substring(initials)

    def search(self, q: str, limit: int, jamo: bool) -> list[_Searchable]:
        """``q`` normalised (see :func:`normalise`); ``jamo``: q is initial consonants only."""
        if _SEP in q:
            return []  # no key contains it (and it would match the separators)
        best: dict[int, int] = {}  # rank index → score (the best tier it reached)

        def add(score: int, ids: Iterable[int]) -> None:
            for i in ids:
                if i not in best:
                    best[i] = score

        def enough(score: int) -> bool:
            # every later tier scores higher: once `limit` matches score <= score, stop
            return sum(1 for s in best.values() if s <= score) >= limit

        add(0, self._code.equal(q))
        add(0, self._name.equal(q))
        if jamo:
            n = len(q)
            add(1, (i for i in self._initials.equal(q) if self._initial_len[i] == n))
        add(1, self._code.starting(q))
        add(1, self._name.starting(q))
        if not enough(1):
            add(2, self._name_en.starting(q))
            if jamo:
                add(3, self._initials.starting(q))
            if not enough(3):
                add(4, self._name_sub.containing(q))
                add(4, self._name_en_sub.containing(q))
                if jamo and not enough(4):
                    add(5, self._initials_sub.containing(q))
        top = heapq.nsmallest(limit, best.items(), key=lambda kv: (kv[1], kv[0]))
        return [self.items[i] for i, _ in top]
